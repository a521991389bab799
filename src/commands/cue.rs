//! `emcee cue COMMAND --meeting ID`: one operator command to the run of a meeting
//! that listens on its control socket, and the run's answer. Exit 0 when the run took
//! it, 1 when it refused it, 3 when no run of the meeting listens (see
//! [`crate::control::client::find`]).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::control::client::{Target, find, request};
use crate::control::protocol::{Command, ShowState, Via};
use crate::error::{Error, ExitCode};
use crate::printable::printable;

/// `emcee cue`, as plain options.
#[derive(Debug, Clone)]
pub(crate) struct CueOptions {
    pub command: Command,
    pub meeting: String,
    pub endpoint: Option<String>,
    /// The user's state directory when absent.
    pub state_dir: Option<PathBuf>,
    /// `--run ID`: which of several runs of the meeting.
    pub run: Option<String>,
    /// Print the reply as JSON.
    pub json: bool,
}

pub(crate) async fn run(options: CueOptions) -> Result<ExitCode, Error> {
    let target = Target {
        meeting: options.meeting,
        endpoint: options.endpoint,
        state_dir: Some(crate::run::lock::state_dir(options.state_dir.as_deref())),
        run: options.run,
    };
    let status = options.command == Command::Status;
    let asked = async {
        let socket = find(&target).await?;
        request(&socket, options.command, Via::Cue).await
    };
    let reply = match asked.await {
        Ok(reply) => reply,
        // A script reads JSON whatever happened: no reply is one that says why, in
        // the reply's shape; the exit code tells which failure it was.
        Err(error) if options.json => {
            let unanswered = crate::control::protocol::Reply {
                ok: false,
                message: error.to_string(),
                state: None,
            };
            let mut json = serde_json::to_string_pretty(&unanswered)
                .map_err(|e| Error::Failed(format!("cannot encode the reply: {e}")))?;
            json.push('\n');
            crate::output::print_out(&json)?;
            return Err(error);
        }
        Err(error) => return Err(error),
    };
    let text = if options.json {
        let mut json = serde_json::to_string_pretty(&reply)
            .map_err(|e| Error::Failed(format!("cannot encode the reply: {e}")))?;
        json.push('\n');
        json
    } else {
        match (&reply.state, status) {
            (Some(state), true) => block(state),
            _ => format!("{}\n", printable(&reply.message)),
        }
    };
    // JSON is for scripts: on standard output whatever the answer, the exit code
    // telling a refusal.
    if reply.ok || options.json {
        crate::output::print_out(&text)?;
    } else {
        eprint!("{text}");
    }
    Ok(if reply.ok {
        ExitCode::Success
    } else {
        ExitCode::Failed
    })
}

/// The show as `status` prints it: where the run is, what comes next, held or not,
/// the feed.
pub(crate) fn block(state: &ShowState) -> String {
    let mut out = String::new();
    let name = |text: &str| printable(text).into_owned();
    if let Some(run) = &state.run {
        let _ = writeln!(
            out,
            "run       {} ({}{})",
            run.run_id,
            name(&run.playbook),
            if run.rehearsal { ", rehearsal" } else { "" }
        );
        let _ = writeln!(out, "meeting   {} at {}", run.meeting, name(&run.endpoint));
    }
    let _ = writeln!(out, "now       {}", state.now);
    let done = state
        .steps
        .iter()
        .filter(|step| step.finished.is_some())
        .count();
    let _ = writeln!(out, "steps     {done} of {} done", state.steps.len());
    match &state.current {
        Some(current) => {
            let mut line = format!(
                "step      {} {}: {}",
                current.id,
                name(&current.name),
                current.doing
            );
            if let Some(left) = current.left_ms {
                let _ = write!(line, " ({} left)", left_text(left));
            }
            let _ = writeln!(out, "{line}");
        }
        None => {
            let _ = writeln!(out, "step      none");
        }
    }
    match &state.next_cue {
        Some(cue) => {
            let _ = writeln!(
                out,
                "next cue  {} {} at {} (in {})",
                cue.id,
                name(&cue.name),
                cue.at,
                left_text(cue.left_ms)
            );
        }
        None => {
            let _ = writeln!(out, "next cue  none");
        }
    }
    let _ = writeln!(out, "held      {}", if state.held { "yes" } else { "no" });
    let meeting = &state.meeting;
    let _ = writeln!(
        out,
        "meeting   {}, {} online, {} waiting",
        meeting.state,
        state.roster.len(),
        meeting.waiting
    );
    let _ = writeln!(out, "feed      {}", meeting.feed);
    if let Some(finished) = &state.finished {
        let _ = writeln!(out, "finished  {finished}");
    }
    out
}

fn left_text(millis: u64) -> String {
    crate::duration::human(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::protocol::{Current, NextCue};

    #[test]
    fn the_status_block_says_where_the_run_is() {
        let state = ShowState {
            now: "2026-12-02T14:30:00.000+08:00".into(),
            held: true,
            current: Some(Current {
                id: "2".into(),
                name: "intro\x1b[2J".into(),
                doing: "waiting".into(),
                until: None,
                left_ms: Some(65_000),
            }),
            next_cue: Some(NextCue {
                id: "3".into(),
                name: "q&a".into(),
                at: "2026-12-02T14:35:00.000+08:00".into(),
                left_ms: 300_000,
            }),
            ..ShowState::default()
        };
        let text = block(&state);
        assert!(
            text.contains("step      2 intro\\u{1b}[2J: waiting (1m 5s left)"),
            "{text}"
        );
        assert!(
            text.contains("next cue  3 q&a at 2026-12-02T14:35:00.000+08:00 (in 5m 0s)"),
            "{text}"
        );
        assert!(text.contains("held      yes"), "{text}");
    }
}
