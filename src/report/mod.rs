//! Listeners that turn run events into output: plain timestamped lines (cron, pipes),
//! JSON lines (`--log-format json`), and the terminal display with progress bars.
//! Every line passes through the secret redactor on its way out, and text lines are
//! made [`printable`].

pub(crate) mod atomic;
mod document;
mod journal;
mod json_lines;
mod lines;
pub(crate) mod placeholders;
pub(crate) mod replay;
mod terminal;

use crate::run::{Event, Outcome};
pub use document::{Report, ReportBuilder, ReportTarget, schema as report_schema};
pub(crate) use journal::Carried;
pub use journal::Journal;
pub use json_lines::JsonLines;
pub use lines::Lines;
pub use terminal::Terminal;

/// Where a step's line says it is: `[3/6] ` among the top-level steps, or `[op2] `
/// for what an operator played, which is no cue of the playbook's.
fn place(id: &crate::playbook::step_id::StepId, cue: usize, cues: usize) -> String {
    if id.is_operator() {
        let text = id.to_string();
        let top = text.split('.').next().unwrap_or(&text);
        format!("[{top}] ")
    } else {
        format!("[{cue}/{cues}] ")
    }
}

/// The text of an event as one line, without timestamp; `None` for events a line
/// display does not show.
pub fn describe(event: &Event, cues: usize, timings: bool) -> Option<String> {
    let took = |elapsed: &std::time::Duration| {
        if timings {
            format!(" ({})", crate::duration::human(*elapsed))
        } else {
            String::new()
        }
    };
    Some(match event {
        Event::RunStarted {
            playbook,
            meeting,
            endpoint,
            steps,
            ..
        } => {
            format!(
                "run     {playbook}: meeting {meeting} at {endpoint}, {steps} step{}",
                plural(*steps)
            )
        }
        Event::StepStarted {
            action: None,
            name,
            cue,
            id,
        } => format!("block   {}{name}", place(id, *cue, cues)),
        Event::StepStarted { .. } | Event::Progress { .. } => return None,
        Event::Waiting {
            name, until, left, ..
        } => {
            let left = if timings {
                format!(" (in {})", crate::duration::human(*left))
            } else {
                String::new()
            };
            format!("wait    {name}: waiting for {until}{left}")
        }
        Event::Cue(cue) => {
            use crate::run::CueStatus;
            let when = if timings {
                format!(" at {}", cue.actual)
            } else {
                String::new()
            };
            let late = if timings {
                format!(", {} ms after {}", cue.late_ms, cue.planned)
            } else {
                String::new()
            };
            match cue.status {
                CueStatus::OnTime => format!("cue     {}: {}{when}{late}", cue.name, cue.cue),
                CueStatus::Late => format!(
                    "cue     {}: {} reached late, running anyway{when}{late}",
                    cue.name, cue.cue
                ),
                CueStatus::Skipped => match &cue.by {
                    Some(by) => format!("cue     {}: {} skipped by {by}{when}", cue.name, cue.cue),
                    None => format!("cue     {}: {} missed, skipping{late}", cue.name, cue.cue),
                },
                CueStatus::Missed => format!("cue     {}: {} missed{late}", cue.name, cue.cue),
                CueStatus::Early => format!(
                    "cue     {}: {} fired early by {}{when}{late}",
                    cue.name,
                    cue.cue,
                    cue.by.as_deref().unwrap_or("the operator")
                ),
            }
        }
        Event::StepSkipped { name, reason, .. } => format!("skip    {name}: {reason}"),
        Event::Retry {
            name,
            attempt,
            attempts,
            delay,
            reason,
            ..
        } => {
            let wait = if timings {
                format!(" in {}", crate::duration::human(*delay))
            } else {
                String::new()
            };
            format!("retry   {name}: attempt {attempt}/{attempts}{wait} after {reason}")
        }
        Event::Message { level, text, .. } => format!("{:<7} {text}", level.label()),
        Event::MeetingWaiting {
            until, left, poll, ..
        } => {
            let left = if timings {
                format!(" (in {})", crate::duration::human(*left))
            } else {
                String::new()
            };
            format!(
                "wait    waiting for the meeting to start: asking every {}, until {until}{left}",
                // As the playbook writes it (`15s`), not as a measured time (`15.0s`).
                jiff::SignedDuration::try_from(*poll)
                    .map_or_else(|_| crate::duration::human(*poll), |d| format!("{d:#}"))
            )
        }
        Event::MeetingStarted { at, how } => {
            use crate::run::MeetingStart;
            let at = if timings {
                format!(" at {}", at.get(11..19).unwrap_or(at))
            } else {
                String::new()
            };
            match how {
                // The usual case needs no line: the journal and JSON lines have it.
                MeetingStart::Running => return None,
                MeetingStart::Waited => format!("meeting started{at}; the run goes on"),
                MeetingStart::StartedByRun => format!("meeting started by this run{at}"),
                MeetingStart::Resumed => {
                    format!(
                        "meeting started{at}, as the resumed run recorded; meeting+ cues count from then"
                    )
                }
            }
        }
        Event::MeetingUnavailable { error } => format!("error   {error}"),
        Event::Operator {
            user,
            via,
            command,
            ok,
            message,
            ..
        } => {
            let refused = if *ok { "" } else { " refused" };
            format!("⏯ {user} ({via}): {command}{refused} — {message}")
        }
        Event::FeedDown { at, why } => {
            let at = if timings {
                format!(" at {}", at.get(11..19).unwrap_or(at))
            } else {
                String::new()
            };
            format!("feed    the meeting's feed is down{at} ({why}); reading instead")
        }
        Event::FeedUp { at } => {
            let at = if timings {
                format!(" at {}", at.get(11..19).unwrap_or(at))
            } else {
                String::new()
            };
            format!("feed    the meeting's feed is back{at}; changes are seen as they happen")
        }
        Event::MeetingEnded {
            at, during, by_run, ..
        } => {
            // HH:MM:SS of the RFC 3339 instant.
            let at = if timings {
                format!(" at {}", at.get(11..19).unwrap_or(at))
            } else {
                String::new()
            };
            // When the run learnt of it: the service does not say when it ended.
            if *by_run {
                format!(
                    "ended   this run ended the meeting{at} (step {during}); the steps still to come that need it are skipped"
                )
            } else {
                format!(
                    "ended   the meeting ended{at} during step {during}; the steps still to come that need it are skipped"
                )
            }
        }
        // A log step's message is its line.
        Event::StepFinished {
            action: Some("log"),
            outcome: Outcome::Ok,
            ..
        } => return None,
        Event::StepFinished {
            id,
            name,
            cue,
            outcome,
            elapsed,
            detail,
            action,
            ..
        } => {
            let step = if action.is_some() {
                place(id, *cue, cues)
            } else {
                format!("{}end of ", place(id, *cue, cues))
            };
            match outcome {
                Outcome::Ok => {
                    let detail = detail
                        .as_deref()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default();
                    format!("ok      {step}{name}{detail}{}", took(elapsed))
                }
                Outcome::Failed { error, continued } => {
                    let go_on = if *continued {
                        " (on_error: continue)"
                    } else {
                        ""
                    };
                    format!("FAILED  {step}{name}: {error}{}{go_on}", took(elapsed))
                }
            }
        }
        Event::RunFinished { summary } => {
            let mut parts = vec![
                format!("{} ok", summary.ok),
                format!("{} failed", summary.failed),
                format!("{} skipped", summary.skipped),
            ];
            parts.extend(cue_summary(&summary.cue_summary, timings));
            parts.extend([
                format!(
                    "{} retr{}",
                    summary.retries,
                    if summary.retries == 1 { "y" } else { "ies" }
                ),
                format!(
                    "{} token renewal{}",
                    summary.token_renewals,
                    plural(summary.token_renewals as usize)
                ),
                format!(
                    "{} API call{}",
                    summary.api_calls,
                    plural(summary.api_calls as usize)
                ),
            ]);
            if timings {
                parts.push(crate::duration::human(summary.elapsed));
            }
            let verdict = if summary.success {
                "done   "
            } else {
                "failed "
            };
            format!("{verdict} {}", parts.join(", "))
        }
    })
}

/// How the cues went, for the summary line: `6/6 cues on time (latest 3ms)`, then
/// those late, skipped or missed; nothing when the playbook has no cues.
fn cue_summary(cues: &crate::run::CueSummary, timings: bool) -> Option<String> {
    if cues.total == 0 {
        return None;
    }
    let mut text = format!(
        "{}/{} cue{} on time",
        cues.on_time,
        cues.total,
        plural(cues.total)
    );
    if timings && let Some(latest) = cues.latest_ms {
        let latest = std::time::Duration::from_millis(latest.max(0).unsigned_abs());
        text.push_str(&format!(" (latest {})", crate::duration::human(latest)));
    }
    for (count, what) in [
        (cues.late, "late"),
        (cues.skipped, "skipped"),
        (cues.missed, "missed"),
        (cues.early, "fired early by the operator"),
    ] {
        if count > 0 {
            text.push_str(&format!(", {count} {what}"));
        }
    }
    Some(text)
}

/// Whether `-q` (only errors) shows an event: a failed step (one that `on_error:
/// continue` let pass too), and the summary of a run that failed.
pub fn is_error(event: &Event) -> bool {
    match event {
        Event::StepFinished { outcome, .. } => matches!(outcome, Outcome::Failed { .. }),
        Event::RunFinished { summary } => !summary.success,
        Event::MeetingUnavailable { .. } => true,
        Event::MeetingEnded { by_run, .. } => !by_run,
        _ => false,
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use crate::run::{CueStatus, CueSummary, CueTiming};

    fn cue(status: CueStatus, late_ms: i64) -> CueTiming {
        CueTiming {
            id: crate::playbook::step_id::StepId::top_level(1),
            name: "Keynote".into(),
            cue: "+15m".into(),
            planned: String::new(),
            actual: String::new(),
            late_ms,
            status,
            by: None,
        }
    }

    #[test]
    fn the_cue_summary_says_how_the_cues_went() {
        let cues = CueSummary::of(&[
            cue(CueStatus::OnTime, 3),
            cue(CueStatus::OnTime, 1),
            cue(CueStatus::Late, 95_000),
            cue(CueStatus::Skipped, 120_000),
            cue(CueStatus::Missed, 180_000),
        ]);
        assert_eq!(
            super::cue_summary(&cues, true).unwrap(),
            "2/5 cues on time (latest 1m 35s), 1 late, 1 skipped, 1 missed"
        );
        assert_eq!(
            super::cue_summary(&cues, false).unwrap(),
            "2/5 cues on time, 1 late, 1 skipped, 1 missed"
        );
        let on_time = CueSummary::of(&[cue(CueStatus::OnTime, 3)]);
        assert_eq!(
            super::cue_summary(&on_time, true).unwrap(),
            "1/1 cue on time (latest 3ms)"
        );
        assert_eq!(super::cue_summary(&CueSummary::of(&[]), true), None);
    }

    #[test]
    fn cues_fired_early_by_the_operator_are_counted_apart() {
        let cues = CueSummary::of(&[cue(CueStatus::OnTime, 3), cue(CueStatus::Early, -60_000)]);
        assert_eq!(
            super::cue_summary(&cues, true).unwrap(),
            "1/2 cues on time (latest 3ms), 1 fired early by the operator"
        );
    }

    #[test]
    fn an_operator_command_is_one_line_taken_or_refused() {
        let command = |ok, message: &str| crate::run::Event::Operator {
            at: "2026-12-02T14:31:02.000+08:00".into(),
            user: "alice".into(),
            via: "console".into(),
            command: "hold".into(),
            ok,
            message: message.into(),
        };
        assert_eq!(
            super::describe(&command(true, "held before step 4 (Open Q&A)"), 5, true).unwrap(),
            "⏯ alice (console): hold — held before step 4 (Open Q&A)"
        );
        assert_eq!(
            super::describe(&command(false, "already held"), 5, true).unwrap(),
            "⏯ alice (console): hold refused — already held"
        );
    }
}
