//! The operator's console: a full-screen view of a running show, drawn with ratatui,
//! whose keys send operator commands through the run's control channel exactly as
//! `emcee cue` does (so they are journaled and reported the same way). It knows the
//! channel's wire and client, never the run itself.

pub(crate) mod app;
pub(crate) mod keys;
pub(crate) mod ui;
pub(crate) mod view;

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub(crate) use app::{Left, attach};

use crate::error::Error;

/// The switch that keeps a run's plain display silent while a console draws on the
/// same terminal; the console turns it on when it takes the screen and off when it
/// gives it back, whichever way it leaves.
#[derive(Debug, Clone, Default)]
pub(crate) struct DisplayMute(Arc<AtomicBool>);

impl DisplayMute {
    pub(crate) fn set(&self, muted: bool) {
        self.0.store(muted, Ordering::SeqCst);
    }

    pub(crate) fn muted(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The console draws on standard output and reads keys from standard input: both must
/// be a terminal, or it is refused (exit 2) before anything starts.
pub(crate) fn need_terminal() -> Result<(), Error> {
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        Ok(())
    } else {
        Err(Error::Usage("the console needs a terminal".into()))
    }
}
