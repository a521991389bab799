//! The control channel of a running show: a local socket, `<state dir>/control/<run
//! id>.sock`, on which `emcee cue` and the console send operator commands to a run and
//! receive the run's state as it changes. This module is ground: it knows the wire
//! (`protocol`) and the transport, never the executor; the run side answers through
//! what the session hands it.

pub(crate) mod client;
pub(crate) mod protocol;
pub(crate) mod server;

use protocol::ShowState;

/// The show in one line, for the reply to `status`.
pub(crate) fn status_line(state: &ShowState) -> String {
    if let Some(outcome) = &state.finished {
        return format!("the run is over ({outcome})");
    }
    let mut line = match &state.current {
        Some(current) => format!("step {} `{}`: {}", current.id, current.name, current.doing),
        None => "between steps".to_owned(),
    };
    if state.held {
        line.push_str("; held");
    }
    line
}

#[cfg(test)]
mod tests;
