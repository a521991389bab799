//! `emcee actions [NAME]`: the reference of every action — its arguments, defaults,
//! the API calls it makes (always, or in some situations) and an example — generated
//! from the playbook schema and the catalogue, so it can never disagree with what the
//! loader accepts or with the contract.

use serde_json::Value;

use crate::error::{Error, did_you_mean};
use crate::meeting::Api;
use crate::playbook::catalogue::{ANY_CONTROL_CALL, Calls, When};
use crate::playbook::{self, ACTIONS};

/// The one-line list, or the full entry of one action.
pub(crate) fn text(name: Option<&str>) -> Result<String, Error> {
    let schema = playbook::schema();
    let properties = &schema["$defs"]["Step"]["properties"];
    match name {
        None => {
            let width = ACTIONS.iter().map(|a| a.name.len()).max().unwrap_or(0);
            let mut out = String::new();
            for action in ACTIONS {
                let summary = first_sentence(
                    properties[action.name]["description"]
                        .as_str()
                        .unwrap_or(""),
                );
                out.push_str(&format!("{:width$}  {summary}\n", action.name));
            }
            out.push_str("\n`emcee actions NAME` shows one in full.\n");
            Ok(out)
        }
        Some(name) => {
            let Some(action) = ACTIONS.iter().find(|a| a.name == name) else {
                let names: Vec<&str> = ACTIONS.iter().map(|a| a.name).collect();
                let hint = did_you_mean(name, &names)
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                return Err(Error::Usage(format!(
                    "no action `{name}`{hint}; `emcee actions` lists them"
                )));
            };
            let entry = &properties[name];
            let mut out = format!(
                "{name}\n\n{}\n\n",
                entry["description"].as_str().unwrap_or("")
            );
            out.push_str("Arguments:\n");
            describe(&schema, entry, "  ", &mut out);
            out.push_str(&format!(
                "\nAPI calls (after the control token, {}):\n",
                Api::Token.describe()
            ));
            calls(&action.calls, &mut out);
            if !action.refusals().is_empty() {
                out.push_str("\nThe service may refuse (the step fails, and is not retried):\n");
                let width = action
                    .refusals()
                    .iter()
                    .map(|(code, _)| code.len())
                    .max()
                    .unwrap_or(0);
                for (code, why) in action.refusals() {
                    out.push_str(&format!("  {code:width$}  {why}\n"));
                }
            }
            out.push_str("\nExample:\n");
            for (index, line) in action.example.lines().enumerate() {
                let prefix = if index == 0 { "  - " } else { "    " };
                out.push_str(&format!("{prefix}{line}\n"));
            }
            Ok(out)
        }
    }
}

/// The calls of the contract an action makes, each marked `always` or `conditional`
/// (with when): `  conditional  GET /v1/…/realTimeInfo  (read-back …)`.
fn calls(calls: &Calls, out: &mut String) {
    let listed = match calls {
        Calls::AnyControlCall => {
            out.push_str(&format!("  {ANY_CONTROL_CALL}\n"));
            return;
        }
        Calls::Listed([]) => {
            out.push_str("  none\n");
            return;
        }
        Calls::Listed(listed) => listed,
    };
    let width = listed
        .iter()
        .map(|call| call.when.mark().len())
        .max()
        .unwrap_or(0);
    for call in *listed {
        let mark = call.when.mark();
        match call.when {
            When::Always => out.push_str(&format!("  {mark:width$}  {}\n", call.api)),
            When::Conditional(when) => {
                out.push_str(&format!("  {mark:width$}  {}  ({when})\n", call.api));
            }
        }
    }
}

/// A property that also accepts a template, seen as the value it stands for.
fn without_template(node: &Value) -> &Value {
    match node["anyOf"].as_array().map(Vec::as_slice) {
        Some([value, template]) if template["pattern"].as_str() == Some("\\{\\{") => value,
        _ => node,
    }
}

fn first_sentence(text: &str) -> &str {
    text.split_inclusive(". ").next().unwrap_or(text).trim_end()
}

fn resolve<'a>(schema: &'a Value, node: &'a Value) -> &'a Value {
    match node["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        Some(name) => &schema["$defs"][name],
        None => node,
    }
}

/// The shape of a value: its type, or its alternatives, and its fields.
fn describe(schema: &Value, node: &Value, indent: &str, out: &mut String) {
    let node = resolve(schema, node);
    if let Some(alternatives) = node["anyOf"]
        .as_array()
        .or_else(|| node["oneOf"].as_array())
    {
        let real: Vec<&Value> = alternatives
            .iter()
            .filter(|a| a["pattern"].as_str() != Some("\\{\\{"))
            .collect();
        if real.len() == 1 {
            return describe(schema, real[0], indent, out);
        }
        out.push_str(&format!("{indent}one of:\n"));
        for alternative in real {
            describe(schema, alternative, &format!("{indent}  "), out);
        }
        return;
    }
    if let Some(properties) = node["properties"].as_object() {
        let required: Vec<&str> = node["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        out.push_str(&format!("{indent}a map of:\n"));
        for (field, field_schema) in properties {
            let field_schema = without_template(field_schema);
            let resolved = resolve(schema, field_schema);
            let kind = kind_of(schema, resolved);
            let description = resolved["description"]
                .as_str()
                .or_else(|| field_schema["description"].as_str())
                .unwrap_or("");
            let default = resolved
                .get("default")
                .or_else(|| field_schema.get("default"))
                .map(|d| format!(" (default {d})"))
                .unwrap_or_default();
            let need = if required.contains(&field.as_str()) {
                " (required)"
            } else {
                ""
            };
            out.push_str(&format!(
                "{indent}  {field}: {kind}{need}{default}  {description}\n"
            ));
        }
        return;
    }
    let kind = kind_of(schema, node);
    let description = node["description"].as_str().unwrap_or("");
    out.push_str(&format!("{indent}{kind}  {description}\n"));
}

fn kind_of(schema: &Value, node: &Value) -> String {
    let node = resolve(schema, node);
    if let Some(values) = node["enum"].as_array() {
        return values
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(" | ");
    }
    if let Some(alternatives) = node["anyOf"]
        .as_array()
        .or_else(|| node["oneOf"].as_array())
    {
        let kinds: Vec<String> = alternatives
            .iter()
            .filter(|a| a["pattern"].as_str() != Some("\\{\\{"))
            .map(|a| kind_of(schema, a))
            .collect();
        return kinds.join(" | ");
    }
    match &node["type"] {
        Value::String(t) if t == "array" => format!("list of {}", kind_of(schema, &node["items"])),
        Value::String(t) if t == "object" => "map".into(),
        Value::String(t) => t.clone(),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".into(),
    }
}
