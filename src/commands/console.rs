//! `emcee console --meeting ID`: the operator's console on the run of a meeting that
//! listens on its control socket, found as `emcee cue` finds it. The console is a
//! client like any other: a second one on the same run is welcome, and quitting it
//! leaves the run going.

use std::path::PathBuf;

use crate::console::Left;
use crate::control::client::{Target, find};
use crate::error::{Error, ExitCode};
use crate::printable::printable;

/// `emcee console`, as plain options.
#[derive(Debug, Clone)]
pub(crate) struct ConsoleOptions {
    pub meeting: String,
    pub endpoint: Option<String>,
    /// The user's state directory when absent.
    pub state_dir: Option<PathBuf>,
    /// `--run ID`: which of several runs of the meeting.
    pub run: Option<String>,
}

pub(crate) async fn run(options: ConsoleOptions) -> Result<ExitCode, Error> {
    let target = Target {
        meeting: options.meeting,
        endpoint: options.endpoint,
        state_dir: Some(crate::run::lock::state_dir(options.state_dir.as_deref())),
        run: options.run,
    };
    let socket = find(&target).await?;
    let said = match crate::console::attach(&socket, None).await? {
        Left::Detached => "left the console; the run goes on".to_owned(),
        Left::RunOver(outcome) => format!("the run is over: {}", printable(&outcome)),
    };
    crate::output::print_out(&format!("{said}\n"))?;
    Ok(ExitCode::Success)
}
