//! `run --console`: the operator's console started beside the run, in this process,
//! on a thread of its own (drawing never holds up a cue). It reaches the run through
//! the control socket like any other client, so its keys are journaled the same way.

use std::path::PathBuf;

use tokio::sync::oneshot;

use crate::console::DisplayMute;
use crate::error::Error;

/// A console started beside the run.
pub(super) struct Attached {
    left: oneshot::Receiver<Result<(), Error>>,
}

/// Starts the console on this terminal against the run's socket; `mute` silences
/// the run's plain display while it is up.
pub(super) fn spawn(socket: PathBuf, mute: DisplayMute) -> Attached {
    let (tell, left) = oneshot::channel();
    let started = std::thread::Builder::new()
        .name("console".into())
        .spawn(move || {
            let outcome = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::io("cannot start the console", e))
                .and_then(|runtime| runtime.block_on(crate::console::attach(&socket, Some(mute))));
            // Said at once (the screen is given back by now), not when the run ends.
            if let Err(error) = &outcome {
                eprintln!("the console stopped: {error}; the run goes on with plain lines");
            }
            let _ = tell.send(outcome.map(drop));
        });
    if let Err(e) = started {
        eprintln!("cannot start the console: {e}; the run goes on with plain lines");
    }
    Attached { left }
}

impl Attached {
    /// Waits until the console has left the screen (it does a few seconds after the
    /// run's channel closes, or at once after `q`).
    pub(super) async fn left(self) {
        // An error was said when it happened.
        let _ = self.left.await;
    }
}
