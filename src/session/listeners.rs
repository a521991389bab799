//! How a run shows itself: the display the user chose (progress bars, plain lines or
//! JSON lines, all or only errors), beside the journal and the report builder.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex, PoisonError};

use crate::clock::SharedClock;
use crate::console::DisplayMute;
use crate::report::{JsonLines, Lines, Terminal};
use crate::run::{Event, Listener};
use crate::secrets::Secrets;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Progress {
    /// Bars on a terminal, plain lines otherwise.
    #[default]
    Auto,
    Always,
    Never,
}

/// Output as text lines or JSON lines: a run's display, and the scheduler's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum LogFormat {
    #[default]
    Text,
    Json,
}

/// What the user asked to see of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct DisplayOptions {
    pub progress: Progress,
    pub log_format: LogFormat,
    pub color: bool,
    /// `-q`: print only errors (failed steps, and the summary of a failed run).
    pub quiet: bool,
}

impl DisplayOptions {
    /// The listener that shows the run on standard output.
    pub(crate) fn listener(self, secrets: &Arc<Secrets>, clock: &SharedClock) -> Box<dyn Listener> {
        let deterministic = crate::determinism::deterministic();
        let terminal = std::io::stdout().is_terminal();
        match (self.log_format, self.progress) {
            (LogFormat::Json, _) => Box::new(
                JsonLines::new(
                    std::io::stdout(),
                    Arc::clone(secrets),
                    Arc::clone(clock),
                    deterministic,
                )
                .quiet(self.quiet),
            ),
            // Only errors: no progress display.
            (LogFormat::Text, _) if self.quiet => Box::new(
                Lines::new(
                    std::io::stdout(),
                    Arc::clone(secrets),
                    Arc::clone(clock),
                    deterministic,
                )
                .quiet(true),
            ),
            (LogFormat::Text, Progress::Always) => {
                Box::new(Terminal::new(Arc::clone(secrets), self.color))
            }
            (LogFormat::Text, Progress::Auto) if terminal && !deterministic => {
                Box::new(Terminal::new(Arc::clone(secrets), self.color))
            }
            _ => Box::new(Lines::new(
                std::io::stdout(),
                Arc::clone(secrets),
                Arc::clone(clock),
                deterministic,
            )),
        }
    }
}

impl DisplayOptions {
    /// The display of a run with a console on the same terminal: plain lines (the
    /// console has the screen), silent while `mute` is on. A summary that comes while
    /// the console is up waits in the [`HeldBack`] until it has given the screen back.
    pub(crate) fn under_console(
        self,
        secrets: &Arc<Secrets>,
        clock: &SharedClock,
        mute: DisplayMute,
    ) -> (Box<dyn Listener>, HeldBack) {
        let plain = DisplayOptions {
            progress: Progress::Never,
            ..self
        };
        let display = Arc::new(Mutex::new(plain.listener(secrets, clock)));
        let held = Arc::new(Mutex::new(None));
        let quiet = Quietable {
            display: Arc::clone(&display),
            mute,
            held: Arc::clone(&held),
        };
        (Box::new(quiet), HeldBack { display, held })
    }
}

/// A display that a console can silence.
struct Quietable {
    display: Arc<Mutex<Box<dyn Listener>>>,
    mute: DisplayMute,
    held: Arc<Mutex<Option<Event>>>,
}

impl Listener for Quietable {
    fn on(&mut self, event: &Event) {
        if !self.mute.muted() {
            lock(&self.display).on(event);
        } else if matches!(event, Event::RunFinished { .. }) {
            *lock(&self.held) = Some(event.clone());
        }
    }
}

/// The run's summary, if it came while a console had the screen.
pub(crate) struct HeldBack {
    display: Arc<Mutex<Box<dyn Listener>>>,
    held: Arc<Mutex<Option<Event>>>,
}

impl HeldBack {
    /// Shows what was held back: called once the console has left.
    pub(crate) fn release(self) {
        let held = lock(&self.held).take();
        if let Some(event) = held {
            lock(&self.display).on(&event);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what reaches the display.
    struct Seen(Arc<Mutex<Vec<String>>>);

    impl Listener for Seen {
        fn on(&mut self, event: &Event) {
            lock(&self.0).push(format!("{event:?}").chars().take(20).collect());
        }
    }

    #[test]
    fn a_console_silences_the_display_and_the_summary_waits_for_it() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let display: Arc<Mutex<Box<dyn Listener>>> =
            Arc::new(Mutex::new(Box::new(Seen(Arc::clone(&seen)))));
        let held = Arc::new(Mutex::new(None));
        let mute = DisplayMute::default();
        let mut quiet = Quietable {
            display: Arc::clone(&display),
            mute: mute.clone(),
            held: Arc::clone(&held),
        };
        let log = |text: &str| Event::Message {
            id: crate::playbook::step_id::StepId::top_level(1),
            level: crate::playbook::action::LogLevel::Info,
            text: text.into(),
        };
        quiet.on(&log("before"));
        mute.set(true);
        quiet.on(&log("during"));
        quiet.on(&Event::RunFinished {
            summary: crate::run::Summary::default(),
        });
        assert_eq!(
            lock(&seen).len(),
            1,
            "nothing shows while the console is up"
        );
        mute.set(false);
        HeldBack { display, held }.release();
        let seen = lock(&seen);
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[1].starts_with("RunFinished"), "{seen:?}");
    }
}
