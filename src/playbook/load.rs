//! Loading a playbook: reading its file, collecting the problems the reading can get
//! past (unknown keys where they stand), and resolving its includes.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::include;
use super::model::{Playbook, PlaybookDoc};
use super::schema::schema;
use crate::error::{Diagnostic, Error};
use crate::source::SourceFile;
use crate::yaml::{self, Spanned};

impl Playbook {
    /// Reads and parses a playbook. Syntax, type and unknown-key errors come back with
    /// their positions; [`check`](super::check()) finds the rest.
    pub fn load(path: &Path) -> Result<Playbook, Error> {
        let file = SourceFile::read(path)?;
        Self::parse(file)
    }

    /// [`Playbook::parse_all`] of a file.
    pub fn load_all(path: &Path) -> Result<(Playbook, Vec<Diagnostic>), Error> {
        Self::parse_all(SourceFile::read(path)?)
    }

    /// A file of steps meant to be included (a list of steps, or a map with `steps`
    /// and `vars`), loaded as the one step of a stand-in playbook that includes it, so
    /// that it is read and checked as its includers would. The stand-in gives a
    /// meeting, a token and the time zone UTC; it names no file of its own, so every
    /// problem found points into the fragment.
    pub fn fragment(path: &Path) -> Result<(Playbook, Vec<Diagnostic>), Error> {
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stand_in = path.with_file_name(format!("{file_name} (as a fragment)"));
        let include = serde_json::Value::String(file_name).to_string();
        let text = format!(
            "name: fragment\nmeeting: {{ id: \"914044873\", token: fragment }}\ntimezone: UTC\nsteps:\n  - include: {include}\n"
        );
        Self::parse_all(SourceFile::new(stand_in.display().to_string(), text))
    }

    pub fn parse(file: Arc<SourceFile>) -> Result<Playbook, Error> {
        let (playbook, problems) = Self::parse_all(file)?;
        if problems.is_empty() {
            Ok(playbook)
        } else {
            Err(Error::Invalid(problems))
        }
    }

    /// Reads as much of the playbook as can be read: problems the loader read past
    /// (unknown keys, values of the wrong type in steps) come back with it, for
    /// [`check`](super::check()) to report with its own; the error is what stopped the reading.
    pub fn parse_all(file: Arc<SourceFile>) -> Result<(Playbook, Vec<Diagnostic>), Error> {
        let mut problems = unknown_keys(&file);
        let mut doc: PlaybookDoc = match yaml::parse_all(&file) {
            Ok((doc, found)) => {
                problems.extend(found);
                doc
            }
            Err(Error::Invalid(found)) => {
                // `stpes:` with "did you mean `steps`?" says all "missing field `steps`" would.
                let suggested = |field: &str| {
                    let help = format!("did you mean `{field}`?");
                    problems
                        .iter()
                        .any(|p| p.help.as_deref() == Some(help.as_str()))
                };
                let found: Vec<Diagnostic> = found
                    .into_iter()
                    .filter(|d| {
                        d.message
                            .strip_prefix("missing field `")
                            .and_then(|rest| rest.strip_suffix('`'))
                            .is_none_or(|field| !suggested(field))
                    })
                    .collect();
                problems.extend(found);
                problems.sort_by_key(|d| d.span.offset);
                return Err(Error::Invalid(problems));
            }
            Err(other) => return Err(other),
        };
        problems.sort_by_key(|d| d.span.offset);
        let own = std::fs::canonicalize(file.name()).ok();
        let mut resolver = include::Resolver::new(own, file.name());
        let at = doc.steps.pos;
        let mut resolved = resolver.resolve_all(&mut doc.steps.value, &file, at);
        for scene in doc.scenes.values_mut() {
            if resolved.is_err() {
                break;
            }
            let at = scene.pos;
            resolved = resolver.resolve_all(&mut scene.value, &file, at);
        }
        if let Err(error) = resolved {
            return Err(match error {
                Error::Invalid(found) => {
                    Error::Invalid(problems.into_iter().chain(found).collect())
                }
                other => other,
            });
        }
        Ok((Playbook { file, doc }, problems))
    }
}

/// The keys of the playbook's top level, and of its `meeting` and `defaults`, that
/// their types do not have, each where it stands: found on the document as written,
/// so that one does not stop the loading. A document that is not a map is left to the
/// loader to report.
fn unknown_keys(file: &Arc<SourceFile>) -> Vec<Diagnostic> {
    /// The properties the schema gives each map: the top level's under "", the
    /// others' under their key.
    static KNOWN: std::sync::LazyLock<Vec<(&'static str, Vec<String>)>> =
        std::sync::LazyLock::new(|| {
            let schema = schema();
            let names = |properties: &serde_json::Value| -> Vec<String> {
                properties
                    .as_object()
                    .map(|p| p.keys().cloned().collect())
                    .unwrap_or_default()
            };
            vec![
                ("", names(&schema["properties"])),
                (
                    "meeting",
                    names(&schema["$defs"]["MeetingSpec"]["properties"]),
                ),
                (
                    "defaults",
                    names(&schema["$defs"]["Defaults"]["properties"]),
                ),
            ]
        });
    let Ok(Keys(keys)) = yaml::parse::<Keys>(file) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    let mut report = |keys: &[Spanned<String>], known: &[String]| {
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        for key in keys.iter().filter(|k| !known.contains(&k.value.as_str())) {
            let (message, help) = yaml::unknown("key", &key.value, &known);
            problems.push(Diagnostic::new(file, key.pos.span(file), message).with_help(help));
        }
    };
    let top: Vec<Spanned<String>> = keys.iter().map(|(key, _)| key.clone()).collect();
    for (name, known) in KNOWN.iter() {
        if name.is_empty() {
            report(&top, known);
        } else if let Some((_, Some(Keys(inner)))) = keys.iter().find(|(k, _)| k.value == *name) {
            let inner: Vec<Spanned<String>> = inner.iter().map(|(key, _)| key.clone()).collect();
            report(&inner, known);
        }
    }
    problems
}

/// The keys of a map, with their positions, and of the maps one level down; anything
/// else read past.
struct Keys(Vec<(Spanned<String>, Option<Keys>)>);

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeysVisitor;
        impl<'de> serde::de::Visitor<'de> for KeysVisitor {
            type Value = Keys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let inner = map.next_value::<Inner>()?.0;
                    keys.push((key, inner));
                }
                Ok(Keys(keys))
            }
        }
        d.deserialize_map(KeysVisitor)
    }
}

/// A value one level down: its keys if it is a map (their values skipped).
struct Inner(Option<Keys>);

impl<'de> Deserialize<'de> for Inner {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::IgnoredAny;
        struct InnerVisitor;
        impl<'de> serde::de::Visitor<'de> for InnerVisitor {
            type Value = Inner;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Inner, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.push((key, None));
                }
                Ok(Inner(Some(Keys(keys))))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Inner, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Inner(None))
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Inner, E> {
                Ok(Inner(None))
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Inner, E> {
                Ok(Inner(None))
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Inner, E> {
                Ok(Inner(None))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Inner, E> {
                Ok(Inner(None))
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Inner, E> {
                Ok(Inner(None))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Inner, E> {
                Ok(Inner(None))
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Inner, E> {
                Ok(Inner(None))
            }
        }
        d.deserialize_any(InnerVisitor)
    }
}
