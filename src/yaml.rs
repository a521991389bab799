//! The one module that knows which YAML crate emcee uses. Everything else reads YAML
//! through [`parse`] and keeps source positions through [`Spanned`], so the crate can be
//! swapped here alone.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_saphyr::{MessageFormatter, UserMessageFormatter};

use crate::error::{Diagnostic, Error, did_you_mean};
use crate::source::{SourceFile, Span};

/// Where a value was written: 1-based line and character column, and its length in
/// characters (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
    pub len: u32,
}

impl Pos {
    pub fn span(self, file: &SourceFile) -> Span {
        file.span_at(
            self.line as usize,
            self.column as usize,
            self.len.max(1) as usize,
        )
    }
}

/// A value together with where it was written.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    pub value: T,
    pub pos: Pos,
}

impl<T> Spanned<T> {
    pub fn new(value: T, pos: Pos) -> Self {
        Spanned { value, pos }
    }

    pub fn span(&self, file: &SourceFile) -> Span {
        self.pos.span(file)
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Spanned<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let inner = serde_saphyr::Spanned::<T>::deserialize(deserializer)?;
        let location = inner.referenced;
        let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        Ok(Spanned {
            value: inner.value,
            pos: Pos {
                line: clamp(location.line()),
                column: clamp(location.column()),
                len: clamp(location.span().len()).max(1),
            },
        })
    }
}

/// A spanned value has the schema of the value.
impl<T: schemars::JsonSchema> schemars::JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// Parses one YAML document into `T`. Syntax errors, tabs in indentation, duplicate
/// keys, wrong types and unknown keys all come back as a [`Diagnostic`] at the
/// offending position, with a "did you mean" for misspelt keys and variants; problems
/// the types could [`report`] and read past come back together, in file order.
pub(crate) fn parse<T: DeserializeOwned>(file: &Arc<SourceFile>) -> Result<T, Error> {
    let (value, problems) = parse_all(file)?;
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(Error::Invalid(problems))
    }
}

/// A problem a type found while deserializing and read past, to be reported with the
/// rest: a step's unknown key must not hide a bad cue five steps later.
struct Problem {
    pos: Pos,
    message: String,
    help: Option<String>,
}

thread_local! {
    /// The problems of the document being parsed on this thread, while [`parse_all`] runs.
    static PROBLEMS: std::cell::RefCell<Option<Vec<Problem>>> = const { std::cell::RefCell::new(None) };
}

/// Records a problem at `pos` of the document being parsed, for a type that can go on
/// without the value. False when no [`parse_all`] is collecting: the caller must then
/// fail with the problem itself, so that nothing is ever dropped.
pub(crate) fn report(pos: Pos, message: impl Into<String>, help: Option<String>) -> bool {
    PROBLEMS.with(|problems| match problems.borrow_mut().as_mut() {
        Some(list) => {
            list.push(Problem {
                pos,
                message: message.into(),
                help,
            });
            true
        }
        None => false,
    })
}

/// Like [`parse`], but a document that could be read despite reported problems comes
/// back with them, so that later checks can add theirs. A problem that stopped the
/// reading comes back as the error, after those reported before it.
pub(crate) fn parse_all<T: DeserializeOwned>(
    file: &Arc<SourceFile>,
) -> Result<(T, Vec<Diagnostic>), Error> {
    let outer = PROBLEMS.with(|problems| problems.replace(Some(Vec::new())));
    let result = serde_saphyr::from_str::<T>(file.text());
    let reported = PROBLEMS
        .with(|problems| problems.replace(outer))
        .unwrap_or_default();
    let mut problems: Vec<Diagnostic> = reported
        .into_iter()
        .map(|problem| {
            let diagnostic = Diagnostic::new(file, problem.pos.span(file), problem.message);
            match problem.help {
                Some(help) => diagnostic.with_help(help),
                None => diagnostic,
            }
        })
        .collect();
    match result {
        Ok(value) => {
            problems.sort_by_key(|d| d.span.offset);
            Ok((value, problems))
        }
        Err(error) => {
            problems.push(diagnostic(file, &error));
            problems.sort_by_key(|d| d.span.offset);
            Err(Error::Invalid(problems))
        }
    }
}

/// "unknown key `x`" (or value), with the likeliest intended name as help, or else
/// all of them: the one wording of an unknown name, whoever finds it.
pub(crate) fn unknown(what: &str, word: &str, expected: &[&str]) -> (String, String) {
    let help = match did_you_mean(word, expected) {
        Some(candidate) => format!("did you mean `{candidate}`?"),
        None => format!("expected one of: {}", expected.join(", ")),
    };
    (format!("unknown {what} `{word}`"), help)
}

/// The span of a spanned value (where it is referenced, for aliases).
pub(crate) fn span_of<T>(file: &SourceFile, value: &Spanned<T>) -> Span {
    value.span(file)
}

fn to_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

fn diagnostic(file: &Arc<SourceFile>, error: &serde_saphyr::Error) -> Diagnostic {
    let error = error.without_snippet();
    let message = UserMessageFormatter.format_message(error).into_owned();
    let span = match error.location() {
        Some(location) => {
            let len = usize::try_from(location.span().len()).unwrap_or(1).max(1);
            file.span_at(to_usize(location.line()), to_usize(location.column()), len)
        }
        None => Span::new(0, 0),
    };
    match error {
        serde_saphyr::Error::SerdeUnknownField {
            field, expected, ..
        } => with_suggestion(file, span, field, expected, "key"),
        serde_saphyr::Error::SerdeUnknownVariant {
            variant, expected, ..
        } => with_suggestion(file, span, variant, expected, "value"),
        _ => Diagnostic::new(file, span, message),
    }
}

fn with_suggestion(
    file: &Arc<SourceFile>,
    span: Span,
    word: &str,
    expected: &[&'static str],
    what: &str,
) -> Diagnostic {
    let (message, help) = unknown(what, word, expected);
    Diagnostic::new(file, span, message).with_help(help)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        subject: String,
        count: Option<u32>,
    }

    fn error_of(text: &str) -> String {
        let file = SourceFile::new("doc.yaml", text);
        parse::<Doc>(&file).unwrap_err().render(false)
    }

    #[test]
    fn unknown_key_points_at_the_key_and_suggests() {
        let text = error_of("subjct: x\n");
        assert!(
            text.starts_with("error: unknown key `subjct`\n --> doc.yaml:1:1"),
            "{text}"
        );
        assert!(text.contains("did you mean `subject`?"), "{text}");
    }

    #[test]
    fn tabs_duplicates_and_types_are_located() {
        assert!(error_of("subject: a\nsubject: b\n").contains("--> doc.yaml:2:1"));
        assert!(error_of("subject: a\ncount: -1\n").contains("--> doc.yaml:2:8"));
        assert!(error_of("subject:\n\t- x\n").contains("doc.yaml:2:"));
        assert!(error_of("subject: [\n").contains("doc.yaml:1:"));
    }

    #[test]
    fn spans_of_values() {
        #[derive(Deserialize)]
        struct Outer {
            inner: Spanned<String>,
        }
        let file = SourceFile::new("doc.yaml", "inner: hello\n");
        let outer: Outer = parse(&file).unwrap();
        assert_eq!(span_of(&file, &outer.inner).offset, 7);
        assert_eq!(
            outer.inner.pos,
            Pos {
                line: 1,
                column: 8,
                len: 5
            }
        );
    }
}
