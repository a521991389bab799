//! Unattended runs: one run per meeting (the lock), the journal, and the JSON and
//! JUnit reports, written whatever the outcome and without secrets.

use serde_json::Value;

use crate::support::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[tokio::test]
async fn a_second_run_on_the_same_meeting_exits_4_naming_the_holder() {
    let emu = Emu::start(TOWN_HALL).await;
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap().to_owned();
    let first = tokio::spawn(
        Run::playbook(&playbook_with_steps(
            "Unattended",
            "  - lock: {}\n  - wait: 1500ms\n  - unlock: {}\n",
        ))
        .arg("--state-dir")
        .arg(&state_dir)
        .against_url(emu.handle.base_url()),
    );
    // Wait until the first run holds the lock (its first call has arrived).
    while emu.requests().await.is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let second = Run::playbook(&playbook_with_steps(
        "Unattended",
        "  - start_recording: {}\n",
    ))
    .arg("--state-dir")
    .arg(&state_dir)
    .against(&emu)
    .await;
    assert_eq!(second.code, 4, "{}", second.transcript());
    assert!(
        second.stderr.contains(&format!(
            "meeting 914044873 at {} is already being run: pid ",
            emu.handle.base_url()
        )),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains("playbook.yaml"), "{}", second.stderr);
    assert_eq!(
        emu.meeting(MEETING).await["recording"],
        false,
        "the second run made no call"
    );
    let first = first.await.unwrap();
    assert_eq!(first.code, 0, "{}", first.transcript());
    // Free again afterwards.
    let third = Run::playbook(&playbook_with_steps(
        "Unattended",
        "  - start_recording: {}\n",
    ))
    .arg("--state-dir")
    .arg(&state_dir)
    .against(&emu)
    .await;
    assert_eq!(third.code, 0, "{}", third.transcript());
}

#[tokio::test]
async fn reports_are_written_on_failure_and_follow_their_schema() {
    let emu = Emu::start(TOWN_HALL).await;
    let (output, dir) = Run::playbook(&playbook_with_steps("Unattended", 
        "  - lock: {}\n  - broadcast: Nobody Here\n    on_error: continue\n  - mute: Bob Li\n    when: \"false\"\n  - http: { method: PUT, path: /v1/mmc/control/conferences/record, body: { isRecord: 9 } }\n",
    ))
    .arg("--report")
    .arg("json=report.json")
    .arg("--report")
    .arg("junit=report.xml")
    .against_keeping_dir(&emu)
    .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    let report: Value = read_json(dir.path().join("report.json"));
    let schema: Value = read_json(format!("{ROOT}/schemas/report.schema.json"));
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(report["success"], false);
    let statuses: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ok", "failed", "skipped", "failed"]);
    assert_eq!(report["steps"][1]["continued"], true);
    // Times are checked to be RFC 3339 before they are redacted; a skipped step has none.
    let time = || {
        insta::dynamic_redaction(|value, _| match value.as_str() {
            Some(text) => {
                assert!(text.parse::<jiff::Timestamp>().is_ok(), "{text}");
                insta::internals::Content::from("[time]")
            }
            None => value,
        })
    };
    insta::assert_json_snapshot!(report, {
        ".endpoint" => "[endpoint]",
        ".run_id" => "[run id]",
        ".started" => time(),
        ".finished" => time(),
        ".summary.finished" => time(),
        ".steps[].started" => time(),
        ".steps[].finished" => time(),
        ".steps[].elapsed_ms" => "[ms]",
        ".summary.elapsed" => "[ms]",
        ".steps[].error" => insta::dynamic_redaction(|value, _| {
            // Request ids differ per run; the rest of the message is kept.
            value.as_str().map_or(value.clone(), |text| {
                insta::internals::Content::from(text.split(" (X-Request-Id").next().unwrap_or(text).to_owned())
            })
        }),
    });
    let junit = std::fs::read_to_string(dir.path().join("report.xml")).unwrap();
    assert!(
        junit.contains(r#"tests="4" skipped="1" failures="1""#),
        "{junit}"
    );
    assert!(
        junit.contains("no participant matches `Nobody Here`"),
        "{junit}"
    );
}

#[tokio::test]
async fn junit_passes_what_failed_inside_a_block_that_went_on() {
    let (output, dir) = Run::playbook(&playbook_with_steps(
        "Went on",
        "  - steps:\n      - assert: \"false\"\n    on_error: continue\n  - log: after\n",
    ))
    .arg("--sim")
    .arg("--report")
    .arg("junit=report.xml")
    .output_with_dir()
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let junit = std::fs::read_to_string(dir.path().join("report.xml")).unwrap();
    assert!(junit.contains(r#"failures="0""#), "{junit}");
    assert!(junit.contains("failed (on_error: continue)"), "{junit}");
}

#[test]
fn the_committed_report_schema_is_current() {
    let committed = std::fs::read_to_string(format!("{ROOT}/schemas/report.schema.json")).unwrap();
    assert!(
        committed == emcee::report::report_schema(),
        "schemas/report.schema.json is stale: run `cargo run -- schema --report > schemas/report.schema.json`"
    );
}

#[tokio::test]
async fn the_journal_has_every_event_and_no_secret() {
    const SECRET: &str = "journal-secret-123";
    let yaml = TOWN_HALL.replace(
        &format!("host_password: \"{PASSWORD}\""),
        &format!("host_password: \"{SECRET}\""),
    );
    let emu = Emu::start(&yaml).await;
    let (output, dir) = Run::playbook(&playbook_with_steps(
        "Unattended",
        "  - lock: {}\n  - log: \"{{ secret('EMCEE_HOST_PASSWORD') }}\"\n",
    ))
    .env(HOST_PASSWORD_ENV, SECRET)
    .arg("--report")
    .arg("json=report.json")
    .arg("--endpoint")
    .arg(emu.handle.base_url())
    .output_with_dir()
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let runs: Vec<_> = std::fs::read_dir(dir.path().join("state/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1);
    let journal = std::fs::read_to_string(&runs[0]).unwrap();
    let events: Vec<Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"run_started"));
    assert_eq!(kinds.last(), Some(&"run_finished"));
    assert!(events.iter().all(|e| e["ts"].is_string()));
    for text in [
        journal,
        std::fs::read_to_string(dir.path().join("report.json")).unwrap(),
    ] {
        assert!(!text.contains(SECRET), "a secret leaked: {text}");
    }
}

#[tokio::test]
async fn unwritable_reports_and_state_are_refused_before_any_call() {
    let emu = Emu::start(TOWN_HALL).await;
    let output = Run::playbook(&playbook_with_steps("Unattended", "  - lock: {}\n"))
        .arg("--report")
        .arg("json=/nonexistent/dir/report.json")
        .against(&emu)
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output
            .stderr
            .contains("cannot write the report /nonexistent/dir/report.json"),
        "{}",
        output.stderr
    );
    let output = Run::playbook(&playbook_with_steps("Unattended", "  - lock: {}\n"))
        .arg("--state-dir")
        .arg("/proc/emcee-cannot-be-here")
        .against(&emu)
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stderr.contains("/proc/emcee-cannot-be-here"),
        "{}",
        output.stderr
    );
    assert!(emu.requests().await.is_empty(), "no call was made");
}

#[tokio::test]
async fn sigterm_mid_run_runs_always_writes_everything_frees_the_lock_and_exits_143() {
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let emu = Emu::start(TOWN_HALL).await;
        let (child, dir) = Run::playbook(&playbook_with_steps("Unattended", 
            "  - name: Show\n    steps:\n      - lock: {}\n      - wait: 30s\n      - start_live: {}\n    always:\n      - unlock: {}\n      - start_recording: {}\n  - end_meeting: {}\n",
        ))
        .arg("--report")
        .arg("json=report.json")
        .spawn(&emu);
        while emu
            .requests()
            .await
            .iter()
            .all(|r| r["path"] != format!("{CONTROL}/lock"))
        {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let pid = child.id().unwrap().to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-s", signal, &pid])
                .status()
                .unwrap()
                .success()
        );
        let output = child.wait_with_output().await.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(code), "SIG{signal}: {stdout}");
        let state = emu.meeting(MEETING).await;
        assert_eq!(
            (&state["locked"], &state["recording"]),
            (&Value::Bool(false), &Value::Bool(true)),
            "always ran"
        );
        assert_eq!(
            (&state["live"], &state["state"]),
            (&Value::Bool(false), &Value::from("Created")),
            "nothing else ran"
        );
        assert!(
            stdout.contains(&format!("interrupted by SIG{signal}")),
            "{stdout}"
        );
        let report: Value = read_json(dir.path().join("report.json"));
        assert_eq!(report["success"], false);
        assert!(
            report["summary"].is_object(),
            "the report is complete: {report}"
        );
        let runs: Vec<_> = std::fs::read_dir(dir.path().join("state/runs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        let journal = std::fs::read_to_string(&runs[0]).unwrap();
        assert!(
            journal.lines().last().unwrap().contains("\"run_finished\""),
            "{journal}"
        );
        // The lock is free: another run on the same state goes ahead.
        let again = Run::playbook(&playbook_with_steps("Unattended", "  - lock: {}\n"))
            .arg("--state-dir")
            .arg(dir.path().join("state").to_str().unwrap())
            .against(&emu)
            .await;
        assert_eq!(again.code, 0, "{}", again.transcript());
    }
}

#[tokio::test]
async fn a_resumed_run_makes_no_call_for_the_steps_before_the_failure() {
    let emu = Emu::start(TOWN_HALL).await;
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap().to_owned();
    let steps =
        "  - lock: {}\n  - start_recording: {}\n  - broadcast: Zed Late\n  - start_live: {}\n";
    let first = Run::playbook(&playbook_with_steps("Unattended", steps))
        .arg("--state-dir")
        .arg(&state_dir)
        .against(&emu)
        .await;
    assert_eq!(first.code, 1, "{}", first.transcript());
    // Zed arrives (as a co-host: the meeting is locked by now); the run is picked up
    // where it stopped.
    let joined = emu
        .admin(
            "POST",
            &format!("/_sim/meetings/{MEETING}/participants"),
            Some(serde_json::json!({"name": "Zed Late", "role": "cohost"})),
        )
        .await;
    assert_eq!(joined.status, 201, "{joined:?}");
    emu.admin("DELETE", "/_sim/requests", None).await;
    let resumed = Run::playbook(&playbook_with_steps("Unattended", steps))
        .arg("--state-dir")
        .arg(&state_dir)
        .arg("--resume")
        .arg("last")
        .arg("--report")
        .arg("json=report.json")
        .against(&emu)
        .await;
    assert_eq!(resumed.code, 0, "{}", resumed.transcript());
    let paths = action_calls(&emu.requests().await);
    assert_eq!(
        paths,
        ["broadcast", "live"],
        "steps 1 and 2 were not run again"
    );
    assert!(
        resumed.stdout.contains("skip    lock: before --start-at 3"),
        "{}",
        resumed.stdout
    );
    // The resumed run is journaled too, and a finished run has nothing left.
    let again = Run::playbook(&playbook_with_steps("Unattended", steps))
        .arg("--state-dir")
        .arg(&state_dir)
        .arg("--resume")
        .arg("last")
        .against(&emu)
        .await;
    assert_eq!(again.code, 0, "{}", again.transcript());
    assert!(
        again.stdout.contains("already finished; nothing to resume"),
        "{}",
        again.stdout
    );
}

#[tokio::test]
async fn resume_refuses_a_changed_playbook_and_a_damaged_journal() {
    let emu = Emu::start(TOWN_HALL).await;
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap().to_owned();
    let first = Run::playbook(&playbook_with_steps(
        "Unattended",
        "  - broadcast: Nobody\n",
    ))
    .arg("--state-dir")
    .arg(&state_dir)
    .against(&emu)
    .await;
    assert_eq!(first.code, 1);
    let changed = Run::playbook(&playbook_with_steps(
        "Unattended",
        "  - broadcast: Somebody\n",
    ))
    .arg("--state-dir")
    .arg(&state_dir)
    .arg("--resume")
    .arg("last")
    .against(&emu)
    .await;
    assert_eq!(changed.code, 2, "{}", changed.transcript());
    assert!(
        changed.stderr.contains("the playbook changed since run"),
        "{}",
        changed.stderr
    );
    // Damage the journal: resume names the line and leaves the file alone.
    let journal = std::fs::read_dir(state.path().join("runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut text = std::fs::read_to_string(&journal).unwrap();
    text.push_str("{\"event\":\"step_fini");
    std::fs::write(&journal, &text).unwrap();
    let lines = text.lines().count();
    let damaged = Run::playbook(&playbook_with_steps(
        "Unattended",
        "  - broadcast: Nobody\n",
    ))
    .arg("--resume")
    .arg(journal.to_str().unwrap())
    .against(&emu)
    .await;
    assert_eq!(damaged.code, 1, "{}", damaged.transcript());
    assert!(
        damaged
            .stderr
            .contains(&format!(".jsonl:{lines}: the journal is damaged")),
        "{}",
        damaged.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&journal).unwrap(),
        text,
        "nothing overwritten"
    );
}

#[tokio::test]
async fn reports_can_be_rebuilt_from_the_journal() {
    let emu = Emu::start(TOWN_HALL).await;
    let (output, dir) = Run::playbook(&playbook_with_steps(
        "Unattended",
        "  - lock: {}\n  - broadcast: Nobody\n    on_error: continue\n  - unlock: {}\n",
    ))
    .arg("--report")
    .arg("json=report.json")
    .against_keeping_dir(&emu)
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let original: Value = read_json(dir.path().join("report.json"));
    let rebuilt = Run::command(&[
        "report",
        "last",
        "--state-dir",
        dir.path().join("state").to_str().unwrap(),
    ])
    .output()
    .await;
    assert_eq!(rebuilt.code, 0, "{}", rebuilt.transcript());
    let rebuilt: Value = serde_json::from_str(&rebuilt.stdout).unwrap();
    assert_eq!(rebuilt, original);
}
