//! Schema pieces for fields that may be written as a `{{ … }}` template instead of
//! their own type. A leaf: the model's types name these in their schema attributes,
//! and the playbook schema is built from those types.

use schemars::Schema;
use serde_json::Value;

/// A `{{ … }}` template, which may stand for a value of any type.
pub(super) fn template() -> Value {
    serde_json::json!({"type": "string", "pattern": "\\{\\{"})
}

/// Lets every non-string property also be written as a template.
pub(super) fn allow_templates(schema: &mut Schema) {
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for property in properties.values_mut() {
        let is_string = property.get("type") == Some(&Value::String("string".into()));
        if !is_string {
            *property = serde_json::json!({"anyOf": [property.take(), template()]});
        }
    }
}
