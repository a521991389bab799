//! Actions that never call the API: `set` variables, `log` a message, `assert` that
//! expressions hold.

use indexmap::IndexMap;
use serde_json::{Value, json};

use super::{ActionResult, Performed, Room};
use crate::playbook::action::{Assert, Log};
use crate::run::event::Event;
use crate::run::step::StepFailure;
use crate::yaml::Pos;

pub(super) fn set(room: &mut Room<'_>, values: IndexMap<String, Value>) -> ActionResult {
    let names: Vec<String> = values.keys().cloned().collect();
    for (name, value) in values {
        room.vars.set(name, value);
    }
    Ok(Performed::said(
        json!({}),
        format!("set {}", names.join(", ")),
    ))
}

pub(super) fn log(room: &mut Room<'_>, log: &Log) -> ActionResult {
    // A message rendered from a secret is shown as `***`, never in part.
    let text = if room.engine.secrets().shows_secret(&json!(log.msg)) {
        crate::secrets::MASK.to_owned()
    } else {
        log.msg.clone()
    };
    room.emit(Event::Message {
        id: room.step.id.clone(),
        level: log.level,
        text,
    });
    Ok(Performed {
        output: json!({"msg": log.msg}),
        detail: None,
    })
}

/// Each expression of `assert` is evaluated with the run's variables; the first false
/// one fails the step.
pub(super) fn assert(room: &mut Room<'_>, assert: &Assert, pos: Pos) -> ActionResult {
    for expression in &assert.that {
        let value = room
            .engine
            .eval(expression, pos, room.vars)
            .map_err(|e| room.template_failure(e))?;
        if !value.is_true() {
            let message = match &assert.msg {
                Some(msg) => format!("assertion failed: {msg} ({expression})"),
                None => format!("assertion failed: {expression}"),
            };
            return Err(StepFailure::new(message));
        }
    }
    Ok(Performed::said(
        json!({}),
        format!("{} true", assert.that.len()),
    ))
}
