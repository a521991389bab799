//! `--resume`: the journal of an earlier run of this playbook in this meeting at this
//! endpoint, whole and unchanged, from which a run goes on at the first cue it did not
//! finish. The run keeps that journal's start, so that `+15m` cues keep their meaning.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::playbook::Playbook;
use crate::report::replay::{self, JournalRun, RunKey};

/// The journal `which` names (`last`: the newest of this playbook, meeting and
/// endpoint under `state_dir`), checked against this run; `None` when that run had
/// already finished, which is said on standard output.
pub(super) fn journal(
    which: &str,
    state_dir: &Path,
    playbook: &Playbook,
    key: &RunKey<'_>,
) -> Result<Option<JournalRun>, Error> {
    let path = if which == "last" {
        let path = replay::last_of(state_dir, key)?;
        tracing::info!("--resume last: {}", path.display());
        path
    } else {
        PathBuf::from(which)
    };
    let journal = replay::read(&path)?;
    if journal.playbook_hash != playbook.hash() {
        return Err(Error::Usage(format!(
            "{}: the playbook changed since run {}; resuming it could repeat or skip cues",
            key.playbook.display(),
            journal.run_id
        )));
    }
    // A journal says which steps were done in one meeting, on one service: resuming it
    // anywhere else would skip steps that never ran there.
    if journal.meeting != key.meeting {
        return Err(Error::Usage(format!(
            "{}: run {} was for meeting {}, not meeting {}; resuming it would skip steps that never ran in this meeting",
            journal.path.display(),
            journal.run_id,
            journal.meeting,
            key.meeting
        )));
    }
    if journal.endpoint != key.endpoint {
        return Err(Error::Usage(format!(
            "{}: run {} was against {}, not {}; resuming it would skip steps that never ran there",
            journal.path.display(),
            journal.run_id,
            journal.endpoint,
            key.endpoint
        )));
    }
    match &journal.resume_at {
        None => {
            crate::output::print_out(&format!(
                "run {} already finished; nothing to resume\n",
                journal.run_id
            ))?;
            Ok(None)
        }
        Some(step) => {
            tracing::info!("resuming run {} from step {step}", journal.run_id);
            Ok(Some(journal))
        }
    }
}
