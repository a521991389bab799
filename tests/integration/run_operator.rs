//! The operator's commands against a rehearsal that listens (`run --sim --control`),
//! sent with `emcee cue` from the built binary: hold, resume, go, skip, abort, scene
//! and do, and what the journal, the reports, `emcee report` and `--resume` keep of
//! them. The runs wait on the real clock for the operator, each under a watchdog.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::support::*;

/// Far longer than any of these runs takes when it works; only a hang reaches it.
const WATCHDOG: Duration = Duration::from_secs(90);

/// `emcee run playbook.yaml --sim --control ARGS` in `dir`, its stdout piped.
fn start(dir: &Path, args: &[&str]) -> Running {
    let mut command = tokio::process::Command::new(assert_cmd::cargo::cargo_bin!("emcee"));
    command
        .args([
            "run",
            "playbook.yaml",
            "--sim",
            "--control",
            "--progress",
            "never",
        ])
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
    let mut child = command.spawn().expect("emcee starts");
    let stdout = BufReader::new(child.stdout.take().expect("piped"));
    Running {
        child,
        stdout,
        seen: String::new(),
    }
}

/// A running `emcee` and its stdout, read line by line as the test goes.
struct Running {
    child: tokio::process::Child,
    stdout: BufReader<tokio::process::ChildStdout>,
    seen: String,
}

impl Running {
    /// Reads stdout until a line contains `marker`.
    async fn read_until(&mut self, marker: &str) {
        let seen = &mut self.seen;
        let stdout = &mut self.stdout;
        let found = tokio::time::timeout(WATCHDOG, async {
            loop {
                let mut line = String::new();
                if stdout.read_line(&mut line).await.unwrap() == 0 {
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
        assert!(found, "no line with {marker:?} in:\n{}", self.seen);
    }

    /// Waits for the end; the exit code and all of stdout.
    async fn finish(mut self) -> (Option<i32>, String) {
        let mut rest = String::new();
        let status = tokio::time::timeout(WATCHDOG, async {
            self.stdout.read_to_string(&mut rest).await.unwrap();
            self.child.wait().await.unwrap()
        })
        .await
        .expect("the run ended");
        (status.code(), self.seen + &rest)
    }
}

/// `emcee cue ARGS` for the run of [`MEETING`] whose state is under `dir`.
async fn cue(dir: &Path, args: &[&str]) -> Output {
    let state = dir.join("state");
    let mut run = Run::command(&["cue"]);
    for arg in args {
        run = run.arg(arg);
    }
    tokio::time::timeout(
        WATCHDOG,
        run.arg("--meeting")
            .arg(MEETING)
            .arg("--state-dir")
            .arg(state.to_str().expect("a path"))
            .output(),
    )
    .await
    .expect("cue answers")
}

/// `emcee cue ARGS`, which the run must take; its reply.
async fn taken(dir: &Path, args: &[&str]) -> String {
    let output = cue(dir, args).await;
    assert_eq!(output.code, 0, "cue {args:?}: {output:?}");
    output.stdout
}

/// `emcee cue ARGS`, which the run must refuse; its message.
async fn refused(dir: &Path, args: &[&str]) -> String {
    let output = cue(dir, args).await;
    assert_eq!(output.code, 1, "cue {args:?}: {output:?}");
    output.stderr
}

fn playbook(dir: &Path, steps: &str) {
    std::fs::write(
        dir.join("playbook.yaml"),
        playbook_with_steps("Operated", steps)
            + "rehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n    - { name: Bob Li }\n",
    )
    .unwrap();
}

/// The journals under `dir`'s state.
fn journals(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir.join("state/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    found.sort();
    found.reverse();
    found
}

/// The operator commands of a journal: (command, ok).
fn journaled(journal: &Path) -> Vec<(String, bool)> {
    std::fs::read_to_string(journal)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|event| event["event"] == "operator")
        .map(|event| {
            (
                event["command"].as_str().unwrap().to_owned(),
                event["ok"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn hold_go_skip_and_resume_steer_a_rehearsal() {
    let dir = tempfile::tempdir().unwrap();
    playbook(
        dir.path(),
        "  - log: one\n  - wait: 1h\n  - log: three\n  - log: four\n  - log: five\n",
    );
    let mut run = start(dir.path(), &["--deadline", "+10m"]);
    run.read_until("waiting for").await;
    assert!(
        taken(dir.path(), &["hold"])
            .await
            .contains("held during step 2 (wait)")
    );
    let unknown = refused(dir.path(), &["skip", "33"]).await;
    assert!(
        unknown.contains("no step 33") && unknown.contains("did you mean"),
        "{unknown}"
    );
    assert!(
        refused(dir.path(), &["skip", "1"])
            .await
            .contains("already")
    );
    assert!(
        taken(dir.path(), &["skip", "3"])
            .await
            .contains("step 3 (log) will be skipped")
    );
    // Held, go ends the wait and lets one step start: 3 is skipped, so 4.
    taken(dir.path(), &["go"]).await;
    run.read_until("four").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        refused(dir.path(), &["hold"])
            .await
            .contains("already held")
    );
    taken(dir.path(), &["resume"]).await;
    let (code, stdout) = run.finish().await;
    assert_eq!(code, Some(0), "{stdout}");
    let four = stdout.find("info    four").unwrap();
    let resumed = stdout.find("resume — resumed").expect("the resume's line");
    assert!(four < resumed, "step 5 waited for the resume:\n{stdout}");
    assert!(stdout[resumed..].contains("info    five"), "{stdout}");
    assert!(!stdout.contains("info    three"), "{stdout}");
    assert!(
        stdout.contains("ok      [2/5] wait: cut short by "),
        "{stdout}"
    );
    assert!(stdout.contains("skip    log: skipped by "), "{stdout}");
    assert!(
        stdout.contains("(cue): hold — held during step 2 (wait)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(cue): skip 33 refused — no step 33"),
        "{stdout}"
    );

    // The journal keeps every command, taken or refused, and `emcee report` shows them.
    let journal = journals(dir.path()).remove(0);
    assert_eq!(
        journaled(&journal),
        [
            ("hold".to_owned(), true),
            ("skip 33".to_owned(), false),
            ("skip 1".to_owned(), false),
            ("skip 3".to_owned(), true),
            ("go".to_owned(), true),
            ("hold".to_owned(), false),
            ("resume".to_owned(), true),
        ]
    );
    let report = Run::command(&["report", journal.to_str().unwrap()])
        .output()
        .await;
    assert_eq!(report.code, 0, "{report:?}");
    let report: Value = serde_json::from_str(&report.stdout).unwrap();
    let commands: Vec<&str> = report["operator"]
        .as_array()
        .expect("operator commands")
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        commands,
        [
            "hold", "skip 33", "skip 1", "skip 3", "go", "hold", "resume"
        ]
    );
    assert_eq!(report["operator"][1]["ok"], false);
    let junit = dir.path().join("junit.xml");
    let written = Run::command(&[
        "report",
        journal.to_str().unwrap(),
        "--report",
        &format!("junit={}", junit.display()),
    ])
    .output()
    .await;
    assert_eq!(written.code, 0, "{written:?}");
    let junit = std::fs::read_to_string(junit).unwrap();
    assert!(junit.contains("operator commands"), "{junit}");
    assert!(junit.contains("(cue): skip 33"), "{junit}");
}

#[tokio::test]
async fn go_fires_a_cue_early() {
    let dir = tempfile::tempdir().unwrap();
    playbook(dir.path(), "  - log: one\n  - at: +1h\n    log: two\n");
    let mut run = start(dir.path(), &["--deadline", "+2h", "--log-format", "json"]);
    run.read_until("\"waiting\"").await;
    taken(dir.path(), &["go"]).await;
    let (code, stdout) = run.finish().await;
    assert_eq!(code, Some(0), "{stdout}");
    let cue: Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["event"] == "cue")
        .expect("the cue");
    assert_eq!(cue["status"], "early", "{cue}");
    assert!(cue["by"].is_string(), "{cue}");
}

#[tokio::test]
async fn abort_runs_always_steps_and_exits_5() {
    let dir = tempfile::tempdir().unwrap();
    playbook(
        dir.path(),
        "  - steps:\n      - wait: 1h\n    always:\n      - log: cleaning up\n  - log: never\n",
    );
    let mut run = start(dir.path(), &["--deadline", "+10m"]);
    run.read_until("waiting for").await;
    assert!(taken(dir.path(), &["abort"]).await.contains("exits 5"));
    let (code, stdout) = run.finish().await;
    assert_eq!(code, Some(5), "{stdout}");
    assert!(stdout.contains("cleaning up"), "{stdout}");
    assert!(!stdout.contains("never"), "{stdout}");
    assert!(
        stdout.contains("interrupted by an operator's abort"),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_scene_pauses_a_wait_and_do_acts_at_once() {
    let dir = tempfile::tempdir().unwrap();
    playbook(
        dir.path(),
        "  - wait: 1h\n  - log: after\nscenes:\n  stand_by:\n    - log: standing by\n",
    );
    let mut run = start(dir.path(), &["--deadline", "+10m"]);
    run.read_until("waiting for").await;
    let unknown = refused(dir.path(), &["scene", "stand_bye"]).await;
    assert!(unknown.contains("did you mean `stand_by`"), "{unknown}");
    taken(dir.path(), &["scene", "stand_by"]).await;
    run.read_until("standing by").await;
    let bad = refused(dir.path(), &["do", "mtue", "Bob Li"]).await;
    assert!(bad.contains("did you mean"), "{bad}");
    // An id is taken literally: one written as a template is none the service gives.
    let templated = refused(
        dir.path(),
        &["do", "mute", "--id", "{{ secret('EMCEE_HOST_PASSWORD') }}"],
    )
    .await;
    assert!(templated.contains("is not a participant id"), "{templated}");
    taken(dir.path(), &["do", "mute", "Bob Li"]).await;
    run.read_until("mute").await;
    // An id no one online has is said to be one, not a name.
    taken(dir.path(), &["do", "unmute", "--id", "Bob Li"]).await;
    run.read_until("no participant online has the id `Bob Li`")
        .await;
    // The wait went on after them.
    taken(dir.path(), &["go"]).await;
    let (code, stdout) = run.finish().await;
    assert_eq!(code, Some(0), "{stdout}");
    let scene = stdout.find("standing by").unwrap();
    let cut = stdout.find("cut short by").expect("the wait went on");
    assert!(scene < cut, "{stdout}");
    assert!(stdout.contains("(cue): do mute \"Bob Li\" —"), "{stdout}");
    // What an operator played is no cue of the playbook's: its lines name its own id.
    assert!(stdout.contains("block   [op1] scene stand_by"), "{stdout}");
    assert!(stdout.contains("ok      [op2] mute"), "{stdout}");
}

#[tokio::test]
async fn resume_keeps_the_first_runs_commands_and_replays_no_skip() {
    let dir = tempfile::tempdir().unwrap();
    playbook(
        dir.path(),
        "  - wait: 1h\n  - log: two\n  - wait: 1h\n  - log: four\n",
    );
    let mut run = start(dir.path(), &["--deadline", "+10m"]);
    run.read_until("waiting for").await;
    taken(dir.path(), &["skip"]).await;
    taken(dir.path(), &["go"]).await;
    run.read_until("skipped by").await;
    run.read_until("waiting for").await;
    assert!(
        taken(dir.path(), &["do", "log", "first"])
            .await
            .contains("queued as op1")
    );
    run.read_until("info    first").await;
    // A skip the run never reached is not kept: the resumed run does step 4.
    taken(dir.path(), &["skip", "4"]).await;
    taken(dir.path(), &["abort"]).await;
    let (code, stdout) = run.finish().await;
    assert_eq!(code, Some(5), "{stdout}");

    // The resumed run listens too; what an operator plays in it goes on from op2.
    let mut resumed = start(dir.path(), &["--resume", "last", "--deadline", "+10m"]);
    resumed.read_until("waiting for").await;
    assert!(
        taken(dir.path(), &["do", "log", "second"])
            .await
            .contains("queued as op2")
    );
    resumed.read_until("info    second").await;
    taken(dir.path(), &["go"]).await;
    let (code, stdout) = resumed.finish().await;
    assert_eq!(code, Some(0), "{stdout}");
    // Step 2, skipped by the operator in the first run, is done; 3 and 4 run.
    assert!(!stdout.contains("info    two"), "{stdout}");
    assert!(stdout.contains("info    four"), "{stdout}");
    // The resumed run's own journal keeps the first run's commands, then its own.
    let all = journals(dir.path());
    assert_eq!(all.len(), 2, "{all:?}");
    let journal = all
        .into_iter()
        .find(|j| {
            std::fs::read_to_string(j)
                .unwrap()
                .contains("\"how\":\"resumed\"")
        })
        .expect("the resumed run's journal");
    assert_eq!(
        journaled(&journal),
        [
            ("skip".to_owned(), true),
            ("go".to_owned(), true),
            ("do log first".to_owned(), true),
            ("skip 4".to_owned(), true),
            ("abort".to_owned(), true),
            ("do log second".to_owned(), true),
            ("go".to_owned(), true),
        ]
    );
}

#[tokio::test]
async fn a_run_held_past_its_deadline_stops_there() {
    let dir = tempfile::tempdir().unwrap();
    playbook(dir.path(), "  - wait: 1s\n  - log: never\n");
    let mut run = start(dir.path(), &["--deadline", "+3s"]);
    run.read_until("waiting for").await;
    taken(dir.path(), &["hold"]).await;
    let (code, stdout) = run.finish().await;
    assert_eq!(code, Some(1), "{stdout}");
    // It stopped at the deadline (a hang would meet the watchdog), the step never ran.
    assert!(!stdout.contains("info    never"), "{stdout}");
}
