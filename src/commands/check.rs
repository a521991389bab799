//! `emcee check PLAYBOOK...`: parse, type-check, template-check and lint without
//! contacting anything; every problem in every file is reported.

use std::path::PathBuf;

use crate::error::{Error, ExitCode};
use crate::playbook::{self, Playbook};

#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    pub playbooks: Vec<PathBuf>,
    /// Names of variables given outside the playbooks (`-e`, `--vars-file`).
    pub extra_vars: Vec<String>,
    /// Tags and `--start-at` to check against each playbook.
    pub selection: crate::playbook::select::Selection,
    pub color: bool,
}

/// Checks each file; prints problems to stderr and a line per good file to stdout.
pub fn run(options: &CheckOptions) -> Result<ExitCode, Error> {
    let known = playbook::KnownVars(options.extra_vars.iter().cloned().collect());
    let mut failed = 0;
    for path in &options.playbooks {
        let problems = match Playbook::load(path) {
            Ok(loaded) => {
                let problems = playbook::check(&loaded, &known);
                if problems.is_empty() {
                    if let Err(error) = options.selection.validate(&loaded) {
                        eprint!("{}", error.render(options.color));
                        failed += 1;
                        continue;
                    }
                    for warning in crate::plan::timeline::short_fan_out_timeouts(&loaded) {
                        eprintln!("warning: {warning}");
                    }
                    crate::cli::print_out(&format!(
                        "ok: {} ({} steps)\n",
                        path.display(),
                        loaded.walk().len()
                    ))?;
                    continue;
                }
                Error::Invalid(problems)
            }
            Err(error @ Error::Invalid(_)) => error,
            Err(other) => return Err(other),
        };
        failed += 1;
        eprint!("{}", problems.render(options.color));
    }
    if failed > 0 {
        if options.playbooks.len() > 1 {
            eprintln!(
                "{failed} of {} playbooks have problems",
                options.playbooks.len()
            );
        }
        return Ok(ExitCode::Invalid);
    }
    Ok(ExitCode::Success)
}
