//! How a run shows itself: the display the user chose (progress bars, plain lines or
//! JSON lines, all or only errors), beside the journal and the report builder.

use std::io::IsTerminal;
use std::sync::Arc;

use crate::clock::SharedClock;
use crate::report::{JsonLines, Lines, Terminal};
use crate::run::Listener;
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
