//! Scenes: named lists of steps under the playbook's `scenes:`, played by a step
//! `scene: NAME` where the show reaches it, or by an operator out of order. A scene's
//! name is an identifier (it is typed at a console and on a command line), refused
//! where it is written otherwise.

use std::fmt;

use indexmap::IndexMap;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::step::{Step, StepList, recoverable};
use crate::yaml::Spanned;

/// The playbook's scenes, by name, in the order written.
pub(crate) type Scenes = IndexMap<String, Spanned<Vec<Spanned<Step>>>>;

/// The scene played when nothing names one: a scene called so is the panic scene.
pub(crate) const PANIC: &str = "panic";

/// Whether `name` can name a scene: `[a-z][a-z0-9_]*`.
pub(crate) fn is_scene_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Reads `scenes:`: a bad name or a scene that is not a list of steps is reported
/// where it stands and left out, and the rest read on.
pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Scenes, D::Error> {
    struct ScenesVisitor;
    impl<'de> Visitor<'de> for ScenesVisitor {
        type Value = Scenes;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of scene names to lists of steps")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scenes, A::Error> {
            let mut scenes = Scenes::new();
            while let Some(name) = map.next_key::<Spanned<String>>()? {
                let list = map.next_value::<Spanned<StepList>>()?;
                if !is_scene_name(&name.value) {
                    recoverable::<A::Error>(
                        name.pos,
                        format!("`{}` cannot name a scene", name.value),
                        Some(
                            "use lowercase letters, digits and underscores, starting with a letter, like `qa_open`"
                                .into(),
                        ),
                    )?;
                    continue;
                }
                match list.value {
                    StepList::Steps(steps) => {
                        scenes.insert(name.value, Spanned::new(steps, list.pos));
                    }
                    StepList::Not(kind) => recoverable::<A::Error>(
                        list.pos,
                        format!("scene `{}` is a list of steps, not {kind}", name.value),
                        Some("write each step on its own line, starting with `- `".into()),
                    )?,
                }
            }
            Ok(scenes)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Scenes, E> {
            Ok(Scenes::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Scenes, E> {
            Ok(Scenes::new())
        }
    }
    deserializer.deserialize_any(ScenesVisitor)
}

/// `scenes:` in the schema: identifiers to lists of steps.
pub(super) fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let steps = generator.subschema_for::<Vec<Step>>();
    schemars::json_schema!({
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
        "additionalProperties": steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scene_names_are_identifiers() {
        for good in ["panic", "qa_open", "a", "stand_by2"] {
            assert!(is_scene_name(good), "{good}");
        }
        for bad in ["", "Panic", "2nd", "_x", "qa-open", "qa open", "é"] {
            assert!(!is_scene_name(bad), "{bad}");
        }
    }
}
