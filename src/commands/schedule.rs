//! `emcee schedule FILE`: run the jobs of a schedule file at their times, one child
//! `emcee run` per firing; or print the equivalent crontab, or the next firings.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::clock::{SharedClock, SystemClock};
use crate::commands::run::LogFormat;
use crate::error::{Error, ExitCode};
use crate::schedule::ScheduleFile;

#[derive(Debug, Clone)]
pub struct ScheduleOptions {
    pub file: PathBuf,
    pub print_crontab: bool,
    pub next: Option<usize>,
    pub log_format: LogFormat,
}

/// Log lines of the scheduler, plain or JSON.
fn log(
    format: LogFormat,
    clock: &SharedClock,
    event: &str,
    fields: serde_json::Value,
    text: String,
) {
    let line = match format {
        LogFormat::Json => {
            let mut value = json!({"ts": format!("{:.3}", clock.now()), "event": event});
            if let (Some(map), Some(extra)) = (value.as_object_mut(), fields.as_object()) {
                map.extend(extra.clone());
            }
            value.to_string()
        }
        LogFormat::Text => format!("{:.3} {text}", clock.now()),
    };
    let _ = crate::cli::print_out(&format!("{line}\n"));
}

/// Most firings `--next` lists: a year of a job every hour, well under what would
/// strain memory or time.
pub const MAX_NEXT: usize = 10_000;

pub async fn run(options: ScheduleOptions) -> Result<ExitCode, Error> {
    let schedule = ScheduleFile::load(&options.file)?;
    let clock: SharedClock = SystemClock::shared();
    if options.print_crontab {
        let emcee = crate::schedule::emcee_binary();
        crate::cli::print_out(&schedule.crontab(&emcee.display().to_string()))?;
        return Ok(ExitCode::Success);
    }
    if let Some(count) = options.next {
        if count > MAX_NEXT {
            return Err(Error::Usage(format!(
                "--next {count}: at most {MAX_NEXT} firings can be listed"
            )));
        }
        let mut out = String::new();
        for firing in schedule.next_firings(clock.now(), count) {
            let job = &schedule.jobs[firing.job];
            let when = firing
                .due
                .to_zoned(job.zone.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z");
            out.push_str(&format!("{when}  {}\n", job.name));
        }
        crate::cli::print_out(&out)?;
        return Ok(ExitCode::Success);
    }

    let format = options.log_format;
    let signals = crate::signals::Signals::new()?;
    log(
        format,
        &clock,
        "schedule_started",
        json!({"file": options.file, "jobs": schedule.jobs.len()}),
        format!(
            "schedule {}: {} job(s); SIGTERM or Ctrl-C to stop",
            options.file.display(),
            schedule.jobs.len()
        ),
    );
    for firing in schedule.next_firings(clock.now(), schedule.jobs.len()) {
        let job = &schedule.jobs[firing.job];
        log(
            format,
            &clock,
            "next",
            json!({"job": job.name, "at": firing.due.to_string()}),
            format!(
                "next    {}: {}",
                job.name,
                firing.due.to_zoned(job.zone.clone())
            ),
        );
    }
    let children: Arc<Mutex<Vec<u32>>> = Arc::default();
    let emcee = crate::schedule::emcee_binary();
    let stop = async {
        let signal = signals.wait().await;
        log(
            format,
            &SystemClock::shared(),
            "stopping",
            json!({"signal": signal.to_string()}),
            format!("{signal}: stopping; waiting for running jobs"),
        );
    };
    schedule
        .run(
            &clock,
            None,
            |job, due| {
                let mut command = tokio::process::Command::new(&emcee);
                command.args(job.run_args()).env("EMCEE_PROGRESS", "never");
                match command.spawn() {
                    Ok(mut child) => {
                        let pid = child.id().unwrap_or(0);
                        children.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
                        log(
                            format,
                            &clock,
                            "job_started",
                            json!({"job": job.name, "due": due.to_string(), "pid": pid}),
                            format!("start   {} (due {due}), pid {pid}", job.name),
                        );
                        let (name, clock, children) =
                            (job.name.clone(), Arc::clone(&clock), Arc::clone(&children));
                        tokio::spawn(async move {
                            let code = child.wait().await.ok().and_then(|s| s.code()).unwrap_or(-1);
                            children
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .retain(|p| *p != pid);
                            let what = match code {
                                0 => "finished".to_owned(),
                                4 => "did not run: another run holds the meeting's lock".to_owned(),
                                other => format!("failed with exit code {other}"),
                            };
                            log(
                                format,
                                &clock,
                                "job_finished",
                                json!({"job": name, "pid": pid, "exit_code": code}),
                                format!("done    {name} (pid {pid}): {what}"),
                            );
                        });
                    }
                    Err(error) => log(
                        format,
                        &clock,
                        "job_failed_to_start",
                        json!({"job": job.name, "error": error.to_string()}),
                        format!(
                            "FAILED  {}: cannot start {}: {error}",
                            job.name,
                            emcee.display()
                        ),
                    ),
                }
            },
            |job, due, late| {
                log(
                    format,
                    &clock,
                    "job_skipped",
                    json!({"job": job.name, "due": due.to_string(), "late_ms": late.as_millis()}),
                    format!(
                        "skip    {} (due {due}): reached {} late, beyond catch_up",
                        job.name,
                        crate::duration::human(late.unsigned_abs())
                    ),
                );
            },
            stop,
        )
        .await;
    // Pass the stop on to running jobs, and give them time to finish their `always`.
    let running: Vec<u32> = children.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for pid in &running {
        let _ = std::process::Command::new("kill")
            .args(["-s", "TERM", &pid.to_string()])
            .status();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !children
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_empty()
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    log(
        format,
        &clock,
        "schedule_stopped",
        json!({}),
        "stopped".into(),
    );
    Ok(ExitCode::Success)
}
