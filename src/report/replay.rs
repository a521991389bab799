//! Reading a journal back: the events it holds (to rebuild reports) and where the run
//! got to (to resume it). A line that is not a complete event is refused with its
//! number, and nothing is written.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;
use crate::playbook::catalogue::action_names;
use crate::playbook::step_id::StepId;
use crate::run::{CueSummary, CueTiming, Event, Outcome, Place, Summary};

/// What a journal says about its run.
#[derive(Debug, Clone)]
pub(crate) struct JournalRun {
    pub path: PathBuf,
    pub events: Vec<Event>,
    pub playbook_hash: String,
    /// The meeting and the endpoint it ran against (as the journal shows it).
    pub meeting: String,
    pub endpoint: String,
    pub started: jiff::Timestamp,
    /// The meeting's start as the run counted it (`meeting+10m` cues), once known.
    pub meeting_start: Option<jiff::Timestamp>,
    pub run_id: String,
    /// The run reached its end (successful or not).
    pub finished: bool,
    /// The id of the first top-level step not done, as `--start-at` takes it: where a
    /// resumed run starts. `None` when every top-level step is done.
    pub resume_at: Option<String>,
}

/// The journals under `<state dir>/runs`, newest first.
fn journals(state_dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let dir = state_dir.join("runs");
    let mut found: Vec<(Option<std::time::SystemTime>, PathBuf)> = std::fs::read_dir(&dir)
        .map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "jsonl"))
        .map(|entry| {
            let modified = entry.metadata().and_then(|m| m.modified()).ok();
            (modified, entry.path())
        })
        .collect();
    // Run ids begin with their start time, so the name breaks a tie of times.
    found.sort_by(|a, b| b.cmp(a));
    Ok(found.into_iter().map(|(_, path)| path).collect())
}

/// The newest journal under `<state dir>/runs`.
pub(crate) fn last(state_dir: &Path) -> Result<PathBuf, Error> {
    journals(state_dir)?.into_iter().next().ok_or_else(|| {
        Error::Usage(format!(
            "no journal in {}",
            state_dir.join("runs").display()
        ))
    })
}

/// Which runs `--resume last` may pick: those of one playbook, in one meeting, at one
/// endpoint (as journals show it).
#[derive(Debug, Clone)]
pub(crate) struct RunKey<'a> {
    pub playbook: &'a Path,
    pub meeting: &'a str,
    pub endpoint: &'a str,
}

/// The newest journal under `<state dir>/runs` of `key`'s playbook, meeting and
/// endpoint: a rehearsal, another playbook or another meeting run since is passed
/// over. Only each journal's first line is read to decide.
pub(crate) fn last_of(state_dir: &Path, key: &RunKey<'_>) -> Result<PathBuf, Error> {
    let found = journals(state_dir)?.into_iter().find(|path| {
        header(path).is_some_and(|started| {
            started.meeting == key.meeting
                && started.endpoint == key.endpoint
                && same_file(&started.file, key.playbook)
        })
    });
    found.ok_or_else(|| {
        Error::Usage(format!(
            "--resume last: no journal of {} in meeting {} at {} in {}",
            key.playbook.display(),
            key.meeting,
            key.endpoint,
            state_dir.join("runs").display()
        ))
    })
}

/// A journal's `run_started`, or `None` if its first line is not one.
fn header(path: &Path) -> Option<Started> {
    use std::io::{BufRead, Read};
    let file = std::fs::File::open(path).ok()?;
    let mut line = String::new();
    // `run_started` is a short line; a file that is no journal is not read whole.
    std::io::BufReader::new(file.take(1 << 20))
        .read_line(&mut line)
        .ok()?;
    let value: Value = serde_json::from_str(&line).ok()?;
    (value["event"] == "run_started")
        .then(|| serde_json::from_value(value).ok())
        .flatten()
}

/// Whether a journal's `file` (as the run was given it) is `playbook`: the same file
/// when both can be found from here, else the same text.
fn same_file(journal_file: &str, playbook: &Path) -> bool {
    match (
        std::fs::canonicalize(journal_file),
        std::fs::canonicalize(playbook),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => Path::new(journal_file) == playbook,
    }
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
    id: StepId,
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
    id: StepId,
    name: String,
    reason: String,
    #[serde(flatten)]
    at: Place,
}

#[derive(Deserialize)]
struct Retried {
    id: StepId,
    name: String,
    attempt: u32,
    attempts: u32,
    delay: Option<u64>,
    reason: String,
}

#[derive(Deserialize)]
struct MeetingStarted {
    at: String,
    how: crate::run::MeetingStart,
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
    id.parse::<StepId>().ok()?.top_level_index()
}

/// An operator's command as the journal holds it.
#[derive(Deserialize)]
struct OperatorTook {
    at: String,
    user: String,
    via: String,
    command: String,
    ok: bool,
    message: String,
}

pub(crate) fn read(path: &Path) -> Result<JournalRun, Error> {
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
    let mut meeting_start = None;
    let mut done_top_level = std::collections::BTreeSet::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let value: Value =
            serde_json::from_str(line).map_err(|e| corrupt(number, e.to_string()))?;
        let kind = value["event"]
            .as_str()
            .ok_or_else(|| corrupt(number, "no `event`".into()))?
            .to_owned();

        if let Some(top) = value["id"].as_str().and_then(top_level) {
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
                if ok && f.id.is_top_level() {
                    done_top_level.insert(f.id.top_level_index().unwrap_or(0));
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
                if s.id.is_top_level() {
                    done_top_level.insert(s.id.top_level_index().unwrap_or(0));
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
            "meeting_started" => {
                let m: MeetingStarted =
                    serde_json::from_value(value).map_err(|e| corrupt(number, e.to_string()))?;
                let at =
                    m.at.parse::<jiff::Timestamp>()
                        .map_err(|e| corrupt(number, format!("bad meeting start: {e}")))?;
                meeting_start = Some(at);
                Some(Event::MeetingStarted {
                    at: m.at,
                    how: m.how,
                })
            }
            "meeting_unavailable" => Some(Event::MeetingUnavailable {
                error: value["error"].as_str().unwrap_or_default().to_owned(),
            }),
            "feed_down" => Some(Event::FeedDown {
                at: value["at"].as_str().unwrap_or_default().to_owned(),
                why: value["why"].as_str().unwrap_or_default().to_owned(),
            }),
            "operator" => {
                let o: OperatorTook =
                    serde_json::from_value(value).map_err(|e| corrupt(number, e.to_string()))?;
                Some(Event::Operator {
                    at: o.at,
                    user: o.user,
                    via: o.via,
                    command: o.command,
                    ok: o.ok,
                    message: o.message,
                })
            }
            "feed_up" => Some(Event::FeedUp {
                at: value["at"].as_str().unwrap_or_default().to_owned(),
            }),
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
        Some(StepId::top_level(1))
    } else if done_top_level.contains(&highest_started) {
        (highest_started < started.steps).then(|| StepId::top_level(highest_started + 1))
    } else {
        Some(StepId::top_level(highest_started))
    }
    .map(|id| id.to_string());
    Ok(JournalRun {
        path: path.to_owned(),
        events,
        playbook_hash: started.playbook_hash,
        meeting: started.meeting,
        endpoint: started.endpoint,
        started: start,
        meeting_start,
        run_id: started.run_id,
        finished,
        resume_at: if success { None } else { resume_at },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(dir: &Path, run_id: &str, file: &str, meeting: &str, endpoint: &str) {
        let runs = dir.join("runs");
        std::fs::create_dir_all(&runs).unwrap();
        let line = serde_json::json!({
            "event": "run_started", "playbook": "P", "meeting": meeting,
            "endpoint": endpoint, "steps": 1, "file": file, "playbook_hash": "h",
            "started": "2026-11-22T10:00:00Z", "run_id": run_id,
        });
        std::fs::write(runs.join(format!("{run_id}.jsonl")), format!("{line}\n")).unwrap();
    }

    #[test]
    fn last_of_passes_over_other_playbooks_meetings_and_endpoints() {
        let dir = tempfile::tempdir().unwrap();
        let prod = "https://api.example";
        journal(
            dir.path(),
            "20261122T100000Z-1",
            "a.yaml",
            "914044873",
            prod,
        );
        // Newer, each different in one way; and a file that is no journal.
        journal(
            dir.path(),
            "20261122T100001Z-2",
            "b.yaml",
            "914044873",
            prod,
        );
        journal(
            dir.path(),
            "20261122T100002Z-3",
            "a.yaml",
            "222333444",
            prod,
        );
        journal(
            dir.path(),
            "20261122T100003Z-4",
            "a.yaml",
            "914044873",
            "the built-in emulator",
        );
        std::fs::write(
            dir.path().join("runs/20261122T100004Z-5.jsonl"),
            "not json\n",
        )
        .unwrap();
        let key = RunKey {
            playbook: Path::new("a.yaml"),
            meeting: "914044873",
            endpoint: prod,
        };
        let found = last_of(dir.path(), &key).unwrap();
        assert!(found.ends_with("20261122T100000Z-1.jsonl"), "{found:?}");
        assert!(
            last(dir.path())
                .unwrap()
                .ends_with("20261122T100004Z-5.jsonl")
        );
        let none = last_of(
            dir.path(),
            &RunKey {
                meeting: "555666777",
                ..key
            },
        )
        .unwrap_err();
        assert!(
            none.to_string()
                .contains("no journal of a.yaml in meeting 555666777"),
            "{none}"
        );
    }

    #[test]
    fn what_an_operator_played_is_never_where_a_run_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let started = serde_json::json!({
            "event": "run_started", "playbook": "P", "meeting": "914044873",
            "endpoint": "e", "steps": 5, "file": "p.yaml", "playbook_hash": "h",
            "started": "2026-11-22T10:00:00Z", "run_id": "r",
        });
        let step = |event: &str, id: &str| {
            serde_json::json!({
                "event": event, "id": id, "name": "lock", "action": "lock", "cue": 1,
                "outcome": {"status": "ok"}, "elapsed": 1, "retries": 0, "detail": null,
                "file": "p.yaml", "line": 5,
            })
        };
        // Step 1 done, then an operator's scene `op7` with its steps, all done; the
        // run stopped there.
        let lines = [
            started,
            step("step_started", "1"),
            step("step_finished", "1"),
            step("step_started", "op7"),
            step("step_started", "op7.1"),
            step("step_finished", "op7.1"),
            step("step_finished", "op7"),
        ];
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, text).unwrap();
        let journal = read(&path).unwrap();
        assert_eq!(journal.resume_at.as_deref(), Some("2"));
        let ids: Vec<String> = journal
            .events
            .iter()
            .filter_map(|e| match e {
                Event::StepFinished { id, .. } => Some(id.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(ids, ["1", "op7.1", "op7"], "read back as written");
    }

    #[test]
    fn top_level_ids() {
        assert_eq!(top_level("3"), Some(3));
        assert_eq!(top_level("3.2"), Some(3));
        assert_eq!(top_level("12#4.1"), Some(12));
        assert_eq!(top_level(""), None);
        assert_eq!(top_level("op3"), None);
        assert_eq!(top_level("op3.1"), None);
    }
}
