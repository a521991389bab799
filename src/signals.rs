//! Ctrl-C and SIGTERM, watched from the moment a [`Signals`] is made.

use crate::error::Error;

pub struct Signals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

/// Which signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    Interrupt,
    Terminate,
}

impl std::fmt::Display for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Received::Interrupt => "SIGINT",
            Received::Terminate => "SIGTERM",
        })
    }
}

impl Signals {
    pub fn new() -> Result<Signals, Error> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                terminate: signal(SignalKind::terminate())
                    .map_err(|e| Error::io("cannot watch for SIGTERM", e))?,
                interrupt: signal(SignalKind::interrupt())
                    .map_err(|e| Error::io("cannot watch for SIGINT", e))?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Waits for the next signal.
    pub async fn recv(&mut self) -> Received {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.terminate.recv() => Received::Terminate,
                _ = self.interrupt.recv() => Received::Interrupt,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Received::Interrupt
        }
    }

    pub async fn wait(mut self) -> Received {
        self.recv().await
    }
}
