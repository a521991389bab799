//! `emcee plan PLAYBOOK`: the resolved timeline — when each cue fires, what it does,
//! which API calls it makes — without contacting anything; with `--live`, after a
//! read-only look at the meeting, whose verdict on each selector it adds.

use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::SystemClock;
use crate::error::{Error, ExitCode};
use crate::plan::timeline::People;
use crate::secrets::Secrets;
use crate::session::Prepared;
use crate::session::live::{Checked, Look, look_at_playbook, resolve};
use crate::template::Engine;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum PlanFormat {
    #[default]
    Table,
    Json,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct PlanOptions {
    pub playbook: PathBuf,
    /// `-e`, parsed (see [`crate::session::vars::parse_cli`]).
    pub vars: Vec<(String, serde_json::Value)>,
    pub vars_files: Vec<PathBuf>,
    /// Check the targets against the playbook's rehearsal meeting.
    pub sim: bool,
    /// When the run would start: RFC 3339, or a date and time or a time of day in the
    /// playbook's zone. Now when absent.
    pub start: Option<String>,
    /// When the meeting would start, for `meeting+…` cues, in the forms of `start` (`+12m`
    /// after the run's start); the run's start when absent.
    pub meeting_start: Option<String>,
    pub format: PlanFormat,
    /// `--live`: check the selectors against the live meeting at this endpoint.
    pub live: Option<crate::session::live::LiveOptions>,
    /// `--tags`, `--skip-tags`, `--start-at`: the steps a run with them would take.
    pub selection: crate::playbook::select::Selection,
}

pub(crate) fn run(options: &PlanOptions) -> Result<ExitCode, Error> {
    let prepared = Prepared::load(&options.playbook, &options.vars, &options.vars_files)?;
    let (playbook, zone) = (&prepared.playbook, &prepared.zone);
    options.selection.validate(playbook)?;
    let now = jiff::Timestamp::now();
    let start = match &options.start {
        None => now,
        Some(text) => text
            .parse::<crate::playbook::cue::Cue>()
            .and_then(|cue| cue.resolve(now, zone))
            .map_err(|e| Error::Usage(format!("--start {text}: {e}")))?,
    };
    let meeting_start = match &options.meeting_start {
        None => None,
        Some(text) => Some(
            text.parse::<crate::playbook::cue::Cue>()
                .and_then(|cue| cue.resolve(start, zone))
                .map_err(|e| Error::Usage(format!("--meeting-start {text}: {e}")))?,
        ),
    };
    // Secrets are never needed to plan: placeholders stand in, and are masked. A
    // look at the live meeting needs the real ones to log in.
    let secrets = Secrets::new(options.live.is_none());
    let engine = Engine::new(Arc::clone(&secrets), SystemClock::shared());
    let vars = prepared.vars(&engine)?;
    let look = match &options.live {
        Some(live) => {
            let endpoint = live.endpoint()?;
            let looking = look_at_playbook(&prepared, &engine, &vars, &secrets, &endpoint);
            Some(crate::session::live::runtime()?.block_on(looking)?)
        }
        None => None,
    };
    let verdict = |selector: &crate::playbook::Selector| match &look {
        Some((_, Look::Running(lineup))) => resolve::warning(selector, lineup),
        _ => None,
    };
    let people = match (&look, playbook.doc.rehearsal.as_ref()) {
        (Some(_), _) => People::Live(&verdict),
        (None, Some(rehearsal)) if options.sim => People::Rehearsal(&rehearsal.value),
        (None, _) => People::Unchecked,
    };
    let mut plan = crate::plan::plan(
        playbook,
        &vars,
        &engine,
        crate::plan::PlanStart {
            run: start,
            meeting: meeting_start,
        },
        zone.clone(),
        people,
        &options.selection,
    )?;
    if let Some((meeting, look)) = &look {
        let checked = match look {
            Look::Running(_) => Checked::Resolved(Vec::new()),
            Look::NotStarted => Checked::NotStarted {
                meeting: meeting.clone(),
            },
            Look::Ended => Checked::Ended {
                meeting: meeting.clone(),
            },
        };
        plan.live
            .extend(checked.lines(&options.playbook.display().to_string()));
    }
    let text = match options.format {
        PlanFormat::Table => crate::printable::printable_lines(&secrets.redact(&plan.table(zone))),
        PlanFormat::Json => secrets.to_json(&plan, true) + "\n",
    };
    crate::output::print_out(&text)?;
    Ok(ExitCode::Success)
}
