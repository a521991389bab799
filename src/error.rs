//! The one error type of emcee: every failure carries its exit code, and problems in an
//! input file carry the file and span they point at. [`Error::render`] is the only place
//! that turns an error into text for a person.

use std::fmt;
use std::sync::Arc;

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

use crate::source::{NotUtf8, ReadError, SourceFile, Span};

/// The process exit codes, stable and documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0,
    /// A step failed, or a command failed for a reason not listed below.
    Failed = 1,
    /// Bad usage, or an invalid playbook or input file.
    Invalid = 2,
    /// The API could not be used at all: until it has given a token (or accepted a
    /// given one), any final failure of a call (credentials refused, unreachable, no
    /// answer in time, an answer that is HTML or not JSON, a redirect). Once it has, a
    /// step's final failure, transport errors included, is `Failed`.
    Unreachable = 3,
    /// Another run holds this meeting's lock.
    Locked = 4,
    /// An operator aborted the run (`emcee cue abort`, the console's abort): it stopped
    /// as on SIGTERM, its `always` steps ran.
    Aborted = 5,
    /// Stopped by SIGHUP: the terminal went away (not under `nohup`).
    HungUp = 129,
    /// Interrupted by SIGINT.
    Interrupted = 130,
    /// Stopped by SIGTERM.
    Terminated = 143,
}

impl ExitCode {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// A problem at a place in an input file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub file: Arc<SourceFile>,
    pub span: Span,
    pub message: String,
    /// Shown under the caret; the message itself is used when absent.
    pub label: Option<String>,
    /// A hint such as "did you mean `subject`?".
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(file: &Arc<SourceFile>, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            file: Arc::clone(file),
            span,
            message: message.into(),
            label: None,
            help: None,
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col`, as editors and terminals recognise it.
    pub fn position(&self) -> String {
        let (line, column) = self.file.line_col(self.span.offset);
        format!("{}:{line}:{column}", self.file.name())
    }
}

impl Diagnostic {
    /// `error: message`, then `--> file:line:col`, the source line with a caret under
    /// the span, and any help, in the layout rustc made familiar.
    pub fn render(&self, color: bool) -> String {
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let end = (self.span.offset + self.span.len).min(self.file.text().len());
        let start = self.span.offset.min(end);
        let mut annotation = AnnotationKind::Primary.span(start..end);
        if let Some(label) = &self.label {
            annotation = annotation.label(label.as_str());
        }
        // Messages may quote text from outside (names, API answers): shown escaped.
        let message = crate::printable::printable(&self.message);
        let mut group = Level::ERROR.primary_title(message.as_ref()).element(
            Snippet::source(self.file.text())
                .path(self.file.name())
                .annotation(annotation),
        );
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        let mut out = renderer.render(&[group]);
        out.push('\n');
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position(), self.message)
    }
}

impl std::error::Error for Diagnostic {}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more problems in input files; all of them are reported, not just the first.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Diagnostic>),
    /// Bad command-line usage.
    #[error("{0}")]
    Usage(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Another run holds the meeting's lock.
    #[error("{0}")]
    Locked(String),
    /// The API could not be used at all: unreachable, or the login refused.
    #[error("{0}")]
    Unreachable(String),
    /// Anything else that stops a command.
    #[error("{0}")]
    Failed(String),
}

impl From<Diagnostic> for Error {
    fn from(diagnostic: Diagnostic) -> Self {
        Error::Invalid(vec![diagnostic])
    }
}

impl From<NotUtf8> for Diagnostic {
    fn from(error: NotUtf8) -> Self {
        Diagnostic::new(
            &error.file,
            Span::new(error.at, char::REPLACEMENT_CHARACTER.len_utf8()),
            format!(
                "the file is not UTF-8 text: byte 0x{:02x} cannot start or continue a character",
                error.byte
            ),
        )
        .with_help("save the file as UTF-8")
    }
}

impl From<NotUtf8> for Error {
    fn from(error: NotUtf8) -> Self {
        Diagnostic::from(error).into()
    }
}

impl From<ReadError> for Error {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::Unreadable { path, source } => {
                let context = format!("cannot read {}", path.display());
                if source.kind() == std::io::ErrorKind::FileTooLarge {
                    Error::Usage(format!("{context}: {source}"))
                } else {
                    Error::io(context, source)
                }
            }
            ReadError::NotUtf8(error) => error.into(),
        }
    }
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Invalid(_) | Error::Usage(_) => ExitCode::Invalid,
            Error::Io { .. } | Error::Failed(_) => ExitCode::Failed,
            Error::Locked(_) => ExitCode::Locked,
            Error::Unreachable(_) => ExitCode::Unreachable,
        }
    }

    /// The error as shown to a person: for file problems, `file:line:col`, the source
    /// line with a caret under the span, and any help.
    pub fn render(&self, color: bool) -> String {
        match self {
            Error::Invalid(diagnostics) => {
                let mut out: String = diagnostics
                    .iter()
                    .map(|diagnostic| diagnostic.render(color))
                    .collect::<Vec<_>>()
                    .join("\n");
                if diagnostics.len() > 1 {
                    out.push_str(&format!("\n{} problems found\n", diagnostics.len()));
                }
                out
            }
            other => {
                let shown =
                    |text: &dyn fmt::Display| crate::printable::printable_lines(&text.to_string());
                let mut out = format!("error: {}\n", shown(other));
                let mut source = std::error::Error::source(other);
                while let Some(cause) = source {
                    out.push_str(&format!("  caused by: {}\n", shown(cause)));
                    source = cause.source();
                }
                out
            }
        }
    }
}

/// The candidate closest to `word`, if it is close enough to be a likely misspelling:
/// a typo or two (Damerau-Levenshtein, which counts a swap of neighbours as one), or a
/// high Jaro-Winkler similarity for longer words.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lowered = word.to_lowercase();
    candidates
        .iter()
        .filter_map(|candidate| {
            let other = candidate.to_lowercase();
            let distance = strsim::damerau_levenshtein(&lowered, &other);
            let allowed = match lowered.chars().count().max(other.chars().count()) {
                0..=2 => 0,
                3..=5 => 1,
                _ => 2,
            };
            let similarity = strsim::jaro_winkler(&lowered, &other);
            (distance <= allowed || similarity >= 0.85)
                .then_some((distance, similarity, *candidate))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let fields = ["id", "subject", "host_password", "participants"];
        assert_eq!(did_you_mean("subjct", &fields), Some("subject"));
        assert_eq!(did_you_mean("particpants", &fields), Some("participants"));
        assert_eq!(did_you_mean("zebra", &fields), None);
        assert_eq!(did_you_mean("coe", &["ceo", "panel"]), Some("ceo"));
        assert_eq!(
            did_you_mean("brodcast", &["broadcast", "roll_call"]),
            Some("broadcast")
        );
        assert_eq!(did_you_mean("x", &["id"]), None);
    }

    #[test]
    fn texts_from_outside_are_shown_escaped() {
        let text =
            Error::Failed("no participant matches Eve\u{1b}[2J\u{202e}x".into()).render(true);
        assert_eq!(
            text,
            "error: no participant matches Eve\\u{1b}[2J\\u{202e}x\n"
        );
        let file = SourceFile::new("p.yaml", "a: b\n");
        let diagnostic = Diagnostic::new(&file, file.span_at(1, 1, 1), "bad \u{1b}]0;x\u{7}");
        assert!(
            Error::from(diagnostic)
                .render(false)
                .starts_with("error: bad \\u{1b}]0;x\\u{7}\n")
        );
    }

    #[test]
    fn renders_position_line_and_caret() {
        let file = SourceFile::new("seed.yaml", "meetings:\n  - subjct: x\n");
        let diagnostic = Diagnostic::new(&file, file.span_at(2, 5, 6), "unknown field `subjct`")
            .with_help("did you mean `subject`?");
        let text = Error::from(diagnostic).render(false);
        assert_eq!(
            text,
            "error: unknown field `subjct`\n --> seed.yaml:2:5\n  |\n2 |   - subjct: x\n  |     ^^^^^^\n  |\n  = help: did you mean `subject`?\n"
        );
    }

    #[test]
    fn a_bad_byte_is_located() {
        let error = Diagnostic::from(
            SourceFile::from_bytes("p.yaml".into(), b"a: 1\nb: \xff\n".to_vec()).unwrap_err(),
        );
        assert_eq!(error.position(), "p.yaml:2:4");
        assert!(error.message.contains("0xff"), "{}", error.message);
    }
}
