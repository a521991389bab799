//! The display on a terminal: an overall bar (cue n of N, elapsed), a line per
//! finished step, retries inline, and a sub-bar for fan-out work. Log lines are
//! printed above the bars so they never break them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::describe;
use crate::playbook::step_id::StepId;
use crate::run::{Event, Listener, Outcome};
use crate::secrets::Secrets;

pub struct Terminal {
    multi: MultiProgress,
    overall: ProgressBar,
    fanout: HashMap<StepId, ProgressBar>,
    /// The countdown while the run waits for a cue or a time.
    waiting: Option<ProgressBar>,
    secrets: Arc<Secrets>,
    cues: usize,
    color: bool,
}

impl Terminal {
    pub fn new(secrets: Arc<Secrets>, color: bool) -> Terminal {
        Self::drawing_to(ProgressDrawTarget::stdout(), secrets, color)
    }

    fn drawing_to(target: ProgressDrawTarget, secrets: Arc<Secrets>, color: bool) -> Terminal {
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] step {pos}/{len} {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        overall.enable_steady_tick(Duration::from_millis(120));
        Terminal {
            multi,
            overall,
            fanout: HashMap::new(),
            waiting: None,
            secrets,
            cues: 0,
            color,
        }
    }

    fn print(&self, text: &str, style: &str) {
        let text = self.shown(text);
        let line = if self.color {
            format!("\x1b[{style}m{text}\x1b[0m")
        } else {
            text
        };
        let _ = self.multi.println(line);
    }

    /// Text as the terminal may show it: secrets masked, control characters escaped.
    fn shown(&self, text: &str) -> String {
        crate::printable::printable(&self.secrets.redact(text)).into_owned()
    }
}

impl Terminal {
    /// A spinner with `message` and the time `left`, counting down on its own.
    fn count_down(&mut self, message: String, word: &'static str, left: Duration) {
        if let Some(old) = self.waiting.take() {
            old.finish_and_clear();
        }
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "    {{spinner}} {{msg}} ({word} {{countdown}})"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .with_key(
                "countdown",
                move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let left = left.saturating_sub(state.elapsed());
                    let _ = write!(w, "{}", crate::duration::human(left));
                },
            ),
        );
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(200));
        self.waiting = Some(bar);
    }
}

impl Listener for Terminal {
    fn on(&mut self, event: &Event) {
        match event {
            Event::RunStarted {
                steps, playbook, ..
            } => {
                self.cues = *steps;
                self.overall.set_length(*steps as u64);
                self.overall.set_prefix(self.shown(playbook));
            }
            Event::StepStarted { name, cue, .. } => {
                self.overall.set_position(cue.saturating_sub(1) as u64);
                self.overall.set_message(self.shown(name));
            }
            Event::Waiting { until, left, .. } => {
                let message = format!("waiting for {}", self.shown(until));
                self.count_down(message, "in", *left);
            }
            // The line is printed once; the spinner counts down to giving up.
            Event::MeetingWaiting { left, .. } if self.waiting.is_none() => {
                if let Some(text) = describe(event, self.cues, true) {
                    self.print(&text, "0");
                }
                self.count_down(
                    "waiting for the meeting to start".to_owned(),
                    "gives up in",
                    *left,
                );
            }
            Event::MeetingWaiting { .. } => {}
            Event::Progress {
                id,
                what,
                done,
                total,
                ..
            } => {
                let bar = self.fanout.entry(id.clone()).or_insert_with(|| {
                    let bar = self.multi.add(ProgressBar::new(*total as u64));
                    bar.set_style(
                        ProgressStyle::with_template("    {msg} [{bar:20}] {pos}/{len}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                    );
                    bar.set_message(*what);
                    bar
                });
                bar.set_length(*total as u64);
                bar.set_position(*done as u64);
            }
            Event::StepFinished {
                id,
                cue,
                action,
                outcome,
                ..
            } => {
                if let Some(bar) = self.waiting.take() {
                    bar.finish_and_clear();
                }
                if let Some(bar) = self.fanout.remove(id) {
                    bar.finish_and_clear();
                }
                if action.is_some() {
                    self.overall.set_position(*cue as u64);
                }
                let style = match outcome {
                    Outcome::Ok => "32",
                    Outcome::Failed { .. } => "31",
                };
                if let Some(text) = describe(event, self.cues, true) {
                    self.print(&text, style);
                }
            }
            Event::RunFinished { .. } => {
                self.overall.finish_and_clear();
                if let Some(text) = describe(event, self.cues, true) {
                    self.print(&text, "1");
                }
            }
            other => {
                if matches!(
                    other,
                    Event::Cue(_) | Event::MeetingStarted { .. } | Event::MeetingUnavailable { .. }
                ) && let Some(bar) = self.waiting.take()
                {
                    bar.finish_and_clear();
                }
                let style = if matches!(
                    other,
                    Event::Retry { .. }
                        | Event::FeedDown { .. }
                        | Event::Operator { ok: false, .. }
                ) {
                    "33"
                } else {
                    "0"
                };
                if let Some(text) = describe(other, self.cues, true) {
                    self.print(&text, style);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::MeetingStart;

    fn waiting(left: u64) -> Event {
        Event::MeetingWaiting {
            until: "2026-12-07T10:15:00.000+08:00".into(),
            left: Duration::from_secs(left),
            poll: Duration::from_secs(15),
        }
    }

    #[test]
    fn the_wait_for_the_meeting_counts_down_until_it_starts() {
        let mut terminal =
            Terminal::drawing_to(ProgressDrawTarget::hidden(), Secrets::new(false), false);
        terminal.on(&waiting(1500));
        let spinner = terminal.waiting.clone().expect("a countdown while waiting");
        // Repeated announcements keep the one countdown.
        terminal.on(&waiting(1200));
        assert!(!spinner.is_finished() && terminal.waiting.is_some());
        assert_eq!(spinner.message(), "waiting for the meeting to start");
        terminal.on(&Event::MeetingStarted {
            at: "2026-12-07T09:54:00.000+08:00".into(),
            how: MeetingStart::Waited,
        });
        assert!(
            terminal.waiting.is_none(),
            "the countdown ends with the wait"
        );
        assert!(spinner.is_finished());
    }
}
