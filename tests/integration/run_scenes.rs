//! Scenes: a `scene:` step plays its scene's steps under its own id, in the output and
//! against the rehearsal emulator; `check` refuses what is wrong with scenes, at the
//! place it is written; `plan` shows a scene where it plays and lists every scene.

use serde_json::Value;

use crate::support::*;

const SHOW: &str = "name: Show\nmeeting: { id: \"914044873\", host_password: pw1234 }\nsteps:\n  - log: opening\n  - name: Questions\n    scene: qa_open\n    always:\n      - unlock: {}\n  - scene: panic\n    tags: [emergency]\npanic_scene: panic\nscenes:\n  panic:\n    - cancel_broadcast: {}\n    - lock: {}\n  qa_open:\n    - lower_all_hands: {}\n    - allow_self_unmute: true\nrehearsal:\n  participants: [ { name: Alice Zhang, role: host }, { name: Bob Li, hand: raised } ]\n";

#[tokio::test]
async fn a_scene_step_runs_its_steps_under_its_id() {
    let (output, requests) = Run::playbook(SHOW)
        .arg("--log-format")
        .arg("json")
        .rehearse()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let finished: Vec<(String, String, String)> = output
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event"] == "step_finished")
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_owned(),
                e["name"].as_str().unwrap().to_owned(),
                e["outcome"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("1", "log"),
        ("2.1", "lower_all_hands"),
        ("2.2", "allow_self_unmute"),
        ("2.always.1", "unlock"),
        ("2", "Questions"),
        ("3.1", "cancel_broadcast"),
        ("3.2", "lock"),
        ("3", "scene panic"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(id, name)| (id.to_string(), name.to_string(), "ok".to_string()))
        .collect();
    assert_eq!(finished, expected);
    assert_eq!(
        action_calls(&requests),
        ["hands", "guestUnMute", "lock", "cancelBroadcast", "lock"]
    );
}

#[tokio::test]
async fn a_scene_step_is_selected_like_a_block() {
    let (output, requests) = Run::playbook(SHOW)
        .arg("--skip-tags")
        .arg("emergency")
        .rehearse()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("skip    scene panic: tagged emergency (--skip-tags)"),
        "{}",
        output.stdout
    );
    assert_eq!(action_calls(&requests), ["hands", "guestUnMute", "lock"]);
}

#[tokio::test]
async fn start_at_refuses_what_an_operator_played() {
    let output = Run::playbook(SHOW)
        .arg("--sim")
        .arg("--start-at")
        .arg("op3")
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output.stderr.contains(
            "--start-at op3: that is what an operator played during a run, not a step of the playbook"
        ),
        "{}",
        output.stderr
    );
    assert!(output.stdout.is_empty(), "nothing ran: {}", output.stdout);
}

/// `emcee check` of a playbook with these steps and scenes (YAML under `steps:`, then
/// the rest of the document).
async fn check(rest: &str) -> Output {
    Run::command(&["check", "playbook.yaml"])
        .file(
            "playbook.yaml",
            &format!("name: Show\nmeeting: {{ id: \"914044873\", host_password: pw1234 }}\nsteps:\n{rest}"),
        )
        .output()
        .await
}

#[tokio::test]
async fn check_refuses_what_is_wrong_with_scenes() {
    let output = check(
        "  - scene: qa_opne\n  - lock: {}\npanic_scene: panik\nscenes:\n  Panic:\n    - lock: {}\n  qa_open:\n    - lower_all_hands: {}\n      at: +5m\n    - brodcast: Bob\n    - mute: { role: boss }\n    - scene: stand_by\n  stand_by:\n    - log: \"{{ nobody }}\"\n    - scene: qa_open\n",
    )
    .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    insta::assert_snapshot!(output.transcript());
}

#[tokio::test]
async fn the_plan_lists_the_scenes_after_the_timeline() {
    let run = || {
        Run::command(&[
            "plan",
            "show.yaml",
            "--sim",
            "--start",
            "2026-11-22T10:00:00Z",
        ])
        .file("show.yaml", SHOW)
    };
    let output = run().output().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    insta::assert_snapshot!(output.stdout);

    let output = run().arg("--format").arg("json").output().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let plan: Value = serde_json::from_str(&output.stdout).unwrap();
    let rows: Vec<(&str, &str)> = plan["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["scene"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        rows,
        [
            ("1", ""),
            ("2", "qa_open"),
            ("2.1", ""),
            ("2.2", ""),
            ("2.always.1", ""),
            ("3", "panic"),
            ("3.1", ""),
            ("3.2", "")
        ]
    );
    let scenes = plan["scenes"].as_array().unwrap();
    let listed: Vec<(&str, bool, usize)> = scenes
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["panic"].as_bool().unwrap(),
                s["steps"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(listed, [("panic", true, 2), ("qa_open", false, 2)]);
    let lock = &scenes[0]["steps"][1];
    assert_eq!(lock["id"], "2");
    assert_eq!(lock["action"], "lock");
    assert!(
        lock["calls"][0].as_str().unwrap().ends_with("/lock"),
        "{lock}"
    );
}

#[tokio::test]
async fn scenes_include_files_and_included_files_play_scenes() {
    let main = "name: Show\nmeeting: { id: \"914044873\", host_password: pw1234 }\nsteps:\n  - include: parts/opening.yaml\nscenes:\n  doors:\n    - include: { file: parts/doors.yaml, vars: { note: closing } }\nrehearsal:\n  participants: [ { name: Alice Zhang, role: host } ]\n";
    let (output, requests) = Run::playbook(main)
        .file("parts/opening.yaml", "- scene: doors\n")
        .file("parts/doors.yaml", "- log: \"{{ note }}\"\n- lock: {}\n")
        .rehearse()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output.stdout.contains("info    closing"),
        "{}",
        output.stdout
    );
    assert_eq!(action_calls(&requests), ["lock"]);
    // Problems are reported in the file they are in.
    for (opening, doors, expected) in [
        (
            "- scene: dors\n",
            "- lock: {}\n",
            "no scene is named `dors`\n --> parts/opening.yaml:1:10",
        ),
        (
            "- scene: doors\n",
            "- lokc: {}\n",
            "unknown key `lokc`\n --> parts/doors.yaml:1:3",
        ),
    ] {
        let output = Run::command(&["check", "playbook.yaml"])
            .file("playbook.yaml", main)
            .file("parts/opening.yaml", opening)
            .file("parts/doors.yaml", doors)
            .output()
            .await;
        assert_eq!(output.code, 2, "{}", output.transcript());
        assert!(
            output.stderr.contains(expected),
            "{expected}: {}",
            output.stderr
        );
    }
}

#[tokio::test]
async fn check_refuses_cli_vars_that_name_what_a_scene_registers() {
    let text = "name: Show\nmeeting: { id: \"914044873\", host_password: pw1234 }\nsteps:\n  - scene: count\nscenes:\n  count:\n    - participants: {}\n      register: people\n";
    let output = Run::command(&["check", "p.yaml", "-e", "people=x"])
        .file("p.yaml", text)
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output
            .stderr
            .contains("`-e people` names the result this step registers")
            && output.stderr.contains("p.yaml:8:17"),
        "{}",
        output.transcript()
    );
}
