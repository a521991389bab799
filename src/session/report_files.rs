//! The files a run writes besides its journal: `--report` targets and the rehearsal's
//! request log. Everything that could fail to be written is tried before the first
//! cue, with a temporary file beside it: the paths themselves are only ever replaced
//! whole, so an earlier report survives until this run's is complete.

use std::path::Path;

use crate::error::Error;
use crate::report::ReportTarget;
use crate::report::placeholders;

/// Each `--report` path uses only the placeholders a run fills in.
pub(crate) fn check_placeholders(targets: &[ReportTarget]) -> Result<(), Error> {
    for target in targets {
        placeholders::check(&target.path().to_string_lossy(), placeholders::RUN)
            .map_err(|e| Error::Usage(format!("--report {}: {e}", target.path().display())))?;
    }
    Ok(())
}

/// Tries to write beside the rehearsal's request log.
pub(super) fn probe_request_log(path: &Path) -> Result<(), Error> {
    crate::report::atomic::probe(path)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

/// The targets with `{run_id}` and `{date}` filled in (each run its own report), each
/// tried.
pub(super) fn filled(
    targets: &[ReportTarget],
    run_id: &str,
    date: &str,
) -> Result<Vec<ReportTarget>, Error> {
    let filled: Vec<_> = targets
        .iter()
        .map(|t| t.filled(&[("run_id", run_id), ("date", date)]))
        .collect();
    for target in &filled {
        crate::report::atomic::probe(target.path()).map_err(|e| {
            Error::io(
                format!("cannot write the report {}", target.path().display()),
                e,
            )
        })?;
    }
    Ok(filled)
}
