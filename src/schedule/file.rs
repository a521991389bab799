//! The schedule file: jobs of cron expression + time zone + playbook + vars, checked
//! with positions like a playbook.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::duration::Duration;
use crate::error::{Diagnostic, Error};
use crate::node::Node;
use crate::source::SourceFile;
use crate::yaml::{self, Spanned};

/// The schedule as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "emcee schedule")]
struct Document {
    /// The time zone of jobs that do not name one; the system's when absent.
    #[serde(default)]
    timezone: Option<Spanned<String>>,
    /// A firing reached later than this (the machine slept) still runs; later ones are
    /// skipped and logged. 5m when absent.
    #[serde(default)]
    catch_up: Option<Duration>,
    jobs: Vec<Spanned<JobDoc>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct JobDoc {
    /// Shown in logs.
    name: String,
    /// Five fields: minute hour day-of-month month day-of-week, e.g. `50 9 * * 1`.
    cron: Spanned<String>,
    /// IANA time zone the cron expression is read in.
    #[serde(default)]
    timezone: Option<Spanned<String>>,
    /// The playbook, relative to this file.
    playbook: Spanned<String>,
    /// Variables, as `-e` would give them.
    #[serde(default)]
    vars: IndexMap<String, Spanned<Node>>,
    /// Reports for each run: `json=PATH`, `junit=PATH`.
    #[serde(default)]
    report: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub cron_text: String,
    cron: croner::Cron,
    pub zone: TimeZone,
    pub zone_name: String,
    pub playbook: PathBuf,
    /// Passed to the run with `-e`, keeping their types.
    pub vars: Vec<(String, serde_json::Value)>,
    pub reports: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ScheduleFile {
    pub path: PathBuf,
    pub jobs: Vec<Job>,
    pub catch_up: Duration,
}

impl Job {
    /// The first firing strictly after `after`.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let zoned = after.to_zoned(self.zone.clone());
        self.cron
            .find_next_occurrence(&zoned, false)
            .ok()
            .map(|z| z.timestamp())
    }
}

impl ScheduleFile {
    pub fn load(path: &Path) -> Result<ScheduleFile, Error> {
        let file = SourceFile::read(path)?;
        Self::parse(&file, path)
    }

    pub fn parse(file: &Arc<SourceFile>, path: &Path) -> Result<ScheduleFile, Error> {
        let doc: Document = yaml::parse(file)?;
        let mut problems = Vec::new();
        let zone_of = |name: &Spanned<String>, problems: &mut Vec<Diagnostic>| match TimeZone::get(
            &name.value,
        ) {
            Ok(zone) => Some(zone),
            Err(_) => {
                problems.push(
                    Diagnostic::new(
                        file,
                        name.span(file),
                        format!("unknown time zone `{}`", name.value),
                    )
                    .with_help("use an IANA name such as Asia/Shanghai"),
                );
                None
            }
        };
        let default_zone = doc
            .timezone
            .as_ref()
            .and_then(|z| zone_of(z, &mut problems));
        let base = path.parent().unwrap_or(Path::new(""));
        let mut jobs = Vec::new();
        for job in &doc.jobs {
            let cron = match croner::parser::CronParser::builder()
                .build()
                .parse(&job.cron.value)
            {
                Ok(cron) => Some(cron),
                Err(error) => {
                    problems.push(
                        Diagnostic::new(file, job.cron.span(file), format!("invalid cron expression `{}`: {error}", job.cron.value))
                            .with_help("five fields: minute hour day-of-month month day-of-week, e.g. \"50 9 * * 1\""),
                    );
                    None
                }
            };
            let (zone, zone_name) = match &job.timezone {
                Some(name) => (zone_of(name, &mut problems), name.value.clone()),
                None => match (&default_zone, &doc.timezone) {
                    (Some(zone), Some(name)) => (Some(zone.clone()), name.value.clone()),
                    _ => (
                        Some(TimeZone::system()),
                        TimeZone::system().iana_name().unwrap_or("UTC").to_owned(),
                    ),
                },
            };
            // A name `-e` refuses would fail every firing.
            for (name, value) in &job.vars {
                if let Err(why) = crate::template::vars::check_name(name) {
                    problems.push(Diagnostic::new(
                        file,
                        value.span(file),
                        format!("vars: `{name}`: {why}"),
                    ));
                }
            }
            // Absolute, so that the runs (and a crontab) find it from any directory.
            let playbook = match std::fs::canonicalize(base.join(&job.playbook.value)) {
                Ok(path) if path.is_file() => path,
                _ => {
                    problems.push(Diagnostic::new(
                        file,
                        job.playbook.span(file),
                        format!(
                            "no playbook at {}",
                            base.join(&job.playbook.value).display()
                        ),
                    ));
                    PathBuf::new()
                }
            };
            if let (Some(cron), Some(zone)) = (cron, zone) {
                jobs.push(Job {
                    name: job.name.clone(),
                    cron_text: job.cron.value.clone(),
                    cron,
                    zone,
                    zone_name,
                    playbook,
                    vars: job
                        .vars
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_json()))
                        .collect(),
                    reports: job.report.clone(),
                });
            }
        }
        if !problems.is_empty() {
            return Err(Error::Invalid(problems));
        }
        Ok(ScheduleFile {
            path: path.to_owned(),
            jobs,
            catch_up: doc.catch_up.unwrap_or(Duration::from_secs(300)),
        })
    }
}

/// The schedule file's JSON Schema (`schemas/schedule.schema.json`).
pub fn schema() -> String {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    serde_json::to_string_pretty(&generator.into_root_schema_for::<Document>()).unwrap_or_default()
        + "\n"
}
