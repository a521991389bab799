//! `emcee schedule`: the next firings, the crontab, a bad schedule file, and the
//! scheduler itself running jobs against the harness emulator until SIGTERM.

use crate::support::*;

#[tokio::test]
async fn next_and_crontab() {
    let run = Run::command(&["schedule", "s.yaml", "--next", "3"])
        .file("p.yaml", "name: P\nmeeting: { id: \"914044873\", host_password: pw }\nsteps:\n  - lock: {}\n")
        .file("s.yaml", "timezone: Asia/Shanghai\njobs:\n  - name: Town hall\n    cron: \"50 9 * * 1\"\n    playbook: p.yaml\n    vars: { speaker: Bob Li }\n");
    let output = run.output().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines
            .iter()
            .all(|l| l.ends_with("+08:00  Town hall") && l.contains("T09:50:00")),
        "{lines:?}"
    );
    let crontab = Run::command(&["schedule", "s.yaml", "--print-crontab"])
        .file("p.yaml", "name: P\nmeeting: { id: \"914044873\", host_password: pw }\nsteps:\n  - lock: {}\n")
        .file("s.yaml", "timezone: Asia/Shanghai\njobs:\n  - name: Town hall\n    cron: \"50 9 * * 1\"\n    playbook: p.yaml\n    vars: { speaker: Bob Li, room: \"007\", rounds: 3, panel: [Bob Li] }\n")
        .output()
        .await;
    assert!(
        crontab
            .stdout
            .contains("CRON_TZ=Asia/Shanghai\n50 9 * * 1 "),
        "{}",
        crontab.stdout
    );
    assert!(
        crontab.stdout.contains(" run /"),
        "absolute playbook path: {}",
        crontab.stdout
    );
    assert!(
        crontab
            .stdout
            .contains("-e 'speaker=Bob Li' -e room=007 -e rounds:=3 -e 'panel:=[\"Bob Li\"]'"),
        "strings as typed, other values typed: {}",
        crontab.stdout
    );
}

#[tokio::test]
async fn a_bad_schedule_file_is_located_and_exits_2() {
    let output = Run::command(&["schedule", "s.yaml", "--next", "1"])
        .file("s.yaml", "jobs:\n  - name: Bad\n    cron: \"61 9 * * 1\"\n    timezone: Mars/Base\n    playbook: nope.yaml\n")
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    insta::assert_snapshot!(output.stderr);
}

#[tokio::test]
async fn the_scheduler_runs_jobs_and_stops_on_sigterm() {
    let emu = Emu::start(TOWN_HALL).await;
    let run = Run::command(&["schedule", "s.yaml"])
        .file("p.yaml", &format!("name: P\nmeeting:\n  id: \"{MEETING}\"\n  host_password: \"{{{{ secret('EMCEE_HOST_PASSWORD') }}}}\"\nsteps:\n  - lock: {{}}\n"))
        .file("s.yaml", "jobs:\n  - name: Every second\n    cron: \"* * * * * *\"\n    playbook: p.yaml\n")
        .env("EMCEE_ENDPOINT", emu.handle.base_url())
        .env(HOST_PASSWORD_ENV, PASSWORD);
    let (child, _dir) = run.spawn_plain();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while emu
        .requests()
        .await
        .iter()
        .filter(|r| r["path"] == format!("{CONTROL}/lock"))
        .count()
        < 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduler ran no job"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-s", "TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let output = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("start   Every second"), "{stdout}");
    assert!(stdout.contains("stopped"), "{stdout}");
}

#[test]
fn the_committed_schedule_schema_is_current_and_the_example_follows_it() {
    let root = env!("CARGO_MANIFEST_DIR");
    let committed =
        std::fs::read_to_string(format!("{root}/schemas/schedule.schema.json")).unwrap();
    assert!(
        committed == emcee::schedule::schema(),
        "schemas/schedule.schema.json is stale: run `cargo run -- schema --schedule > schemas/schedule.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&committed).unwrap();
    let example: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string(format!("{root}/schedules/weekly.yaml")).unwrap(),
    )
    .unwrap();
    assert!(
        jsonschema::validator_for(&schema)
            .unwrap()
            .is_valid(&example)
    );
    emcee::schedule::ScheduleFile::load(std::path::Path::new(&format!(
        "{root}/schedules/weekly.yaml"
    )))
    .unwrap();
}

/// A job variable that `-e` would refuse is found when the schedule is read, not at
/// each firing.
#[tokio::test]
async fn a_job_variable_run_would_refuse_is_located() {
    let output = Run::command(&["schedule", "s.yaml", "--next", "1"])
        .file("p.yaml", "name: P\nmeeting: { id: \"914044873\", host_password: pw }\nsteps:\n  - lock: {}\n")
        .file("s.yaml", "jobs:\n  - name: Loop\n    cron: \"50 9 * * 1\"\n    playbook: p.yaml\n    vars:\n      item: x\n")
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output
            .stderr
            .contains("vars: `item`: `item` is set by `loop`")
            && output.stderr.contains("s.yaml:6:13"),
        "{}",
        output.transcript()
    );
}
