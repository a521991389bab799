//! SIGINT, SIGTERM and SIGHUP, watched from the moment a [`Watch`] is made, on a thread
//! of their own. The runtime that does the work runs on one thread; if that thread is
//! busy (rendering a large template, a long stretch of steps that never yield) a
//! signal handled by a task on it would wait for it. A thread that does nothing else
//! sees every signal at once, whatever the work is doing.

use crate::error::Error;

/// Which signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Received {
    Interrupt,
    Terminate,
    /// The terminal went away (a dropped SSH session).
    Hangup,
}

impl std::fmt::Display for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Received::Interrupt => "SIGINT",
            Received::Terminate => "SIGTERM",
            Received::Hangup => "SIGHUP",
        })
    }
}

impl Received {
    #[cfg(unix)]
    fn from_raw(signal: libc::c_int) -> Option<Received> {
        match signal {
            libc::SIGINT => Some(Received::Interrupt),
            libc::SIGTERM => Some(Received::Terminate),
            libc::SIGHUP => Some(Received::Hangup),
            _ => None,
        }
    }
}

/// The signal thread; dropping it stops the thread (the signals stay caught, and are
/// then ignored, as the process is about to end).
pub(crate) struct Watch {
    #[cfg(unix)]
    handle: signal_hook::iterator::Handle,
}

impl Drop for Watch {
    fn drop(&mut self) {
        #[cfg(unix)]
        self.handle.close();
    }
}

/// Calls `handler` on the signal thread for every signal that arrives. SIGHUP is
/// watched only if it was not ignored when the process started: under `nohup` the
/// user asked for the run to outlive the terminal.
pub(crate) fn watch(mut handler: impl FnMut(Received) + Send + 'static) -> Result<Watch, Error> {
    #[cfg(unix)]
    {
        let mut wanted = vec![libc::SIGINT, libc::SIGTERM];
        if !hangup_ignored() {
            wanted.push(libc::SIGHUP);
        }
        let mut signals = signal_hook::iterator::Signals::new(&wanted)
            .map_err(|e| Error::io("cannot watch for signals", e))?;
        let handle = signals.handle();
        std::thread::Builder::new()
            .name("emcee-signals".into())
            .spawn(move || {
                for raw in signals.forever() {
                    if let Some(signal) = Received::from_raw(raw) {
                        handler(signal);
                    }
                }
            })
            .map_err(|e| Error::io("cannot start the signal thread", e))?;
        Ok(Watch { handle })
    }
    #[cfg(not(unix))]
    {
        let _ = &mut handler;
        Ok(Watch {})
    }
}

/// Whether SIGHUP was set to be ignored when the process started (`nohup`), read
/// before anything here installs a handler for it.
#[cfg(unix)]
fn hangup_ignored() -> bool {
    // SAFETY: a null new action makes sigaction only report the current one into
    // `current`, a plain struct it fully writes on success.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGHUP, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction == libc::SIG_IGN
    }
}

/// Signals as a stream for async code: the signal thread forwards each one.
pub(crate) struct Signals {
    receiver: tokio::sync::mpsc::UnboundedReceiver<Received>,
    _watch: Watch,
}

impl Signals {
    pub(crate) fn new() -> Result<Signals, Error> {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let watch = watch(move |signal| {
            let _ = sender.send(signal);
        })?;
        Ok(Signals {
            receiver,
            _watch: watch,
        })
    }

    /// Waits for the next signal.
    pub(crate) async fn recv(&mut self) -> Received {
        match self.receiver.recv().await {
            Some(signal) => signal,
            // The thread never ends while the watch is held.
            None => std::future::pending().await,
        }
    }

    pub(crate) async fn wait(mut self) -> Received {
        self.recv().await
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn signals_reach_the_handler_while_the_caller_is_busy() {
        let (sender, receiver) = std::sync::mpsc::channel();
        let watch = watch(move |signal| {
            let _ = sender.send((signal, std::thread::current().name().map(str::to_owned)));
        })
        .expect("signals watched");
        // SIGHUP goes to this process only, and is caught by the watch (unless the
        // test runner ignores it, in which case the watch does not take it).
        if !hangup_ignored() {
            signal_hook::low_level::raise(libc::SIGHUP).expect("raised");
            let (signal, thread) = receiver
                .recv_timeout(std::time::Duration::from_secs(60))
                .expect("the handler ran");
            assert_eq!(signal, Received::Hangup);
            assert_eq!(thread.as_deref(), Some("emcee-signals"));
        }
        drop(watch);
    }
}
