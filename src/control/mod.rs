//! The control channel of a running show: a local socket, `<state dir>/control/<run
//! id>.sock`, on which `emcee cue` and the console send operator commands to a run and
//! receive the run's state as it changes. This module is ground: it knows the wire
//! (`protocol`) and the transport, never the executor; the run side answers through
//! what the session hands it.

#[allow(dead_code, reason = "the wire is agreed before its two ends are built")]
pub(crate) mod protocol;
