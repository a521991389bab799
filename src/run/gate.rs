//! The meeting's lifecycle before the first step: the first token call, and what to
//! do when the service answers that the meeting has not started (`111072005`) — ask
//! again every `start_poll` until `start_timeout` while that is the answer, start it
//! with an account, or stop — or that it has ended. The decisions are pure functions
//! ([`answer`], [`next`], [`Stop::message`]); [`open`] carries them out against the
//! client and the run's clock and reports them as events.

use std::time::Duration;

use jiff::Timestamp;

use super::event::{Event, Listener, MeetingStart};
use super::interrupt::Interrupt;
use super::step::{StepFailure, Timeline};
use crate::error::ExitCode;
use crate::mmc::{Account, Client, Failure};
use crate::playbook::NotStarted;

/// How often the waiting line is repeated: often enough to show the run is alive in a
/// log, rarely enough not to fill it.
const ANNOUNCE_EVERY: Duration = Duration::from_secs(5 * 60);

/// What the run does about its meeting before the first step.
pub(crate) struct Gate {
    pub(crate) meeting: String,
    pub(crate) policy: NotStarted,
    pub(crate) poll: Duration,
    /// When to stop waiting for the meeting to start.
    pub(crate) until: Timestamp,
    /// The meeting's start as the journal of the run being resumed recorded it.
    pub(crate) known_start: Option<Timestamp>,
    /// For `not_started: start`.
    pub(crate) account: Option<Account>,
}

/// What a token call said, as the gate reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A token: the meeting is running.
    Open,
    NotStarted,
    Ended,
    /// No answer, or one worth trying again (5xx, 429).
    Transient,
    /// Anything else: a wrong id or password, a locked login…
    Refused,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Go on to the first step.
    Open,
    /// Go on to the first step without an answer: its calls try again under its own
    /// retry policy and time limit, as they always have.
    Hand,
    /// Ask again at this instant.
    Poll(Timestamp),
    /// Start the meeting, then ask again.
    Start,
    Stop(Stop),
}

/// Why the run cannot begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Not started, and `not_started: fail`.
    NotStarted,
    /// Not started by `start_timeout`.
    TimedOut,
    Ended,
    Refused,
}

/// Reads a token call's outcome. A `111072005` means "not started" only for a meeting
/// the run has never had a token for: a resumed run whose journal recorded the start
/// reads it, like `111072006`, as "ended".
pub(crate) fn answer(result: &Result<(), Failure>, known_start: bool) -> Answer {
    match result {
        Ok(()) => Answer::Open,
        Err(failure) if failure.ends_meeting(known_start) => Answer::Ended,
        Err(failure) if failure.is_not_started() => Answer::NotStarted,
        Err(failure) if failure.retryable() => Answer::Transient,
        Err(_) => Answer::Refused,
    }
}

/// The next move for `answer` at `now`. Polls only while the answer is "not started";
/// the last poll is at `until`; `started` says whether the run already tried to start
/// the meeting (after which it waits for the start to take effect, as `wait` does).
pub(crate) fn next(
    policy: NotStarted,
    answer: Answer,
    now: Timestamp,
    poll: Duration,
    until: Timestamp,
    started: bool,
) -> Next {
    match answer {
        Answer::Open => Next::Open,
        Answer::Ended => Next::Stop(Stop::Ended),
        Answer::Refused => Next::Stop(Stop::Refused),
        Answer::Transient => Next::Hand,
        Answer::NotStarted => match policy {
            NotStarted::Fail => Next::Stop(Stop::NotStarted),
            NotStarted::Start if !started => Next::Start,
            NotStarted::Wait | NotStarted::Start if now >= until => Next::Stop(Stop::TimedOut),
            NotStarted::Wait | NotStarted::Start => {
                Next::Poll(now.checked_add(poll).map_or(until, |at| at.min(until)))
            }
        },
    }
}

/// Whether the waiting line is due again, last shown at `last`.
pub(crate) fn announce(last: Option<Timestamp>, now: Timestamp) -> bool {
    last.is_none_or(|last| now.duration_since(last).unsigned_abs() >= ANNOUNCE_EVERY)
}

impl Stop {
    /// What the run says when it stops here: the meeting, the API's answer, and what
    /// to do about it.
    pub(crate) fn message(self, meeting: &str, failure: Option<&Failure>, until: &str) -> String {
        let said = failure.map_or(String::new(), |f| format!(" ({f})"));
        match self {
            Stop::NotStarted => format!(
                "meeting {meeting} has not started{said}; `not_started: fail` stops here. Use `not_started: wait` (or --not-started wait) to wait for it, or `start` to start it with an account"
            ),
            Stop::TimedOut => format!(
                "meeting {meeting} did not start by {until}: the service still answers MMC.111072005 (not started). Have the host start it, use `not_started: start` with an account, or give a longer `start_timeout`"
            ),
            Stop::Ended => format!(
                "meeting {meeting}: the meeting has ended{said}; there is nothing to run in it. Check the meeting id, or run against the next meeting"
            ),
            Stop::Refused => match failure.and_then(Failure::code) {
                Some("111072065") => format!(
                    "meeting {meeting}: the meeting id or the host password is wrong{said}; not tried again, since repeated failed logins lock the meeting"
                ),
                _ => format!("meeting {meeting} cannot be used{said}"),
            },
        }
    }
}

impl Gate {
    /// Asks for the meeting until it is running, as the policy says; its start on
    /// success, or `None` when the API did not answer and the first step is left to
    /// try (the start is then the client's first token). A stop is reported as
    /// [`Event::MeetingUnavailable`] and fails with exit 3.
    pub(crate) async fn open(
        &self,
        client: &Client,
        timeline: &Timeline,
        listener: &mut dyn Listener,
        interrupt: &Interrupt,
    ) -> Result<Option<Timestamp>, StepFailure> {
        let clock = &timeline.clock;
        let mut started = false;
        let mut announced: Option<Timestamp> = None;
        loop {
            let result = client.probe().await;
            let now = clock.now();
            let said = answer(&result, self.known_start.is_some());
            let failure = result.err();
            match next(self.policy, said, now, self.poll, self.until, started) {
                Next::Open => {
                    let (at, how) = match self.known_start {
                        Some(at) => (at, MeetingStart::Resumed),
                        None if started => (now, MeetingStart::StartedByRun),
                        None if announced.is_some() => (now, MeetingStart::Waited),
                        None => (now, MeetingStart::Running),
                    };
                    // Exact even in deterministic output, so a resumed run reads it back.
                    let shown = at
                        .to_zoned(timeline.zone.clone())
                        .strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
                        .to_string();
                    listener.on(&Event::MeetingStarted { at: shown, how });
                    return Ok(Some(at));
                }
                Next::Poll(at) => {
                    if announce(announced, now) {
                        announced = Some(now);
                        listener.on(&Event::MeetingWaiting {
                            until: timeline.show(self.until),
                            left: crate::determinism::varying(
                                self.until.duration_since(now).unsigned_abs(),
                            ),
                            poll: self.poll,
                        });
                    }
                    tokio::select! {
                        () = clock.sleep_until(at) => {}
                        () = interrupt.wait() => {
                            let origin = interrupt.received().unwrap_or(super::interrupt::Origin::Signal(crate::signals::Received::Interrupt));
                            let message = format!("interrupted by {origin} while waiting for meeting {} to start", self.meeting);
                            let mut failure = Self::stop(listener, message);
                            failure.exit = origin.exit_code();
                            return Err(failure);
                        }
                    }
                }
                Next::Start => {
                    started = true;
                    let Some(account) = &self.account else {
                        // `check` refuses `start` without an account; `--not-started` may ask.
                        let message = format!(
                            "meeting {} has not started, and there is no `account` under `meeting` to start it with: add one, or wait for it (`not_started: wait`)",
                            self.meeting
                        );
                        return Err(Self::stop(listener, message));
                    };
                    if let Err(failure) = client.start_meeting(account).await {
                        let message = format!(
                            "meeting {}: could not start it with the account: {failure}. Check the account's name and password, and that the account may start this meeting",
                            self.meeting
                        );
                        return Err(Self::stop(listener, message));
                    }
                    listener.on(&Event::Message {
                        id: super::event::StepId::run(),
                        level: crate::playbook::action::LogLevel::Info,
                        text: format!("meeting {} was not started: started it", self.meeting),
                    });
                }
                Next::Hand => return Ok(self.known_start),
                Next::Stop(stop) => {
                    let message =
                        stop.message(&self.meeting, failure.as_ref(), &timeline.show(self.until));
                    return Err(Self::stop(listener, message));
                }
            }
        }
    }

    fn stop(listener: &mut dyn Listener, message: String) -> StepFailure {
        listener.on(&Event::MeetingUnavailable {
            error: message.clone(),
        });
        StepFailure {
            exit: ExitCode::Unreachable,
            ..StepFailure::new(message)
        }
    }
}

/// When waiting for the meeting stops, for a run starting at `run_start`:
/// `start_timeout` after it when the playbook gives one; else 15 minutes after the
/// first top-level cue at a time of day or a date (`first_timed`, resolved) while that
/// is still ahead, or 30 minutes after the run's start without one (or once it passed).
pub(crate) fn wait_until(
    run_start: Timestamp,
    timeout: Option<crate::duration::Duration>,
    first_timed: Option<Timestamp>,
) -> Timestamp {
    let after = |at: Timestamp, minutes| {
        at.checked_add(jiff::SignedDuration::from_mins(minutes))
            .unwrap_or(Timestamp::MAX)
    };
    match (timeout, first_timed.map(|cue| after(cue, 15))) {
        (Some(timeout), _) => run_start
            .checked_add(timeout.signed())
            .unwrap_or(Timestamp::MAX),
        (None, Some(until)) if until > run_start => until,
        (None, _) => after(run_start, 30),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmc::FailureKind;

    fn at(text: &str) -> Timestamp {
        format!("2026-11-22T{text}Z").parse().unwrap()
    }

    fn refused(code: &str) -> Result<(), Failure> {
        Err(Failure {
            call: "GET /v1/mmc/control/conferences/token".into(),
            kind: FailureKind::Http {
                status: 400,
                code: Some(code.into()),
                msg: None,
                retry_after: None,
                request_id: None,
            },
        })
    }

    const POLL: Duration = Duration::from_secs(15);

    #[test]
    fn not_started_is_waited_for_only_while_that_is_the_answer() {
        let until = at("10:15:00");
        let now = at("09:50:00");
        let not_started = answer(&refused("MMC.111072005"), false);
        assert_eq!(not_started, Answer::NotStarted);
        assert_eq!(
            next(NotStarted::Wait, not_started, now, POLL, until, false),
            Next::Poll(at("09:50:15"))
        );
        // The last poll is at the timeout, and after it the wait is over.
        assert_eq!(
            next(
                NotStarted::Wait,
                not_started,
                at("10:14:50"),
                POLL,
                until,
                false
            ),
            Next::Poll(until)
        );
        assert_eq!(
            next(NotStarted::Wait, not_started, until, POLL, until, false),
            Next::Stop(Stop::TimedOut)
        );
        // Any other refusal ends the wait: a wrong password is never asked again.
        let wrong = answer(&refused("MMC.111072065"), false);
        assert_eq!(wrong, Answer::Refused);
        assert_eq!(
            next(NotStarted::Wait, wrong, now, POLL, until, false),
            Next::Stop(Stop::Refused)
        );
        assert_eq!(
            next(NotStarted::Wait, Answer::Open, now, POLL, until, false),
            Next::Open
        );
    }

    #[test]
    fn start_starts_once_then_waits_and_fail_stops_at_once() {
        let (now, until) = (at("09:50:00"), at("10:15:00"));
        let not_started = Answer::NotStarted;
        assert_eq!(
            next(NotStarted::Start, not_started, now, POLL, until, false),
            Next::Start
        );
        assert_eq!(
            next(NotStarted::Start, not_started, now, POLL, until, true),
            Next::Poll(at("09:50:15"))
        );
        assert_eq!(
            next(NotStarted::Fail, not_started, now, POLL, until, false),
            Next::Stop(Stop::NotStarted)
        );
    }

    #[test]
    fn not_started_after_a_known_start_and_closed_mean_ended() {
        assert_eq!(answer(&refused("MMC.111072006"), false), Answer::Ended);
        assert_eq!(answer(&refused("MMC.111072005"), true), Answer::Ended);
        assert_eq!(
            next(
                NotStarted::Wait,
                Answer::Ended,
                at("09:50:00"),
                POLL,
                at("10:15:00"),
                false
            ),
            Next::Stop(Stop::Ended)
        );
        let transient = Err(Failure {
            call: "GET /x".into(),
            kind: FailureKind::Transport("reset".into()),
        });
        assert_eq!(answer(&transient, false), Answer::Transient);
        assert_eq!(
            next(
                NotStarted::Wait,
                Answer::Transient,
                at("09:50:00"),
                POLL,
                at("10:15:00"),
                false
            ),
            Next::Hand,
            "no answer is the first step's to retry, under its own limit"
        );
    }

    #[test]
    fn messages_name_the_meeting_the_code_and_what_to_do() {
        let failure = refused("MMC.111072065").err().unwrap();
        let wrong = Stop::Refused.message("914044873", Some(&failure), "10:15");
        assert!(
            wrong.contains("914044873") && wrong.contains("111072065"),
            "{wrong}"
        );
        assert!(wrong.contains("host password is wrong"), "{wrong}");
        let timed_out = Stop::TimedOut.message("914044873", None, "10:15");
        assert!(timed_out.contains("did not start by 10:15") && timed_out.contains("111072005"));
        assert!(timed_out.contains("start_timeout"));
        let fail = Stop::NotStarted.message("914044873", None, "10:15");
        assert!(fail.contains("has not started") && fail.contains("not_started: wait"));
        assert!(
            Stop::Ended
                .message("914044873", None, "")
                .contains("the meeting has ended")
        );
    }

    #[test]
    fn the_timeout_is_given_or_after_the_first_timed_cue_or_half_an_hour() {
        let start = at("09:50:00");
        assert_eq!(
            wait_until(start, Some("45m".parse().unwrap()), Some(at("10:00:00"))),
            at("10:35:00")
        );
        assert_eq!(
            wait_until(start, None, Some(at("10:00:00"))),
            at("10:15:00")
        );
        assert_eq!(wait_until(start, None, None), at("10:20:00"));
        // A first cue long past (a late start) does not end the wait at once.
        assert_eq!(
            wait_until(start, None, Some(at("09:00:00"))),
            at("10:20:00")
        );
    }

    #[test]
    fn the_waiting_line_comes_again_every_five_minutes() {
        assert!(announce(None, at("09:50:00")));
        assert!(!announce(Some(at("09:50:00")), at("09:54:59")));
        assert!(announce(Some(at("09:50:00")), at("09:55:00")));
    }
}
