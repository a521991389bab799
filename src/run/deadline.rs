//! The whole run's deadline (`deadline:` in the playbook, `--deadline`): when it passes
//! the current step stops, `always` steps still run, and the run fails. It is read on
//! the run's clock, so a fast-forwarded rehearsal reaches it in virtual time.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::step::StepFailure;
use crate::error::{Diagnostic, Error};
use crate::playbook::Playbook;
use crate::playbook::cue::Cue;

/// The deadline of a run, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Deadline {
    /// As written, for messages.
    pub(crate) cue: Cue,
    pub(crate) at: Timestamp,
}

impl Deadline {
    /// `--deadline` if given, else the playbook's `deadline`, against the run's first
    /// start (so that `+2h` keeps its meaning when the run is resumed).
    pub(crate) fn resolve(
        option: Option<&str>,
        playbook: &Playbook,
        start: Timestamp,
        zone: &TimeZone,
    ) -> Result<Option<Deadline>, Error> {
        if let Some(text) = option {
            let cue: Cue = text
                .parse()
                .map_err(|e| Error::Usage(format!("--deadline {text}: {e}")))?;
            let at = cue
                .resolve(start, zone)
                .map_err(|e| Error::Usage(format!("--deadline {text}: {e}")))?;
            return Ok(Some(Deadline { cue, at }));
        }
        let Some(cue) = &playbook.doc.deadline else {
            return Ok(None);
        };
        let at = cue.resolve(start, zone).map_err(|e| {
            Error::from(Diagnostic::new(
                &playbook.file,
                cue.pos.span(&playbook.file),
                format!("deadline {}: {e}", cue.value),
            ))
        })?;
        Ok(Some(Deadline {
            cue: cue.value.clone(),
            at,
        }))
    }

    /// The failure of the step the deadline stopped, or of the steps it kept from
    /// starting.
    pub(crate) fn failure(&self) -> StepFailure {
        StepFailure::new(format!("the run's deadline {} passed", self.cue))
    }
}
