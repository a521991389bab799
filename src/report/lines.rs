//! Plain lines, one per event, each with an RFC 3339 timestamp: for cron and pipes.

use std::io::Write;
use std::sync::Arc;

use super::describe;
use crate::clock::SharedClock;
use crate::run::{Event, Listener};
use crate::secrets::Secrets;

pub struct Lines<W> {
    out: W,
    secrets: Arc<Secrets>,
    clock: SharedClock,
    cues: usize,
    deterministic: bool,
    quiet: bool,
}

impl<W: Write + Send> Lines<W> {
    pub fn new(out: W, secrets: Arc<Secrets>, clock: SharedClock, deterministic: bool) -> Self {
        Lines {
            out,
            secrets,
            clock,
            cues: 0,
            deterministic,
            quiet: false,
        }
    }

    /// Only errors (`-q`): failed steps, and the summary of a failed run.
    pub fn quiet(self, quiet: bool) -> Self {
        Lines { quiet, ..self }
    }
}

impl<W: Write + Send> Listener for Lines<W> {
    fn on(&mut self, event: &Event) {
        if let Event::RunStarted { steps, .. } = event {
            self.cues = *steps;
        }
        if self.quiet && !super::is_error(event) {
            return;
        }
        let Some(text) = describe(event, self.cues, !self.deterministic) else {
            return;
        };
        let text = crate::printable::printable(&self.secrets.redact(&text)).into_owned();
        // Output that cannot be written (a closed pipe) must not stop the meeting.
        let _ = if self.deterministic {
            writeln!(self.out, "{text}")
        } else {
            writeln!(self.out, "{:.3} {text}", self.clock.now())
        };
        let _ = self.out.flush();
    }
}
