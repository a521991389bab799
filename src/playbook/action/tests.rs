//! The action types against their catalogue and their error messages.

use super::*;
use crate::playbook::catalogue::{ACTIONS, action_names};

#[test]
fn the_name_lists_agree_with_the_enum() {
    let schema = serde_json::to_value(schemars::schema_for!(Action)).unwrap();
    let variants: Vec<String> = schema["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|v| v["required"].as_array().cloned().unwrap_or_default())
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    let mut sorted_variants = variants.clone();
    sorted_variants.sort();
    let mut sorted_names: Vec<String> = action_names().iter().map(|s| s.to_string()).collect();
    sorted_names.sort();
    assert_eq!(sorted_variants, sorted_names);
    for example in ACTIONS {
        let first_line = example.example.lines().next().unwrap();
        let (name, args) = first_line.split_once(':').unwrap();
        let args: serde_json::Value =
            serde_saphyr::from_str(args.trim()).unwrap_or(serde_json::Value::Null);
        let action =
            Action::from_parts(name, args).unwrap_or_else(|e| panic!("{}: {e:?}", example.name));
        assert_eq!(action.name(), example.name);
    }
}

#[test]
fn errors_name_the_field() {
    let (path, message) =
        Action::from_parts("mute_all", serde_json::json!({"allow_self_unmute": "no"})).unwrap_err();
    assert_eq!(path, "allow_self_unmute");
    assert!(message.contains("boolean"), "{message}");
    let (_, message) = Action::from_parts("lock", serde_json::json!({"x": 1})).unwrap_err();
    assert!(message.contains("no arguments"), "{message}");
    assert!(Action::from_parts("wait", serde_json::json!("5x")).is_err());
}
