//! Reading a journal back: the events it holds (to rebuild reports) and where the run
//! got to (to resume it). A line that is not a complete event is refused with its
//! number, and nothing is written.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;
use crate::playbook::action::action_names;
use crate::run::{CueSummary, CueTiming, Event, Outcome, Place, Summary};

/// What a journal says about its run.
#[derive(Debug, Clone)]
pub struct JournalRun {
    pub path: PathBuf,
    pub events: Vec<Event>,
    pub file: String,
    pub playbook_hash: String,
    /// The meeting and the endpoint it ran against (as the journal shows it).
    pub meeting: String,
    pub endpoint: String,
    pub started: jiff::Timestamp,
    pub run_id: String,
    /// The run reached its end (successful or not).
    pub finished: bool,
    pub success: bool,
    /// The id of the first top-level step not done: where a resumed run starts.
    /// `None` when every top-level step is done.
    pub resume_at: Option<String>,
    pub top_level_steps: usize,
}

/// The newest journal under `<state dir>/runs`.
pub fn last(state_dir: &Path) -> Result<PathBuf, Error> {
    let dir = state_dir.join("runs");
    let newest = std::fs::read_dir(&dir)
        .map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "jsonl"))
        .max_by_key(|entry| entry.metadata().and_then(|m| m.modified()).ok());
    newest
        .map(|entry| entry.path())
        .ok_or_else(|| Error::Usage(format!("no journal in {}", dir.display())))
}

#[derive(Deserialize)]
struct Started {
    playbook: String,
    meeting: String,
    endpoint: String,
    steps: usize,
    file: String,
    playbook_hash: String,
    started: String,
    run_id: String,
}

#[derive(Deserialize)]
struct Finished {
    id: String,
    name: String,
    action: Option<String>,
    cue: usize,
    outcome: Outcome,
    elapsed: u64,
    retries: u32,
    detail: Option<String>,
    // Journals from before steps' times and places were recorded lack them.
    #[serde(default)]
    started: String,
    #[serde(default)]
    finished: String,
    #[serde(flatten)]
    at: Place,
}

#[derive(Deserialize)]
struct Skipped {
    id: String,
    name: String,
    reason: String,
    #[serde(flatten)]
    at: Place,
}

#[derive(Deserialize)]
struct Retried {
    id: String,
    name: String,
    attempt: u32,
    attempts: u32,
    delay: Option<u64>,
    reason: String,
}

#[derive(Deserialize)]
struct RunEnded {
    summary: Summary,
}

fn static_action(name: Option<String>) -> Option<&'static str> {
    let name = name?;
    action_names().iter().find(|a| **a == name).copied()
}

/// The top-level step a step id belongs to: `3` for `3`, `3.2`, `3#1.1`.
fn top_level(id: &str) -> Option<usize> {
    id.split(['.', '#']).next()?.parse().ok()
}

pub fn read(path: &Path) -> Result<JournalRun, Error> {
    let text = crate::source::read_text(path, crate::source::MAX_JOURNAL_BYTES)
        .map_err(|e| Error::io(format!("cannot read the journal {}", path.display()), e))?;
    let corrupt = |line: usize, why: String| {
        Error::Failed(format!(
            "{}:{line}: the journal is damaged ({why}); nothing was resumed or written",
            path.display()
        ))
    };
    let mut events = Vec::new();
    let mut started: Option<Started> = None;
    let mut finished = false;
    let mut success = false;
    let mut highest_started = 0;
    let mut done_top_level = std::collections::BTreeSet::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let value: Value =
            serde_json::from_str(line).map_err(|e| corrupt(number, e.to_string()))?;
        let kind = value["event"]
            .as_str()
            .ok_or_else(|| corrupt(number, "no `event`".into()))?
            .to_owned();

        let id = value["id"].as_str().map(str::to_owned);
        if let Some(top) = id.as_deref().and_then(top_level) {
            highest_started = highest_started.max(top);
        }
        let event = match kind.as_str() {
            "run_started" => {
                let s: Started =
                    serde_json::from_value(value).map_err(|e| corrupt(number, e.to_string()))?;
                let event = Event::RunStarted {
                    playbook: s.playbook.clone(),
                    meeting: s.meeting.clone(),
                    endpoint: s.endpoint.clone(),
                    steps: s.steps,
                    file: s.file.clone(),
                    playbook_hash: s.playbook_hash.clone(),
                    started: s.started.clone(),
                    run_id: s.run_id.clone(),
                };
                started = Some(s);
                Some(event)
            }
            "step_finished" => {
                let f: Finished =
                    serde_json::from_value(value).map_err(|e| corrupt(number, e.to_string()))?;
                let ok = matches!(
                    f.outcome,
                    Outcome::Ok
                        | Outcome::Failed {
                            continued: true,
                            ..
                        }
                );
                if ok && !f.id.contains(['.', '#']) {
                    done_top_level.insert(top_level(&f.id).unwrap_or(0));
                }
                Some(Event::StepFinished {
                    id: f.id,
                    name: f.name,
                    action: static_action(f.action),
                    cue: f.cue,
                    outcome: f.outcome,
                    elapsed: Duration::from_millis(f.elapsed),
                    retries: f.retries,
                    detail: f.detail,
                    started: f.started,
                    finished: f.finished,
                    at: f.at,
                })
            }
            "step_skipped" => {
                let s: Skipped =
                    serde_json::from_value(value).map_err(|e| corrupt(number, e.to_string()))?;
                if !s.id.contains(['.', '#']) {
                    done_top_level.insert(top_level(&s.id).unwrap_or(0));
                }
                Some(Event::StepSkipped {
                    id: s.id,
                    name: s.name,
                    reason: s.reason,
                    at: s.at,
                })
            }
            "retry" => {
                let r: Retried =
                    serde_json::from_value(value).map_err(|e| corrupt(number, e.to_string()))?;
                Some(Event::Retry {
                    id: r.id,
                    name: r.name,
                    attempt: r.attempt,
                    attempts: r.attempts,
                    delay: Duration::from_millis(r.delay.unwrap_or(0)),
                    reason: r.reason,
                })
            }
            "cue" => Some(Event::Cue(
                serde_json::from_value::<CueTiming>(value)
                    .map_err(|e| corrupt(number, e.to_string()))?,
            )),
            "run_finished" => {
                let mut f: RunEnded =
                    serde_json::from_value(value).map_err(|e| corrupt(number, e.to_string()))?;
                // Counted again from the cues: a journal from before the count lacks it.
                f.summary.cue_summary = CueSummary::of(&f.summary.cues);
                finished = true;
                success = f.summary.success;
                Some(Event::RunFinished { summary: f.summary })
            }
            _ => None,
        };
        events.extend(event);
    }
    let started =
        started.ok_or_else(|| corrupt(1, "it does not start with `run_started`".into()))?;
    let start: jiff::Timestamp = started
        .started
        .parse()
        .map_err(|e| corrupt(1, format!("bad start time: {e}")))?;
    // A loop or block not finished is started again from its beginning.
    let resume_at = if highest_started == 0 {
        Some("1".to_owned())
    } else if done_top_level.contains(&highest_started) {
        (highest_started < started.steps).then(|| (highest_started + 1).to_string())
    } else {
        Some(highest_started.to_string())
    };
    Ok(JournalRun {
        path: path.to_owned(),
        events,
        file: started.file,
        playbook_hash: started.playbook_hash,
        meeting: started.meeting,
        endpoint: started.endpoint,
        started: start,
        run_id: started.run_id,
        finished,
        success,
        resume_at: if success { None } else { resume_at },
        top_level_steps: started.steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_ids() {
        assert_eq!(top_level("3"), Some(3));
        assert_eq!(top_level("3.2"), Some(3));
        assert_eq!(top_level("12#4.1"), Some(12));
        assert_eq!(top_level(""), None);
    }
}
