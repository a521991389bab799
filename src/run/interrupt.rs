//! SIGINT, SIGTERM and SIGHUP during a run, or an operator's `abort`: the first stops
//! the current step, lets `always` steps run (for a bounded time), and ends the run so
//! that the journal, the reports and the lock are dealt with; a second signal exits at
//! once. Signals are acted on from the signal thread, so a busy runtime delays neither.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::error::Error;
use crate::signals::{Received, Watch};

/// How long `always` steps may take once the run is interrupted.
pub(crate) const ALWAYS_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// What stopped the run: a signal, or an operator's `abort` (exit 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    Signal(Received),
    /// `abort` from the control channel, by this local user.
    Operator(String),
}

impl std::fmt::Display for Origin {
    /// As in "interrupted by SIGTERM", "interrupted by an operator's abort (alice)".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Signal(signal) => signal.fmt(f),
            Origin::Operator(user) => write!(f, "an operator's abort ({user})"),
        }
    }
}

impl Origin {
    /// The exit code of a run stopped this way.
    pub(crate) fn exit_code(&self) -> crate::error::ExitCode {
        match self {
            Origin::Signal(signal) => exit_code(*signal),
            Origin::Operator(_) => crate::error::ExitCode::Aborted,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Interrupt {
    received: Mutex<Option<Origin>>,
    notify: Notify,
}

impl Interrupt {
    pub(crate) fn new() -> Arc<Interrupt> {
        Arc::new(Interrupt::default())
    }

    /// What interrupted the run, if anything has.
    pub(crate) fn received(&self) -> Option<Origin> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Marks the run interrupted (for tests and for the signal task).
    pub(crate) fn raise(&self, signal: Received) {
        self.raise_origin(Origin::Signal(signal));
    }

    /// Marks the run aborted by an operator: it stops as on SIGTERM, and exits 5.
    pub(crate) fn raise_by_operator(&self, user: &str) {
        self.raise_origin(Origin::Operator(user.to_owned()));
    }

    fn raise_origin(&self, origin: Origin) {
        let mut received = self.received.lock().unwrap_or_else(|e| e.into_inner());
        if received.is_none() {
            *received = Some(origin);
        }
        self.notify.notify_waiters();
    }

    /// Resolves once the run is interrupted.
    pub(crate) async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.received().is_some() {
                return;
            }
            notified.await;
        }
    }

    /// Listens for signals for the rest of the run: the first interrupts it, a second
    /// exits the process at once with the signal's exit code. Dropping the watch stops
    /// listening.
    pub(crate) fn listen(self: &Arc<Self>) -> Result<Watch, Error> {
        let interrupt = Arc::clone(self);
        crate::signals::watch(move |signal| {
            if interrupt.received().is_some() {
                std::process::exit(exit_code(signal).code());
            }
            // Raised before anything is said: saying it may fail (the terminal that hung
            // up), and the run must stop all the same.
            interrupt.raise(signal);
            tracing::warn!(
                "{signal}: stopping after the current step's `always` steps; again to exit at once"
            );
        })
    }
}

pub(crate) fn exit_code(signal: Received) -> crate::error::ExitCode {
    match signal {
        Received::Interrupt => crate::error::ExitCode::Interrupted,
        Received::Terminate => crate::error::ExitCode::Terminated,
        Received::Hangup => crate::error::ExitCode::HungUp,
    }
}
