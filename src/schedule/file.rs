//! The schedule file: jobs of cron expression + time zone + playbook + vars +
//! environment, checked with positions like a playbook. Everything a firing could trip
//! on is refused at load: an invalid playbook, a malformed report, a cron expression
//! that never fires, a secret's value written into the file.

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
    /// Environment variables of this job's runs, over the scheduler's own. Secrets go
    /// by file, never by value: `EMCEE_HOST_PASSWORD_FILE: /etc/emcee/a.pw`. A relative
    /// `*_FILE` path is read from this file's directory. Values are never logged.
    #[serde(default)]
    env: IndexMap<String, Spanned<String>>,
    /// Reports for each run: `json=PATH`, `junit=PATH`. The path may hold `{run_id}`,
    /// `{date}` (the run's start date) and `{job}` (the job's name, made a file name),
    /// so that a firing does not overwrite the last one's report.
    #[serde(default)]
    report: Vec<Spanned<String>>,
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
    /// The environment of its runs (secret file paths, never secret values).
    pub env: Vec<(String, String)>,
    /// `FORMAT=PATH`, with `{job}` filled in; `{run_id}` and `{date}` are left for the
    /// run.
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
                if let Err(why) = crate::session::vars::check_name(name) {
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
            let cron =
                cron.filter(|cron| fires(cron, zone.as_ref(), &job.cron, file, &mut problems));
            let vars: Vec<(String, serde_json::Value)> = job
                .vars
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect();
            if playbook.is_file() {
                check_playbook(&playbook, &vars, &job.playbook, file, &mut problems);
            }
            let env = environment(&job.env, base, file, &mut problems);
            let reports = reports(&job.report, &job.name, file, &mut problems);
            if let (Some(cron), Some(zone)) = (cron, zone) {
                jobs.push(Job {
                    name: job.name.clone(),
                    cron_text: job.cron.value.clone(),
                    cron,
                    zone,
                    zone_name,
                    playbook,
                    vars,
                    env,
                    reports,
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

/// Keeps `cron` (true) unless it has no firing in the next ten years (`0 0 30 2 *`),
/// which is reported: a job that would wait forever is a mistake, not a schedule.
fn fires(
    cron: &croner::Cron,
    zone: Option<&TimeZone>,
    text: &Spanned<String>,
    file: &Arc<SourceFile>,
    problems: &mut Vec<Diagnostic>,
) -> bool {
    let Some(zone) = zone else { return true };
    let now = Timestamp::now().to_zoned(zone.clone());
    let horizon = now
        .checked_add(jiff::Span::new().years(10))
        .unwrap_or_else(|_| now.clone());
    match cron.find_next_occurrence(&now, false) {
        Ok(next) if next <= horizon => true,
        _ => {
            problems.push(
                Diagnostic::new(
                    file,
                    text.span(file),
                    format!("the cron expression `{}` never fires", text.value),
                )
                .with_help(
                    "check the day of the month against the month (there is no 30 February)",
                ),
            );
            false
        }
    }
}

/// A job's playbook, checked as `emcee check` would with the job's vars: a firing must
/// not be the first to find it invalid. Its problems point into the playbook.
fn check_playbook(
    path: &Path,
    vars: &[(String, serde_json::Value)],
    at: &Spanned<String>,
    file: &Arc<SourceFile>,
    problems: &mut Vec<Diagnostic>,
) {
    let known = crate::playbook::KnownVars(vars.iter().map(|(k, _)| k.clone()).collect());
    let checked = crate::playbook::Playbook::load(path)
        .map(|playbook| crate::playbook::check(&playbook, &known));
    match checked {
        Ok(found) => problems.extend(found),
        Err(Error::Invalid(found)) => problems.extend(found),
        Err(other) => problems.push(Diagnostic::new(file, at.span(file), other.to_string())),
    }
}

/// Whether an environment variable's name says it holds a secret's value.
fn names_a_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    !upper.ends_with("_FILE")
        && ["PASSWORD", "TOKEN", "SECRET", "CREDENTIAL", "KEY"]
            .iter()
            .any(|word| upper.contains(word))
}

/// A job's environment: names checked, secrets only by file (which must exist), and
/// relative file paths made absolute from the schedule file's directory.
fn environment(
    env: &IndexMap<String, Spanned<String>>,
    base: &Path,
    file: &Arc<SourceFile>,
    problems: &mut Vec<Diagnostic>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in env {
        let valid = name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            problems.push(Diagnostic::new(
                file,
                value.span(file),
                format!("`{name}` is not an environment variable name (letters, digits and _)"),
            ));
            continue;
        }
        if names_a_secret(name) {
            // The message does not repeat the value: it may be the secret.
            problems.push(
                Diagnostic::new(
                    file,
                    value.span(file),
                    format!("`{name}` would put a secret's value in the schedule file"),
                )
                .with_help(format!(
                    "give {name}_FILE instead: the path of a file only the scheduler's user can read"
                )),
            );
            continue;
        }
        if value.value.contains('\0') {
            problems.push(Diagnostic::new(
                file,
                value.span(file),
                format!("the value of `{name}` holds a NUL character"),
            ));
            continue;
        }
        let mut text = value.value.clone();
        if name.to_ascii_uppercase().ends_with("_FILE") {
            let path = base.join(&value.value);
            if !path.is_file() {
                problems.push(Diagnostic::new(
                    file,
                    value.span(file),
                    format!("`{name}`: no file at {}", path.display()),
                ));
                continue;
            }
            text = std::path::absolute(&path)
                .unwrap_or(path)
                .display()
                .to_string();
        }
        out.push((name.clone(), text));
    }
    out
}

/// A job's `report` entries: `FORMAT=PATH` with known placeholders, `{job}` filled in.
fn reports(
    entries: &[Spanned<String>],
    job: &str,
    file: &Arc<SourceFile>,
    problems: &mut Vec<Diagnostic>,
) -> Vec<String> {
    use crate::report::placeholders;
    let name = placeholders::file_safe(job);
    let mut out = Vec::new();
    for entry in entries {
        let checked = entry
            .value
            .parse::<crate::report::ReportTarget>()
            .map_err(|_| "a report is json=PATH or junit=PATH".to_owned())
            .and_then(|target| {
                placeholders::check(&target.path().to_string_lossy(), placeholders::SCHEDULE)
            });
        match checked {
            Ok(()) => out.push(placeholders::fill(&entry.value, &[("job", &name)])),
            Err(why) => problems.push(
                Diagnostic::new(
                    file,
                    entry.span(file),
                    format!("invalid report `{}`: {why}", entry.value),
                )
                .with_help("e.g. junit=/var/log/emcee/{job}-{date}-{run_id}.xml"),
            ),
        }
    }
    out
}

/// The schedule file's JSON Schema (`schemas/schedule.schema.json`).
pub fn schema() -> String {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    serde_json::to_string_pretty(&generator.into_root_schema_for::<Document>()).unwrap_or_default()
        + "\n"
}
