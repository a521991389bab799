//! The executor through the library, without the binary: small playbooks run against
//! the in-process emulator on virtual time, their events heard and the meeting read
//! back from the emulator.

use std::sync::Arc;

use serde_json::{Value, json};

use super::event::{Event, Listener, Outcome};
use super::executor::{Counts, Executor};
use super::step::{StepDefaults, StepFailure, Timeline};
use crate::duration::Duration;
use crate::meeting::{Api, MeetingId};
use crate::mmc::{Client, Credentials};
use crate::playbook::{Playbook, RetrySpec};
use crate::secrets::Secrets;
use crate::sim::{MeetingView, Seed, SimHandle, SimOptions};
use crate::source::SourceFile;
use crate::template::{Context, Engine};

const MEETING: &str = "914044873";
const PASSWORD: &str = "host-password";

/// Every event of a run, in order; with a script, an operator who acts on them.
#[derive(Default)]
struct Heard(Vec<Event>, Option<Script>);

/// An operator's commands, sent as the run's events come: the operator, and what to
/// send on each event.
type Script = (Arc<super::operator::Operator>, Acts);

/// What an operator sends on each of the run's events.
type Acts = Box<dyn FnMut(&Event, &Arc<super::operator::Operator>) + Send>;

impl Listener for Heard {
    fn on(&mut self, event: &Event) {
        self.0.push(event.clone());
        if let Some((operator, script)) = &mut self.1 {
            script(event, operator);
        }
    }
}

/// What a rehearsed playbook ended with.
struct Rehearsed {
    result: Result<(), StepFailure>,
    events: Vec<Event>,
    counts: Counts,
    meeting: MeetingView,
}

impl Rehearsed {
    /// How the step `id` finished: its outcome, detail line and retries.
    fn finished(&self, id: &str) -> (&Outcome, Option<&str>, u32) {
        self.events
            .iter()
            .find_map(|event| match event {
                Event::StepFinished {
                    id: finished,
                    outcome,
                    detail,
                    retries,
                    ..
                } if finished.to_string() == id => Some((outcome, detail.as_deref(), *retries)),
                _ => None,
            })
            .unwrap_or_else(|| panic!("step {id} never finished: {:?}", self.events))
    }

    fn failed_with(&self, id: &str) -> String {
        match self.finished(id).0 {
            Outcome::Failed { error, .. } => error.clone(),
            other => panic!("step {id} did not fail: {other:?}"),
        }
    }

    fn ok(&self, id: &str) -> bool {
        matches!(self.finished(id).0, Outcome::Ok)
    }
}

/// Runs `steps` (YAML, indented as the items of `steps:`) against the emulator seeded
/// with `rehearsal` (as a playbook's `rehearsal:` writes it), after `faults` (the body
/// of `PUT /_sim/faults`) are set.
async fn rehearse(steps: &str, rehearsal: &str, faults: Option<Value>) -> Rehearsed {
    rehearse_playing(steps, rehearsal, faults, &[]).await
}

/// What an operator plays after the playbook's steps, as the run would between steps.
enum Play {
    /// A scene of the playbook, under this id.
    Scene(&'static str, super::event::StepId),
    /// `do ACTION [SELECTOR]`, under this id.
    Do(&'static str, Option<&'static str>, super::event::StepId),
    /// Not a play: the run's `--tags` and `--start-at`, set before it starts.
    Select(crate::playbook::select::Selection),
}

/// As [`rehearse`], then `plays` in turn; the first that fails ends the run with it.
async fn rehearse_playing(
    steps: &str,
    rehearsal: &str,
    faults: Option<Value>,
    plays: &[Play],
) -> Rehearsed {
    rehearse_operated(steps, rehearsal, faults, plays, None).await
}

/// As [`rehearse_playing`], with an operator acting on the run's events.
async fn rehearse_operated(
    steps: &str,
    rehearsal: &str,
    faults: Option<Value>,
    plays: &[Play],
    script: Option<Acts>,
) -> Rehearsed {
    let text = format!(
        "name: Unit\nmeeting: {{ id: \"{MEETING}\", host_password: {PASSWORD} }}\ntimezone: UTC\nsteps:\n{steps}rehearsal:\n{rehearsal}"
    );
    // As the binary does before any HTTP client is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let playbook = Playbook::parse(SourceFile::new("unit.yaml", text)).expect("a playbook");
    let mut seed = playbook.doc.rehearsal.clone().expect("a rehearsal").value;
    seed.id = Some(MeetingId(MEETING.to_owned()));
    seed.host_password = Some(PASSWORD.to_owned());
    let clock = crate::clock::for_run(true, None);
    let sim = crate::sim::start_with(
        Seed {
            meetings: vec![seed],
            ..Seed::default()
        },
        SimOptions {
            clock: Arc::clone(&clock),
            ..SimOptions::default()
        },
    )
    .await
    .expect("the emulator starts");
    if let Some(faults) = faults {
        set_faults(&sim, &faults).await;
    }
    let secrets = Secrets::new(false);
    let engine = Engine::new(Arc::clone(&secrets), Arc::clone(&clock));
    let client = Client::new(
        sim.base_url(),
        MEETING,
        Credentials::Password(PASSWORD.into()),
        Arc::clone(&clock),
        Arc::new(|_: &str| {}),
    )
    .expect("a client");
    let defaults = StepDefaults {
        retry: RetrySpec {
            attempts: 3,
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        },
        timeout: Duration::from_secs(30),
    };
    let timeline = Timeline {
        start: clock.now(),
        meeting_start: None,
        clock,
        zone: jiff::tz::TimeZone::UTC,
    };
    let mut heard = Heard::default();
    let operator = script.map(|script| {
        let operator = super::operator::Operator::for_playbook(&playbook.doc);
        heard.1 = Some((Arc::clone(&operator), script));
        operator
    });
    let (result, counts) = {
        let mut executor = Executor::new(
            Arc::new(client),
            &engine,
            Arc::clone(&playbook.file),
            &mut heard,
            Context::new(),
            defaults,
            timeline,
        );
        executor.scenes(&playbook.doc.scenes);
        if let Some(operator) = operator {
            let interrupt = super::interrupt::Interrupt::new();
            operator.interrupt_with(Arc::clone(&interrupt));
            executor.interrupt_with(interrupt);
            executor.operator(operator);
        }
        for play in plays {
            if let Play::Select(selection) = play {
                executor.select(selection.clone());
            }
        }
        let mut result = executor.run(&playbook.doc.steps.value).await;
        for play in plays {
            if result.is_err() {
                break;
            }
            result = match play {
                Play::Scene(name, id) => executor.play_scene(name, id.clone()).await,
                Play::Do(action, selector, id) => {
                    let (file, step) =
                        crate::playbook::adhoc::one_off(action, *selector, None, None)
                            .expect("a one-off");
                    executor.play_step(file, &step, id.clone()).await
                }
                Play::Select(_) => continue,
            };
        }
        (result, executor.counts())
    };
    let meeting = sim.meeting(MEETING).expect("the meeting");
    sim.stop().await;
    Rehearsed {
        result,
        events: heard.0,
        counts,
        meeting,
    }
}

/// Sets the emulator's faults as a test harness would, through its admin API.
async fn set_faults(sim: &SimHandle, faults: &Value) {
    let http = reqwest::Client::builder()
        .tls_certs_only(Vec::new())
        .build()
        .expect("an HTTP client");
    let answer = http
        .put(format!("{}/_sim/faults", sim.base_url()))
        .json(faults)
        .send()
        .await
        .expect("the emulator answers");
    assert!(answer.status().is_success(), "{answer:?}");
}

const CLASS: &str = "  participants:\n    - { name: Alice Zhang, role: host }\n    - { name: Bob Li, hand: raised }\n    - { name: Carol Wu, hand: raised }\n";

#[tokio::test]
async fn a_failed_step_is_rescued_and_always_runs_after() {
    let run = rehearse(
        "  - steps:\n      - broadcast: Nobody Known\n    rescue:\n      - lock: {}\n    always:\n      - start_recording: {}\n",
        CLASS,
        None,
    )
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(run.failed_with("1.1").contains("no participant matches"));
    assert!(run.ok("1.rescue.1") && run.ok("1.always.1"));
    assert!(run.ok("1"), "a rescued block succeeds");
    assert!(run.meeting.locked && run.meeting.recording);
    assert_eq!((run.counts.ok, run.counts.failed), (2, 1));
}

#[tokio::test]
async fn always_runs_after_a_failure_nothing_rescues() {
    let run = rehearse(
        "  - steps:\n      - assert: [\"1 == 2\"]\n      - lock: {}\n    always:\n      - start_recording: {}\n  - start_live: {}\n",
        CLASS,
        None,
    )
    .await;
    let failure = run.result.as_ref().expect_err("the run fails");
    assert_eq!(failure.message, "assertion failed: 1 == 2");
    assert!(run.ok("1.always.1"));
    assert!(run.meeting.recording, "`always` ran");
    assert!(!run.meeting.locked, "the step after the failure did not");
    assert!(!run.meeting.live, "the steps after the block did not");
}

#[tokio::test]
async fn a_call_answered_503_is_retried() {
    let lock = Api::Lock.path();
    let run = rehearse(
        "  - lock: {}\n",
        CLASS,
        Some(json!({"rules": [
            {"path": lock, "nth": 1, "error": {"status": 503, "code": "MMC.111070003"}}
        ]})),
    )
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    let (_, detail, retries) = run.finished("1");
    assert_eq!((detail, retries), (Some("locked"), 1));
    assert_eq!(run.counts.retries, 1);
    let retry = run
        .events
        .iter()
        .find_map(|event| match event {
            Event::Retry {
                attempt, reason, ..
            } => Some((*attempt, reason.clone())),
            _ => None,
        })
        .expect("a retry is reported");
    assert_eq!(retry.0, 2);
    assert!(retry.1.contains("503"), "{}", retry.1);
    assert!(run.meeting.locked);
}

#[tokio::test]
async fn a_selector_matching_nobody_names_who_is_online() {
    let run = rehearse("  - roll_call: Nobody Known\n", CLASS, None).await;
    let error = run.failed_with("1");
    assert!(
        error.starts_with("no participant matches `Nobody Known`;"),
        "{error}"
    );
    for online in ["Alice Zhang", "Bob Li", "Carol Wu"] {
        assert!(error.contains(online), "{error}");
    }
    assert_eq!(run.meeting.roll_call, None);
}

#[tokio::test]
async fn lower_all_hands_reads_back_and_finishes_a_lost_update() {
    let batch = Api::BatchHands.path();
    let run = rehearse(
        "  - lower_all_hands: {}\n    register: lowered\n  - assert: [\"lowered.lowered == 2\", \"lowered.rounds == 2\"]\n",
        CLASS,
        // The first batch call is answered but not applied: only reading back shows it.
        Some(json!({"rules": [{"path": batch, "nth": 1, "ignore": true}]})),
    )
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(run.ok("2"), "two hands lowered in two rounds");
    assert!(run.meeting.participants.iter().all(|p| !p.hand));
}

#[tokio::test]
async fn a_mass_change_to_several_reports_its_progress() {
    let run = rehearse("  - mute: { role: guest, all: true }\n", CLASS, None).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(run.finished("1").1, Some("muted Bob Li, Carol Wu"));
    let progress: Vec<(usize, usize)> = run
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Progress { done, total, .. } => Some((*done, *total)),
            _ => None,
        })
        .collect();
    assert_eq!(progress, [(1, 2), (2, 2)]);
    let muted: Vec<&str> = run
        .meeting
        .participants
        .iter()
        .filter(|p| p.mute)
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(muted, ["Bob Li", "Carol Wu"]);
}

mod operator;
mod scenes;
