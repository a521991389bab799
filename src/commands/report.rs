//! `emcee report JOURNAL`: a run's JSON and JUnit reports, rebuilt from its journal.

use std::path::Path;

use crate::error::{Error, ExitCode};
use crate::report::{ReportBuilder, ReportTarget, replay};
use crate::run::Listener;
use crate::secrets::Secrets;

pub(crate) fn run(
    journal: &str,
    targets: &[ReportTarget],
    state_dir: Option<&Path>,
) -> Result<ExitCode, Error> {
    let path = if journal == "last" {
        replay::last(&crate::run::lock::state_dir(state_dir))?
    } else {
        journal.into()
    };
    let record = replay::read(&path)?;
    let mut builder = ReportBuilder::default();
    for event in &record.events {
        builder.on(event);
    }
    // The journal was written with its secrets masked already.
    let secrets = Secrets::new(false);
    if targets.is_empty() {
        let text = serde_json::to_string_pretty(&builder.report()).unwrap_or_default() + "\n";
        crate::output::print_out(&text)?;
    } else {
        builder.write(targets, &secrets)?;
    }
    if !record.finished {
        tracing::warn!(
            "{}: the run did not reach its end; the report stops where the journal does",
            path.display()
        );
    }
    Ok(ExitCode::Success)
}
