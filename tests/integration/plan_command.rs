//! `emcee plan`: the resolved timeline, as a table and as JSON, and the warnings about
//! people a playbook names who will not be in the rehearsal meeting by then.

use serde_json::Value;

use crate::support::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[tokio::test]
async fn the_plan_of_a_ninety_minute_meeting() {
    let output = Run::command(&[
        "plan",
        "tests/timeline/ninety-minutes.yaml",
        "--sim",
        "--start",
        "2026-11-22T09:45",
    ])
    .output_in(ROOT)
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    insta::assert_snapshot!(output.stdout);
}

#[tokio::test]
async fn the_plan_as_json_expands_loops_and_marks_unknown_waits() {
    let output = Run::command(&["plan", "playbook.yaml", "--format", "json", "--start", "2026-11-22T10:00:00+08:00"])
        .file(
            "playbook.yaml",
            "name: P\nmeeting: { id: \"914044873\", host_password: p }\ntimezone: Asia/Shanghai\nvars: { panel: [Bob Li, Carol Wu] }\nsteps:\n  - broadcast: \"{{ item }}\"\n    loop: \"{{ panel }}\"\n  - wait: 5m\n  - wait_for: { count: 3 }\n  - participants: {}\n    register: here\n  - broadcast: \"{{ here[0].name }}\"\n  - at: \"10:30\"\n    lock: {}\n",
        )
        .output()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let plan: Value = serde_json::from_str(&output.stdout).unwrap();
    let rows = plan["rows"].as_array().unwrap();
    let targets: Vec<&str> = rows
        .iter()
        .map(|r| r["target"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        targets,
        [
            "Bob Li",
            "Carol Wu",
            "5m",
            "a headcount >= 3",
            "",
            "(at run time)",
            ""
        ]
    );
    assert_eq!(
        rows[3]["when"]["kind"], "at",
        "the wait_for itself starts at a known time"
    );
    assert_eq!(
        rows[4]["when"]["kind"], "not_before",
        "what follows an unknown wait is a lower bound"
    );
    assert_eq!(
        rows[6]["when"],
        serde_json::json!({"kind": "at", "instant": "2026-11-22T02:30:00Z", "offset": "PT30M"})
    );
    assert_eq!(rows[0]["calls"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn plan_warns_about_people_not_expected_by_then() {
    let output = Run::command(&["plan", "playbook.yaml", "--sim"])
        .file(
            "playbook.yaml",
            "name: P\nmeeting: { id: \"914044873\", host_password: p }\nsteps:\n  - broadcast: Bob Li\n    at: +5m\n  - broadcast: Nobody Known\n  - broadcast: Carol Wu\n    at: +20m\nrehearsal:\n  participants:\n    - { name: Bob Li, joins_after: 10m }\n    - { name: Carol Wu, leaves_after: 15m }\n",
        )
        .output()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let warnings: Vec<&str> = output
        .stdout
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(
        warnings,
        [
            "warning: step 1 (broadcast) names Bob Li at +5m 0s, but they are expected to join at +10m 0s",
            "warning: step 2 (broadcast) names Nobody Known, who is not among the rehearsal's participants",
            "warning: step 3 (broadcast) names Carol Wu at +20m 0s, but they are expected to have left at +15m 0s",
        ]
    );
}

#[tokio::test]
async fn plan_refuses_an_invalid_playbook_like_check() {
    let output = Run::command(&["plan", "tests/bad/check/unknown-action.yaml"])
        .output_in(ROOT)
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output.stderr.contains("did you mean `broadcast`?"),
        "{}",
        output.stderr
    );
}

/// The steps of a plan with `--tags`, `--skip-tags` and `--start-at`, and with `when`s
/// the variables decide, as a run would take them.
#[tokio::test]
async fn the_plan_takes_the_steps_a_run_would() {
    let playbook = "name: P\nmeeting: { id: \"914044873\", host_password: p }\nvars: { recording: false, speaker: Bob Li }\nsteps:\n  - name: Doors\n    tags: [setup]\n    lock: {}\n  - name: Record\n    when: recording\n    start_recording: {}\n  - name: Hands\n    participants: {}\n    register: here\n  - name: Give the floor\n    when: here | length > 0\n    broadcast: \"{{ speaker }}\"\n  - name: Q&A\n    tags: [qa]\n    steps:\n      - wait: 5m\n      - name: Only for Bob\n        when: speaker == 'Bob Li'\n        lower_all_hands: {}\n      - name: Only for Carol\n        when: speaker == 'Carol Wu'\n        lower_all_hands: {}\n";
    let plan = |args: &[&str]| {
        let mut run =
            Run::command(&["plan", "p.yaml", "--format", "json"]).file("p.yaml", playbook);
        for arg in args {
            run = run.arg(arg);
        }
        run.output()
    };
    let rows = |output: Output| -> Vec<(String, String)> {
        assert_eq!(output.code, 0, "{}", output.transcript());
        let plan: Value = serde_json::from_str(&output.stdout).unwrap();
        plan["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["id"].as_str().unwrap().to_owned(),
                    r["skipped"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).into(), (*b).into()))
            .collect()
    };
    // Decided from the variables: `recording` and `speaker`; not `here`, which only
    // the run registers.
    assert_eq!(
        rows(plan(&[]).await),
        owned(&[
            ("1", ""),
            ("2", "when: recording"),
            ("3", ""),
            ("4", ""),
            ("5", ""),
            ("5.1", ""),
            ("5.2", ""),
            ("5.3", "when: speaker == 'Carol Wu'"),
        ])
    );
    assert_eq!(
        rows(plan(&["-e", "recording:=true", "--tags", "qa"]).await),
        owned(&[
            ("1", "not tagged qa (--tags)"),
            ("2", "not tagged qa (--tags)"),
            ("3", "not tagged qa (--tags)"),
            ("4", "not tagged qa (--tags)"),
            ("5", ""),
            ("5.1", ""),
            ("5.2", ""),
            ("5.3", "when: speaker == 'Carol Wu'"),
        ])
    );
    assert_eq!(
        rows(plan(&["--skip-tags", "setup,qa", "--start-at", "Record"]).await),
        owned(&[
            ("1", "before --start-at Record"),
            ("2", "when: recording"),
            ("3", ""),
            ("4", ""),
            ("5", "tagged qa (--skip-tags)"),
        ])
    );
    let table = Run::command(&[
        "plan",
        "p.yaml",
        "--start",
        "2026-11-22T10:00:00+08:00",
        "--tags",
        "qa",
    ])
    .file("p.yaml", playbook)
    .output()
    .await;
    assert_eq!(table.code, 0, "{}", table.transcript());
    assert!(
        table
            .stdout
            .contains("1 Doors [skipped: not tagged qa (--tags)]")
            && table
                .stdout
                .contains("5.3 Only for Carol [skipped: when: speaker == 'Carol Wu']"),
        "{}",
        table.stdout
    );
    // Unknown tags and steps are refused, as by `run` and `check`.
    for args in [&["--tags", "qq"][..], &["--start-at", "Nope"][..]] {
        let refused = plan(args).await;
        assert_eq!(refused.code, 2, "{}", refused.transcript());
    }
}
