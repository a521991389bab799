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
/// offending position, with a "did you mean" for misspelt keys and variants.
pub fn parse<T: DeserializeOwned>(file: &Arc<SourceFile>) -> Result<T, Error> {
    serde_saphyr::from_str(file.text()).map_err(|error| Error::from(diagnostic(file, &error)))
}

/// The span of a spanned value (where it is referenced, for aliases).
pub fn span_of<T>(file: &SourceFile, value: &Spanned<T>) -> Span {
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

/// "unknown key `x`", with the likeliest intended name, or else all of them.
fn with_suggestion(
    file: &Arc<SourceFile>,
    span: Span,
    word: &str,
    expected: &[&'static str],
    what: &str,
) -> Diagnostic {
    let diagnostic = Diagnostic::new(file, span, format!("unknown {what} `{word}`"));
    match did_you_mean(word, expected) {
        Some(candidate) => diagnostic.with_help(format!("did you mean `{candidate}`?")),
        None => diagnostic.with_help(format!("expected one of: {}", expected.join(", "))),
    }
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
