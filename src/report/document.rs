//! The run's reports, built from its events: JSON (schema in
//! `schemas/report.schema.json`) and JUnit XML (one test case per step, retries and
//! errors in its body). Both are written whether the run succeeds or fails.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::run::{CueTiming, Event, Listener, Outcome, Summary};
use crate::template::Secrets;

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
    pub playbook: String,
    pub meeting: String,
    pub endpoint: String,
    pub success: bool,
    /// Every step in the order it ended (or was skipped).
    pub steps: Vec<StepReport>,
    /// Every cue, planned against actual.
    pub cues: Vec<CueTiming>,
    pub summary: Option<Summary>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StepReport {
    pub id: String,
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
    pub detail: Option<String>,
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
    retries: Vec<(String, String)>,
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
                ..
            } => {
                report.version = 1;
                report.playbook = playbook.clone();
                report.meeting = meeting.clone();
                report.endpoint = endpoint.clone();
            }
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
            Event::StepSkipped { id, name, reason } => report.steps.push(StepReport {
                id: id.clone(),
                name: name.clone(),
                action: None,
                status: StepStatus::Skipped,
                error: None,
                continued: false,
                retries: 0,
                retry_reasons: Vec::new(),
                elapsed_ms: 0,
                detail: Some(reason.clone()),
            }),
            Event::StepFinished {
                id,
                name,
                action,
                outcome,
                elapsed,
                retries: count,
                detail,
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
                    elapsed_ms: super::varying(
                        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                    ),
                    detail: detail.clone(),
                });
            }
            Event::Cue(cue) => report.cues.push(cue.clone()),
            Event::RunFinished { summary } => {
                report.success = summary.success;
                report.summary = Some(Summary {
                    elapsed: super::varying(summary.elapsed),
                    ..summary.clone()
                });
            }
            _ => {}
        }
    }
}

/// One test suite for the run, one test case per step.
fn junit(report: &Report) -> String {
    use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new(format!("{} (meeting {})", report.playbook, report.meeting));
    for step in &report.steps {
        let status = match step.status {
            StepStatus::Ok => TestCaseStatus::success(),
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
                status.set_type(if step.continued {
                    "failed, on_error: continue"
                } else {
                    "failed"
                });
                status
            }
        };
        let mut case = TestCase::new(format!("{} {}", step.id, step.name), status);
        case.set_classname(step.action.clone().unwrap_or_else(|| "block".into()));
        case.set_time(Duration::from_millis(step.elapsed_ms));
        let mut out = String::new();
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
    junit.to_string().unwrap_or_default()
}

/// The report schema, as committed in `schemas/report.schema.json`.
pub fn schema() -> String {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<Report>();
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}
