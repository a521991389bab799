//! What an operator's command leaves behind: a [`Record`] of it, taken or refused, as
//! typed, which the run emits as an [`Event::Operator`] for the display, the journal
//! and the reports.

use crate::control::protocol::{Command, Via};
use crate::run::event::Event;
use crate::run::step::Timeline;

/// A command taken or refused, before the executor emits it as an [`Event::Operator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub at: jiff::Timestamp,
    pub user: String,
    pub via: Via,
    pub command: String,
    pub ok: bool,
    pub message: String,
}

impl Record {
    /// The event the run emits for it, its time shown on `timeline`.
    pub(crate) fn event(self, timeline: &Timeline) -> Event {
        let via = match self.via {
            Via::Cue => "cue",
            Via::Console => "console",
        };
        Event::Operator {
            at: timeline.show(self.at),
            user: self.user,
            via: via.to_owned(),
            command: self.command,
            ok: self.ok,
            message: self.message,
        }
    }
}

/// A command as an operator would type it: `skip 4`, `do mute "Bob Li"`.
pub(crate) fn typed(command: &Command) -> String {
    match command {
        Command::Hold => "hold".to_owned(),
        Command::Resume => "resume".to_owned(),
        Command::Go => "go".to_owned(),
        Command::Skip { step: None } => "skip".to_owned(),
        Command::Skip { step: Some(step) } => format!("skip {step}"),
        Command::Abort => "abort".to_owned(),
        Command::Scene { name } => format!("scene {name}"),
        Command::Do {
            action,
            selector: None,
            participant: None,
        } => format!("do {action}"),
        Command::Do {
            action,
            selector: Some(selector),
            ..
        } => format!("do {action} {}", quoted(selector)),
        Command::Do {
            action,
            participant: Some(id),
            ..
        } => format!("do {action} --id {}", quoted(id)),
        Command::Status => "status".to_owned(),
    }
}

/// A selector as typed: quoted when it has spaces or quotes.
fn quoted(text: &str) -> String {
    if text.is_empty() || text.contains([' ', '"', '\'']) {
        format!("{text:?}")
    } else {
        text.to_owned()
    }
}
