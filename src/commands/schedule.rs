//! `emcee schedule FILE`: run the jobs of a schedule file at their times, one child
//! `emcee run` per firing; or print the equivalent crontab, or the next firings.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::clock::{SharedClock, SystemClock};
use crate::error::{Error, ExitCode};
use crate::schedule::ScheduleFile;
use crate::session::LogFormat;

#[derive(Debug, Clone)]
pub(crate) struct ScheduleOptions {
    pub file: PathBuf,
    pub print_crontab: bool,
    pub cron_flavour: crate::schedule::CronFlavour,
    /// The zone the machine's cron runs in; the local zone when absent.
    pub system_zone: Option<String>,
    pub print_systemd: bool,
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
    let _ = crate::output::print_out(&format!("{line}\n"));
}

/// Longest line of a child's output passed on whole; longer ones are cut there (a
/// child is emcee itself, whose lines are far shorter).
const MAX_CHILD_LINE: u64 = 64 << 10;

/// Passes a child's output on line by line, each prefixed with its job: `[job] line` in
/// text, a `job` field in JSON lines (or a `job_output` event around a line that is
/// not JSON). Standard error stays on standard error.
async fn relay(
    stream: impl tokio::io::AsyncRead + Unpin,
    job: String,
    format: LogFormat,
    stderr: bool,
) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let mut reader = tokio::io::BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(MAX_CHILD_LINE)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        let shown = match format {
            LogFormat::Text => format!("[{job}] {text}\n"),
            LogFormat::Json => {
                let value = match serde_json::from_str::<serde_json::Value>(text) {
                    Ok(serde_json::Value::Object(mut map)) => {
                        map.insert("job".into(), json!(job));
                        serde_json::Value::Object(map)
                    }
                    _ => json!({"event": "job_output", "job": job, "line": text}),
                };
                format!("{value}\n")
            }
        };
        if stderr {
            use std::io::Write;
            let _ = std::io::stderr().lock().write_all(shown.as_bytes());
        } else {
            let _ = crate::output::print_out(&shown);
        }
    }
}

/// Most firings `--next` lists: a year of a job every hour, well under what would
/// strain memory or time.
pub(crate) const MAX_NEXT: usize = 10_000;

pub(crate) async fn run(options: ScheduleOptions) -> Result<ExitCode, Error> {
    let schedule = ScheduleFile::load(&options.file)?;
    let clock: SharedClock = SystemClock::shared();
    if options.print_crontab || options.print_systemd {
        let emcee = crate::schedule::emcee_binary().display().to_string();
        let export = if options.print_systemd {
            schedule.systemd(&emcee)
        } else {
            let system = match &options.system_zone {
                Some(name) => jiff::tz::TimeZone::get(name).map_err(|_| {
                    Error::Usage(format!(
                        "--system-zone {name}: unknown time zone; use an IANA name such as Etc/UTC"
                    ))
                })?,
                None => jiff::tz::TimeZone::system(),
            };
            schedule.crontab(&emcee, options.cron_flavour, &system)
        };
        crate::output::print_out(&export.text)?;
        if export.commented_out > 0 {
            tracing::warn!(
                "{} job(s) printed commented out: the reasons are above them",
                export.commented_out
            );
            return Ok(ExitCode::Failed);
        }
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
        crate::output::print_out(&out)?;
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
                command
                    .args(job.run_args())
                    .envs(job.env.iter().map(|(k, v)| (k, v)))
                    .env("EMCEE_PROGRESS", "never")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                match command.spawn() {
                    Ok(mut child) => {
                        // Runs overlap: each line says whose it is.
                        let relays = [
                            child.stdout.take().map(|out| {
                                tokio::spawn(relay(out, job.name.clone(), format, false))
                            }),
                            child.stderr.take().map(|err| {
                                tokio::spawn(relay(err, job.name.clone(), format, true))
                            }),
                        ];
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
                            // Its last lines come before the line that says it is done.
                            for relay in relays.into_iter().flatten() {
                                let _ = relay.await;
                            }
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
