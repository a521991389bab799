//! `emcee schema`: the playbook JSON Schema (also committed as
//! `schemas/playbook.schema.json`).

use crate::playbook;

/// The schema as pretty JSON with a trailing newline, exactly as committed.
pub fn text() -> String {
    let mut text = serde_json::to_string_pretty(&playbook::schema()).unwrap_or_default();
    text.push('\n');
    text
}
