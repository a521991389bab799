//! The operator's console: a full-screen view of a running show, drawn with ratatui,
//! whose keys send operator commands through the run's control channel exactly as
//! `emcee cue` does (so they are journaled and reported the same way). It knows the
//! channel's wire and client, never the run itself.

pub(crate) mod keys;
pub(crate) mod ui;
pub(crate) mod view;
