//! Signals and the run's end: SIGHUP, signals while the runtime is busy, reports that are
//! complete or absent after a second signal, resumes refused in another meeting, and
//! fast-forwarded rehearsals that never wait on the real clock.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::support::*;

/// Far longer than any of these runs takes when it works; only a hang reaches it.
const WATCHDOG: Duration = Duration::from_secs(90);

/// `emcee ARGS` in `dir`, with stdout piped; `ignore_hangup` starts it as `nohup` would.
fn spawn(dir: &std::path::Path, args: &[&str], ignore_hangup: bool) -> tokio::process::Child {
    let mut command = tokio::process::Command::new(assert_cmd::cargo::cargo_bin!("emcee"));
    command
        .args(args)
        .current_dir(dir)
        .env("EMCEE_DETERMINISTIC", "1")
        .env("NO_COLOR", "1")
        .env("EMCEE_STATE_DIR", dir.join("state"))
        .env(HOST_PASSWORD_ENV, PASSWORD)
        .env_remove("EMCEE_ENDPOINT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A failed assertion must not leave a run behind.
        .kill_on_drop(true);
    if ignore_hangup {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
                Ok(())
            });
        }
    }
    command.spawn().expect("emcee starts")
}

fn kill(child: &tokio::process::Child, signal: &str) {
    let pid = child.id().expect("running").to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-s", signal, &pid])
            .status()
            .unwrap()
            .success()
    );
}

/// A running `emcee` and its stdout, read line by line as the test goes.
struct Running {
    child: tokio::process::Child,
    stdout: BufReader<tokio::process::ChildStdout>,
}

impl Running {
    fn new(mut child: tokio::process::Child) -> Running {
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Running { child, stdout }
    }

    fn kill(&self, signal: &str) {
        kill(&self.child, signal);
    }

    /// Reads stdout until a line contains `marker`.
    async fn read_until(&mut self, marker: &str) {
        let mut seen = String::new();
        let found = tokio::time::timeout(WATCHDOG, async {
            loop {
                let mut line = String::new();
                if self.stdout.read_line(&mut line).await.unwrap() == 0 {
                    return false;
                }
                seen.push_str(&line);
                if line.contains(marker) {
                    return true;
                }
            }
        })
        .await
        .expect("the run got that far");
        assert!(found, "no line with {marker:?} in:\n{seen}");
    }

    /// Waits for the end; the exit code and the rest of stdout.
    async fn finish(mut self) -> (Option<i32>, String) {
        let mut rest = String::new();
        let status = tokio::time::timeout(WATCHDOG, async {
            self.stdout.read_to_string(&mut rest).await.unwrap();
            self.child.wait().await.unwrap()
        })
        .await
        .expect("the run ended");
        (status.code(), rest)
    }
}

#[tokio::test]
async fn sighup_stops_the_run_like_sigterm_with_exit_129_unless_ignored_at_start() {
    let emu = Emu::start(TOWN_HALL).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("playbook.yaml"),
        playbook_with_steps("Signals", 
            "  - log: ready\n  - name: Show\n    steps:\n      - wait: 1h\n    always:\n      - unlock: {}\n",
        ),
    )
    .unwrap();
    let args = [
        "run",
        "playbook.yaml",
        "--endpoint",
        emu.handle.base_url(),
        "--report",
        "json=report.json",
    ];

    let mut child = Running::new(spawn(dir.path(), &args, false));
    child.read_until("waiting for").await;
    child.kill("HUP");
    let (code, stdout) = child.finish().await;
    assert_eq!(code, Some(129), "{stdout}");
    assert!(stdout.contains("interrupted by SIGHUP"), "{stdout}");
    assert!(
        action_calls(&emu.requests().await).contains(&"lock".to_owned()),
        "`always` ran"
    );
    assert_eq!(read_json(dir.path().join("report.json"))["success"], false);

    // Under `nohup`, the hang-up is not emcee's to act on: the run goes on until told
    // to stop in another way.
    let mut child = Running::new(spawn(dir.path(), &args, true));
    child.read_until("waiting for").await;
    child.kill("HUP");
    child.kill("HUP");
    // Had the hang-ups been taken, the run would have ended (twice over); it is still
    // waiting when SIGTERM comes, and SIGTERM is what ends it.
    child.kill("TERM");
    let (code, stdout) = child.finish().await;
    assert_eq!(code, Some(143), "{stdout}");
    assert!(stdout.contains("interrupted by SIGTERM"), "{stdout}");
}

#[tokio::test]
async fn a_signal_stops_the_run_when_its_stderr_is_gone() {
    // As when the terminal hung up: writing the signal's warning fails, and the run
    // must stop all the same, with the signal's exit code.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("playbook.yaml"),
        playbook_with_steps("Signals", "  - log: ready\n  - wait: 1h\n")
            + "rehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n",
    )
    .unwrap();
    let mut child = spawn(
        dir.path(),
        &["run", "playbook.yaml", "--sim", "--progress", "never"],
        false,
    );
    drop(child.stderr.take());
    let mut child = Running::new(child);
    child.read_until("waiting for").await;
    child.kill("TERM");
    let (code, stdout) = child.finish().await;
    assert_eq!(code, Some(143), "{stdout}");
    assert!(stdout.contains("interrupted by SIGTERM"), "{stdout}");
}

#[tokio::test]
async fn a_second_signal_leaves_a_whole_report_or_the_previous_one_never_an_empty_file() {
    let emu = Emu::start(TOWN_HALL).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("playbook.yaml"),
        playbook_with_steps("Signals", 
            "  - log: ready\n  - name: Show\n    steps:\n      - wait: 1h\n    always:\n      - wait: 1h\n",
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("report.json"), "{\"previous\":true}\n").unwrap();
    std::fs::write(dir.path().join("report.xml"), "<previous/>\n").unwrap();
    let mut child = Running::new(spawn(
        dir.path(),
        &[
            "run",
            "playbook.yaml",
            "--endpoint",
            emu.handle.base_url(),
            "--report",
            "json=report.json",
            "--report",
            "junit=report.xml",
        ],
        false,
    ));
    child.read_until("waiting for").await;
    // The first stops the wait; the `always` wait then runs, and the second exits at once.
    child.kill("TERM");
    child.read_until("waiting for").await;
    child.kill("TERM");
    let (code, stdout) = child.finish().await;
    assert_eq!(code, Some(143), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("report.json")).unwrap(),
        "{\"previous\":true}\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("report.xml")).unwrap(),
        "<previous/>\n"
    );
    let strays: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".emcee"))
        .collect();
    assert!(strays.is_empty(), "{strays:?}");
}

#[tokio::test]
async fn a_signal_stops_a_run_whose_runtime_never_yields() {
    // Thousands of `set` steps that make no call and never wait: the runtime thread is
    // never free to run anything else until they are done.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("playbook.yaml"),
        playbook_with_steps("Signals", 
            "  - log: ready\n  - name: Busy\n    loop: \"{{ range(100000) | list }}\"\n    set:\n      n: \"{{ range(3000) | map('string') | join(',') | length }}\"\n",
        ),
    )
    .unwrap();
    let mut child = Running::new(spawn(
        dir.path(),
        &[
            "run",
            "playbook.yaml",
            "--sim",
            "--fast-forward",
            "--progress",
            "never",
        ],
        false,
    ));
    child.read_until("ready").await;
    child.kill("INT");
    let (code, stdout) = child.finish().await;
    let tail = &stdout[stdout.len().saturating_sub(2000)..];
    assert_eq!(code, Some(130), "{tail}");
    let done = stdout.matches("Busy").count();
    assert!(
        done < 100_000,
        "stopped before the end: {done} steps\n{tail}"
    );
}

#[tokio::test]
async fn resume_refuses_a_journal_of_another_meeting_or_endpoint() {
    let emu = Emu::start(TOWN_HALL).await;
    let other = Emu::start(TOWN_HALL).await;
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap().to_owned();
    let text = "name: Resumable\nmeeting:\n  id: \"{{ conference_id }}\"\n  host_password: \"{{ secret('EMCEE_HOST_PASSWORD') }}\"\nvars:\n  conference_id: \"914044873\"\nsteps:\n  - lock: {}\n  - broadcast: Nobody\n";
    let first = Run::playbook(text)
        .arg("--state-dir")
        .arg(&state_dir)
        .against(&emu)
        .await;
    assert_eq!(first.code, 1, "{}", first.transcript());
    // By its path: `last` only picks journals of the same meeting and endpoint.
    let journal = std::fs::read_dir(state.path().join("runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let journal = journal.to_str().unwrap();

    let elsewhere = Run::playbook(text)
        .arg("--state-dir")
        .arg(&state_dir)
        .arg("--resume")
        .arg(journal)
        .arg("-e")
        .arg(&format!("conference_id={OTHER_MEETING}"))
        .against(&emu)
        .await;
    assert_eq!(elsewhere.code, 2, "{}", elsewhere.transcript());
    assert!(
        elsewhere.stderr.contains(&format!(
            "was for meeting {MEETING}, not meeting {OTHER_MEETING}"
        )),
        "{}",
        elsewhere.stderr
    );

    let other_endpoint = Run::playbook(text)
        .arg("--state-dir")
        .arg(&state_dir)
        .arg("--resume")
        .arg(journal)
        .against(&other)
        .await;
    assert_eq!(other_endpoint.code, 2, "{}", other_endpoint.transcript());
    assert!(
        other_endpoint.stderr.contains(&format!(
            "was against {}, not {}",
            emu.handle.base_url(),
            other.handle.base_url()
        )),
        "{}",
        other_endpoint.stderr
    );
    assert!(
        action_calls(&other.requests().await).is_empty(),
        "nothing ran there"
    );
}

#[tokio::test]
async fn a_fast_forwarded_rehearsal_never_waits_on_the_real_clock() {
    // Ten days of virtual time: the token is kept alive all through it, hundreds of
    // calls to one API, more than the client-side rate limit lets through in a minute.
    // The host stays online, so the meeting prolongs itself past its scheduled end.
    let run = Run::playbook(&playbook_with_steps(
        "Signals",
        "  - lock: {}\n  - at: +240h\n    unlock: {}\nrehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n",
    ))
    .arg("--sim")
    .arg("--fast-forward")
    .arg("--sim-requests")
    .arg("requests.json");
    let (output, requests) = tokio::time::timeout(WATCHDOG, run.output_keeping_dir())
        .await
        .expect("a rehearsal of ten days takes no real time");
    assert_eq!(output.code, 0, "{}", output.transcript());
    let requests: Vec<serde_json::Value> = serde_json::from_str(&requests).unwrap();
    let tokens = requests
        .iter()
        .filter(|r| r["path"] == format!("{CONTROL}/token"))
        .count();
    assert!(tokens > 90, "the token was kept alive: {tokens} calls");
    assert_eq!(action_calls(&requests), ["lock", "lock"]);
}
