//! The run's reports, built from its events: JSON (schema in
//! `schemas/report.schema.json`) and JUnit XML (one test case per step, retries and
//! errors in its body). Both are written whether the run succeeds or fails.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::playbook::step_id::StepId;
use crate::run::{CueTiming, Event, Listener, Outcome, Summary};
use crate::secrets::Secrets;

/// Where to write which report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportTarget {
    Json(PathBuf),
    Junit(PathBuf),
}

impl std::str::FromStr for ReportTarget {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text.split_once('=') {
            Some(("json", path)) if !path.is_empty() => Ok(ReportTarget::Json(path.into())),
            Some(("junit", path)) if !path.is_empty() => Ok(ReportTarget::Junit(path.into())),
            _ => Err(format!("--report {text}: write json=PATH or junit=PATH")),
        }
    }
}

impl ReportTarget {
    pub fn path(&self) -> &Path {
        match self {
            ReportTarget::Json(path) | ReportTarget::Junit(path) => path,
        }
    }
}

/// The JSON report of one run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "emcee run report")]
pub struct Report {
    /// The report format's version.
    pub version: u32,
    /// The run's id, as its journal is named: `<state dir>/runs/<run id>.jsonl`.
    #[serde(default)]
    pub run_id: String,
    /// When the run started (RFC 3339); a resumed run keeps its first start.
    #[serde(default)]
    pub started: String,
    /// When the run ended (RFC 3339); absent when it did not reach its end.
    #[serde(default)]
    pub finished: Option<String>,
    /// The meeting's start as the run counts it (`meeting+10m` cues): when it first
    /// obtained its control token, or as the run it resumed recorded (RFC 3339, in the
    /// playbook's time zone); absent when it never had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_started: Option<String>,
    /// Why the run could not begin: its meeting had not started, had ended, or
    /// refused the credentials; absent when it began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_unavailable: Option<String>,
    /// The meeting's push feed going down (with why) and coming back, in order;
    /// absent when it never went down.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feed: Vec<FeedTurn>,
    /// The playbook file, as given.
    #[serde(default)]
    pub file: String,
    pub playbook: String,
    pub meeting: String,
    pub endpoint: String,
    pub success: bool,
    /// Every step in the order it ended (or was skipped).
    pub steps: Vec<StepReport>,
    /// Every cue, planned against actual.
    pub cues: Vec<CueTiming>,
    /// Every operator command (`emcee cue`, a console), taken or refused, in order;
    /// absent when there was none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operator: Vec<OperatorCommand>,
    pub summary: Option<Summary>,
}

/// A command an operator sent the run, and what the run answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OperatorCommand {
    /// When the run took it (RFC 3339, in the playbook's time zone).
    pub at: String,
    /// The local user who sent it.
    pub user: String,
    /// `cue` or `console`.
    pub via: String,
    /// As typed: `skip 4`, `do mute "Bob Li"`.
    pub command: String,
    /// False when the run refused it.
    pub ok: bool,
    /// The run's answer.
    pub message: String,
}

/// The push feed going down or coming back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FeedTurn {
    /// `down` or `up`.
    pub feed: String,
    /// When the run saw it (RFC 3339, in the playbook's time zone).
    pub at: String,
    /// Why it went down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StepReport {
    pub id: StepId,
    pub name: String,
    /// The action, or absent for a block.
    pub action: Option<String>,
    pub status: StepStatus,
    pub error: Option<String>,
    /// The failure was accepted with `on_error: continue`.
    pub continued: bool,
    pub retries: u32,
    /// Each retry: the attempt and why.
    pub retry_reasons: Vec<String>,
    pub elapsed_ms: u64,
    /// When the step started and ended (RFC 3339, in the playbook's time zone);
    /// absent for a skipped step.
    #[serde(default)]
    pub started: Option<String>,
    #[serde(default)]
    pub finished: Option<String>,
    pub detail: Option<String>,
    /// The file the step is written in, and its line.
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub line: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Ok,
    Failed,
    Skipped,
}

/// Collects the report as the run goes; shared with the code that writes it out.
#[derive(Clone, Default)]
pub struct ReportBuilder(Arc<Mutex<Collected>>);

#[derive(Default)]
struct Collected {
    report: Report,
    /// Retries of steps still running: the step's id and why.
    retries: Vec<(StepId, String)>,
}

impl ReportBuilder {
    pub fn report(&self) -> Report {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .report
            .clone()
    }

    /// Writes every report asked for; the secrets are masked in both, in the report's
    /// values before either is serialized.
    pub fn write(&self, targets: &[ReportTarget], secrets: &Secrets) -> Result<(), Error> {
        // Masking walks the whole report: not for a run that asked for none.
        if targets.is_empty() {
            return Ok(());
        }
        let report = secrets.masked(&self.report());
        for target in targets {
            let text = match target {
                ReportTarget::Json(_) => {
                    serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
                }
                ReportTarget::Junit(_) => junit(&report),
            };
            super::atomic::write(target.path(), &text).map_err(|e| {
                Error::io(
                    format!("cannot write the report {}", target.path().display()),
                    e,
                )
            })?;
        }
        Ok(())
    }
}

impl Listener for ReportBuilder {
    fn on(&mut self, event: &Event) {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Collected { report, retries } = &mut *guard;
        match event {
            Event::RunStarted {
                playbook,
                meeting,
                endpoint,
                file,
                started,
                run_id,
                ..
            } => {
                report.version = 1;
                report.run_id = crate::determinism::varying(run_id.clone());
                report.started = varying_instant(started);
                report.file = file.clone();
                report.playbook = playbook.clone();
                report.meeting = meeting.clone();
                report.endpoint = endpoint.clone();
            }
            Event::MeetingStarted { at, .. } => {
                report.meeting_started = Some(varying_instant(at));
            }
            Event::MeetingUnavailable { error } => {
                report.meeting_unavailable = Some(error.clone());
            }
            Event::FeedDown { at, why } => report.feed.push(FeedTurn {
                feed: "down".into(),
                at: varying_instant(at),
                why: Some(why.clone()),
            }),
            Event::FeedUp { at } => report.feed.push(FeedTurn {
                feed: "up".into(),
                at: varying_instant(at),
                why: None,
            }),
            Event::Retry {
                id,
                attempt,
                attempts,
                reason,
                ..
            } => {
                retries.push((
                    id.clone(),
                    format!("attempt {attempt}/{attempts} after {reason}"),
                ));
            }
            Event::StepSkipped {
                id,
                name,
                reason,
                at,
            } => report.steps.push(StepReport {
                id: id.clone(),
                name: name.clone(),
                action: None,
                status: StepStatus::Skipped,
                error: None,
                continued: false,
                retries: 0,
                retry_reasons: Vec::new(),
                elapsed_ms: 0,
                started: None,
                finished: None,
                detail: Some(reason.clone()),
                file: known(&at.file),
                line: (at.line > 0).then_some(at.line),
            }),
            Event::StepFinished {
                id,
                name,
                action,
                outcome,
                elapsed,
                retries: count,
                detail,
                started,
                finished,
                at,
                ..
            } => {
                let (status, error, continued) = match outcome {
                    Outcome::Ok => (StepStatus::Ok, None, false),
                    Outcome::Failed { error, continued } => {
                        (StepStatus::Failed, Some(error.clone()), *continued)
                    }
                };
                let reasons = retries
                    .iter()
                    .filter(|(step, _)| step == id)
                    .map(|(_, r)| r.clone())
                    .collect();
                retries.retain(|(step, _)| step != id);
                report.steps.push(StepReport {
                    id: id.clone(),
                    name: name.clone(),
                    action: action.map(str::to_owned),
                    status,
                    error,
                    continued,
                    retries: *count,
                    retry_reasons: reasons,
                    elapsed_ms: crate::determinism::varying(
                        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                    ),
                    started: known(started),
                    finished: known(finished),
                    detail: detail.clone(),
                    file: known(&at.file),
                    line: (at.line > 0).then_some(at.line),
                });
            }
            Event::Cue(cue) => report.cues.push(cue.clone()),
            Event::Operator {
                at,
                user,
                via,
                command,
                ok,
                message,
            } => report.operator.push(OperatorCommand {
                at: varying_instant(at),
                user: user.clone(),
                via: via.clone(),
                command: command.clone(),
                ok: *ok,
                message: message.clone(),
            }),
            Event::RunFinished { summary } => {
                report.success = summary.success;
                let finished = varying_instant(&summary.finished);
                report.finished = known(&finished);
                report.summary = Some(Summary {
                    elapsed: crate::determinism::varying(summary.elapsed),
                    finished,
                    ..summary.clone()
                });
            }
            _ => {}
        }
    }
}

/// An RFC 3339 instant of the run, or its placeholder in deterministic output (an
/// empty field, from an older journal, stays empty).
fn varying_instant(text: &str) -> String {
    match text.parse::<jiff::Timestamp>() {
        Ok(at) => format!("{:.3}", crate::determinism::varying(at)),
        Err(_) => text.to_owned(),
    }
}

/// A field a journal from before it existed leaves empty.
fn known(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

/// One test suite for the run, one test case per step.
///
/// A step that failed under `on_error: continue` is a passing test case with the
/// failure in its output: the run went on and its exit code says success, so CI must
/// not turn red on it.
fn junit(report: &Report) -> String {
    use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new(format!("{} (meeting {})", report.playbook, report.meeting));
    if let Some(started) = rfc3339(&report.started) {
        suite.set_timestamp(started);
    }
    if let Some(summary) = &report.summary {
        suite.set_time(summary.elapsed);
    }
    // A step failed inside a block that went on (`on_error: continue`, or a scene an
    // operator played) did not fail the run: CI must not say it did.
    let went_on: Vec<&StepId> = report
        .steps
        .iter()
        .filter(|step| step.continued)
        .map(|step| &step.id)
        .collect();
    let continued = |step: &StepReport| {
        step.continued
            || went_on
                .iter()
                .any(|block| **block != step.id && block.contains(&step.id))
    };
    for step in &report.steps {
        let status = match step.status {
            StepStatus::Ok => TestCaseStatus::success(),
            StepStatus::Failed if continued(step) => TestCaseStatus::success(),
            StepStatus::Skipped => {
                let mut status = TestCaseStatus::skipped();
                if let Some(reason) = &step.detail {
                    status.set_message(reason.clone());
                }
                status
            }
            StepStatus::Failed => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(step.error.clone().unwrap_or_default());
                status.set_type("failed");
                status
            }
        };
        let mut case = TestCase::new(format!("{} {}", step.id, step.name), status);
        case.set_classname(step.action.clone().unwrap_or_else(|| "block".into()));
        case.set_time(Duration::from_millis(step.elapsed_ms));
        if let Some(started) = step.started.as_deref().and_then(rfc3339) {
            case.set_timestamp(started);
        }
        if let Some(file) = &step.file {
            case.extra.insert("file".into(), file.as_str().into());
        }
        if let Some(line) = step.line {
            case.extra.insert("line".into(), line.to_string().into());
        }
        let mut out = String::new();
        if continued(step)
            && let Some(error) = &step.error
        {
            out.push_str(&format!("failed (on_error: continue): {error}\n"));
        }
        if let Some(detail) = &step.detail {
            out.push_str(detail);
            out.push('\n');
        }
        for reason in &step.retry_reasons {
            out.push_str(&format!("retry: {reason}\n"));
        }
        if !out.is_empty() {
            case.set_system_out(out);
        }
        suite.add_test_case(case);
    }
    let mut junit = Junit::new("emcee");
    junit.add_test_suite(suite);
    if !report.operator.is_empty() {
        junit.add_test_suite(operator_suite(report));
    }
    junit.to_string().unwrap_or_default()
}

/// The operator's commands as a test suite of their own, one test case each, so that
/// CI views list them beside the steps: a command taken passes, one refused is
/// skipped with the run's answer. Neither changes whether the run passed.
fn operator_suite(report: &Report) -> quick_junit::TestSuite {
    use quick_junit::{TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new(format!(
        "{} (meeting {}): operator commands",
        report.playbook, report.meeting
    ));
    for command in &report.operator {
        let status = if command.ok {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::skipped();
            status.set_message(format!("refused: {}", command.message));
            status
        };
        let mut case = TestCase::new(
            format!("{} ({}): {}", command.user, command.via, command.command),
            status,
        );
        case.set_classname("operator");
        if let Some(at) = rfc3339(&command.at) {
            case.set_timestamp(at);
        }
        case.set_system_out(format!("{}\n", command.message));
        suite.add_test_case(case);
    }
    suite
}

/// A report's RFC 3339 time as JUnit takes it; `None` for a placeholder or a journal
/// from before times were recorded.
fn rfc3339(text: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(text).ok()
}

/// The report schema, as committed in `schemas/report.schema.json`.
pub fn schema() -> String {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<Report>();
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}
