//! The playbook's JSON Schema, generated from the same types the loader uses (for
//! editors, through the `yaml-language-server` modeline, and for CI). A step is an
//! object with the common keys and exactly one action key, or a block of `steps`.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value};

use super::action::Action;
use super::model::PlaybookDoc;
use super::step::{SceneStep, Step, StepCommon};

/// The playbook schema, as committed in `schemas/playbook.schema.json`.
pub fn schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<PlaybookDoc>();
    serde_json::to_value(schema).unwrap_or(Value::Null)
}

impl JsonSchema for Step {
    fn schema_name() -> Cow<'static, str> {
        "Step".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let common = StepCommon::json_schema(generator);
        let mut properties: Map<String, Value> = common
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let actions = Action::json_schema(generator);
        let mut action_names = Vec::new();
        for variant in actions
            .get("oneOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(variant_properties) = variant.get("properties").and_then(Value::as_object) {
                for (name, args) in variant_properties {
                    let mut args = args.clone();
                    if let (Some(description), Some(object)) =
                        (variant.get("description"), args.as_object_mut())
                    {
                        object.entry("description").or_insert(description.clone());
                    }
                    properties.insert(name.clone(), args);
                    action_names.push(name.clone());
                }
            }
        }
        let scene = SceneStep::json_schema(generator);
        if let Some(key) = scene.get("properties").and_then(|p| p.get("scene")) {
            properties.insert("scene".into(), key.clone());
        }
        let steps = generator.subschema_for::<Vec<Step>>();
        for block in ["steps", "rescue", "always"] {
            properties.insert(block.into(), steps.clone().into());
        }
        let mut one_of: Vec<Value> = action_names
            .iter()
            .map(|name| serde_json::json!({"required": [name]}))
            .collect();
        one_of.push(serde_json::json!({"required": ["steps"]}));
        one_of.push(serde_json::json!({"required": ["scene"]}));
        json_schema!({
            "type": "object",
            "description": "A step: the common keys and exactly one action, or a block of `steps` with `rescue` and `always`, or `scene: NAME`.",
            "properties": properties,
            "additionalProperties": false,
            "oneOf": one_of,
            // As `check` says: "`rescue` and `always` belong to a block with `steps`"
            // (a `scene:` step is one too).
            "dependentSchemas": {
                "rescue": {"anyOf": [{"required": ["steps"]}, {"required": ["scene"]}]},
                "always": {"anyOf": [{"required": ["steps"]}, {"required": ["scene"]}]},
            },
            // And: "`late` belongs to a cue, but this step has no `at`".
            "dependentRequired": {
                "late": ["at"],
                "grace": ["at"],
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_take_exactly_one_action() {
        let schema = schema();
        let step = &schema["$defs"]["Step"];
        assert_eq!(step["additionalProperties"], false);
        assert!(step["properties"]["broadcast"].is_object());
        assert!(step["properties"]["when"].is_object());
        let rescue = &step["dependentSchemas"]["rescue"]["anyOf"];
        assert_eq!(rescue[0]["required"][0], "steps");
        assert_eq!(rescue[1]["required"][0], "scene");
        assert_eq!(
            step["oneOf"].as_array().unwrap().len(),
            crate::playbook::catalogue::action_names().len() + 2
        );
        assert_eq!(step["properties"]["scene"]["type"], "string");
        let scenes = &schema["properties"]["scenes"];
        assert_eq!(scenes["propertyNames"]["pattern"], "^[a-z][a-z0-9_]*$");
        assert!(schema["properties"]["panic_scene"].is_object());
    }
}
