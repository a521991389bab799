//! What a run says about itself: the header and summary lines (cues counted as cues),
//! `-q`, and the JSON and JUnit reports as an auditor and CI read them.

use serde_json::Value;

use crate::support::*;

/// A rehearsal playbook: `--sim` needs nothing else.
fn rehearsal(steps: &str) -> String {
    format!(
        "name: Reporting\nmeeting:\n  id: \"{MEETING}\"\n  host_password: \"{{{{ secret('EMCEE_HOST_PASSWORD') }}}}\"\nsteps:\n{steps}rehearsal:\n  participants:\n    - {{ name: Alice Zhang, role: host }}\n    - {{ name: Bob Li }}\n"
    )
}

fn playbook(steps: &str) -> String {
    format!(
        "name: Reporting\nmeeting:\n  id: \"{MEETING}\"\n  host_password: \"{{{{ secret('EMCEE_HOST_PASSWORD') }}}}\"\nsteps:\n{steps}"
    )
}

fn is_rfc3339(text: &Value) -> bool {
    text.as_str()
        .is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok())
}

#[tokio::test]
async fn the_summary_counts_cues_and_the_header_counts_steps() {
    let steps =
        "  - lock: {}\n  - at: +1m\n    broadcast: Alice Zhang\n  - at: +2m\n    unlock: {}\n";
    let text = Run::playbook(&rehearsal(steps))
        .arg("--sim")
        .arg("--fast-forward")
        .output()
        .await;
    assert_eq!(text.code, 0, "{}", text.transcript());
    assert!(
        text.stdout.contains("at the built-in emulator, 3 steps\n"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("done    3 ok, 0 failed, 0 skipped, 2/2 cues on time, 0 retries"),
        "{}",
        text.stdout
    );

    let json = Run::playbook(&rehearsal(steps))
        .arg("--sim")
        .arg("--fast-forward")
        .arg("--log-format")
        .arg("json")
        .output()
        .await;
    assert_eq!(json.code, 0, "{}", json.transcript());
    let finished: Value = json
        .stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|event| event["event"] == "run_finished")
        .expect("a run_finished event");
    let cues = &finished["summary"]["cue_summary"];
    assert_eq!(cues["total"], 2, "{finished}");
    assert_eq!(cues["on_time"], 2, "{finished}");
    assert_eq!(cues["late"], 0, "{finished}");
    assert!(cues["latest_ms"].is_i64(), "{finished}");
}

#[tokio::test]
async fn quiet_prints_nothing_on_success_and_only_failures_otherwise() {
    let ok = Run::command(&["-q", "run", "playbook.yaml", "--sim"])
        .file(
            "playbook.yaml",
            &rehearsal("  - lock: {}\n  - unlock: {}\n"),
        )
        .output()
        .await;
    assert_eq!(ok.code, 0, "{}", ok.transcript());
    assert_eq!(ok.stdout, "", "{}", ok.transcript());
    assert_eq!(ok.stderr, "", "{}", ok.transcript());

    let failed = Run::command(&["-q", "run", "playbook.yaml", "--sim"])
        .file(
            "playbook.yaml",
            &rehearsal(
                "  - lock: {}\n  - broadcast: Nobody Here\n    on_error: continue\n  - mute: Nobody Else\n",
            ),
        )
        .output()
        .await;
    assert_eq!(failed.code, 1, "{}", failed.transcript());
    let lines: Vec<&str> = failed.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", failed.stdout);
    assert!(lines[0].starts_with("FAILED  [2/3] broadcast: no participant matches `Nobody Here`"));
    assert!(lines[1].starts_with("FAILED  [3/3] mute: no participant matches `Nobody Else`"));
    assert!(
        lines[2].starts_with("failed  1 ok, 2 failed"),
        "{}",
        lines[2]
    );
}

#[tokio::test]
async fn a_tolerated_failure_passes_in_junit_as_in_the_exit_code() {
    let emu = Emu::start(TOWN_HALL).await;
    let (output, dir) = Run::playbook(&playbook(
        "  - lock: {}\n  - broadcast: Nobody Here\n    on_error: continue\n  - mute: Bob Li\n    when: \"false\"\n",
    ))
    .arg("--report")
    .arg("junit=report.xml")
    .against_keeping_dir(&emu)
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let junit = std::fs::read_to_string(dir.path().join("report.xml")).unwrap();
    assert!(
        junit.contains(r#"tests="3" skipped="1" failures="0" errors="0""#),
        "{junit}"
    );
    assert!(!junit.contains("<failure"), "{junit}");
    assert!(
        junit.contains(
            "<system-out>failed (on_error: continue): no participant matches `Nobody Here`"
        ),
        "{junit}"
    );
    // Each case says where its step is written and when it started.
    for (name, line) in [("1 lock", 6), ("2 broadcast", 7), ("3 mute", 9)] {
        let case = junit
            .lines()
            .find(|l| l.contains(&format!(r#"<testcase name="{name}""#)))
            .unwrap_or_else(|| panic!("no case {name}: {junit}"));
        assert!(
            case.contains(&format!(r#"file="playbook.yaml" line="{line}""#)),
            "{case}"
        );
        if name != "3 mute" {
            assert!(case.contains(" timestamp=\""), "{case}");
        }
    }
    assert!(
        junit.contains("<testsuite name=\"Reporting (meeting 914044873)\"")
            && junit
                .lines()
                .any(|l| l.contains("<testsuite ") && l.contains(" timestamp=\"")),
        "{junit}"
    );
}

#[tokio::test]
async fn the_json_report_says_which_run_and_when_each_step_ran() {
    let emu = Emu::start(TOWN_HALL).await;
    let (output, dir) = Run::playbook(&playbook(
        "  - lock: {}\n  - mute: Bob Li\n    when: \"false\"\n  - unlock: {}\n",
    ))
    .arg("--report")
    .arg("json=report.json")
    // Real run ids and times, which deterministic output replaces.
    .env("EMCEE_DETERMINISTIC", "0")
    .against_keeping_dir(&emu)
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let report: Value = read_json(dir.path().join("report.json"));
    let run_id = report["run_id"].as_str().unwrap();
    assert!(
        dir.path()
            .join("state/runs")
            .join(format!("{run_id}.jsonl"))
            .is_file(),
        "the run id names the journal: {report:#}"
    );
    assert!(is_rfc3339(&report["started"]), "{report:#}");
    assert!(is_rfc3339(&report["finished"]), "{report:#}");
    assert_eq!(report["file"], "playbook.yaml");
    let steps = report["steps"].as_array().unwrap();
    for step in steps {
        assert_eq!(step["file"], "playbook.yaml", "{step}");
        if step["status"] == "skipped" {
            assert!(step["started"].is_null(), "{step}");
            continue;
        }
        assert!(is_rfc3339(&step["started"]), "{step}");
        assert!(is_rfc3339(&step["finished"]), "{step}");
        let started: jiff::Timestamp = step["started"].as_str().unwrap().parse().unwrap();
        let finished: jiff::Timestamp = step["finished"].as_str().unwrap().parse().unwrap();
        assert!(started <= finished, "{step}");
    }
    let lines: Vec<&Value> = steps.iter().map(|s| &s["line"]).collect();
    assert_eq!(lines, [6, 7, 9]);

    // The report rebuilt from the journal says the same.
    let rebuilt = Run::command(&[
        "report",
        "last",
        "--state-dir",
        dir.path().join("state").to_str().unwrap(),
    ])
    .env("EMCEE_DETERMINISTIC", "0")
    .output()
    .await;
    assert_eq!(rebuilt.code, 0, "{}", rebuilt.transcript());
    let rebuilt: Value = serde_json::from_str(&rebuilt.stdout).unwrap();
    assert_eq!(rebuilt, report);
}
