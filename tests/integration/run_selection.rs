//! Reuse and selection: `include` with vars (relative paths, cycles refused, messages
//! pointing into the included file), `--tags`/`--skip-tags` and `--start-at`, checked
//! against the calls the rehearsal emulator received.

use crate::support::*;

const MAIN: &str = "name: Main\nmeeting: { id: \"914044873\", host_password: pw1234 }\nsteps:\n  - name: Bob's turn\n    include: { file: parts/stage.yaml, vars: { speaker: Bob Li } }\n  - include: parts/stage.yaml\nrehearsal:\n  participants: [ { name: Alice Zhang, role: host }, { name: Bob Li } ]\n";
const STAGE: &str = "vars:\n  speaker: Alice Zhang\nsteps:\n  - broadcast: \"{{ speaker }}\"\n  - name: \"Applause for {{ speaker }}\"\n    log: \"thank you, {{ speaker }}\"\n";

#[tokio::test]
async fn includes_run_with_their_vars_over_the_files_defaults() {
    let (output, requests) = Run::playbook(MAIN)
        .file("parts/stage.yaml", STAGE)
        .rehearse()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output.stdout.contains("info    thank you, Bob Li"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("info    thank you, Alice Zhang"),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("block   [2/2] include parts/stage.yaml"),
        "{}",
        output.stdout
    );
    assert_eq!(action_calls(&requests), ["broadcast", "broadcast"]);
}

#[tokio::test]
async fn problems_in_an_included_file_point_into_it() {
    let output = Run::command(&["check", "main.yaml"])
        .file("main.yaml", MAIN)
        .file(
            "parts/stage.yaml",
            "steps:\n  - broadcast: \"{{ speakr }}\"\n",
        )
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output.stderr.contains("--> parts/stage.yaml:2:16"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("undefined variable `speakr`"),
        "{}",
        output.stderr
    );
}

#[tokio::test]
async fn include_cycles_show_the_chain() {
    let output = Run::command(&["check", "main.yaml"])
        .file("main.yaml", "name: M\nmeeting: { id: \"914044873\", host_password: pw }\nsteps:\n  - include: a/one.yaml\n")
        .file("a/one.yaml", "- include: ../b/two.yaml\n")
        .file("b/two.yaml", "- include: ../a/one.yaml\n")
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output
            .stderr
            .contains("error: include cycle: a/one.yaml → a/../b/two.yaml → a/../b/../a/one.yaml"),
        "{}",
        output.stderr
    );
}

const TAGGED: &str = "name: Tags\nmeeting: { id: \"914044873\", host_password: pw1234 }\nsteps:\n  - name: Doors\n    lock: {}\n    tags: setup\n  - name: Recording\n    tags: [recording]\n    steps:\n      - start_recording: {}\n      - name: Live too\n        start_live: {}\n  - name: Q&A\n    steps:\n      - lower_all_hands: {}\n      - name: Unmute\n        unmute_all: {}\n        tags: qa\n";

#[tokio::test]
async fn tags_select_and_skip_steps() {
    let (output, requests) = Run::playbook(TAGGED)
        .arg("--tags")
        .arg("qa,setup")
        .rehearse()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(action_calls(&requests), ["lock", "mute"]);
    let (output, requests) = Run::playbook(TAGGED)
        .arg("--skip-tags")
        .arg("recording")
        .rehearse()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(
        action_calls(&requests),
        ["lock", "mute"],
        "the block's tag covers its steps"
    );
    assert!(
        output
            .stdout
            .contains("skip    Recording: tagged recording (--skip-tags)"),
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn start_at_skips_what_comes_before() {
    for target in ["Live too", "2.2"] {
        let (output, requests) = Run::playbook(TAGGED)
            .arg("--start-at")
            .arg(target)
            .rehearse()
            .await;
        assert_eq!(output.code, 0, "{}", output.transcript());
        assert_eq!(
            action_calls(&requests),
            ["live", "mute"],
            "--start-at {target}"
        );
    }
}

#[tokio::test]
async fn unknown_tags_and_steps_are_refused_before_anything_runs() {
    for (args, expected) in [
        (
            ["--tags", "recordng"],
            "unknown tag `recordng`; did you mean `recording`?",
        ),
        (
            ["--skip-tags", "nothing"],
            "unknown tag `nothing`; its tags are: qa, recording, setup",
        ),
        (
            ["--start-at", "Lve too"],
            "--start-at Lve too: no step has that name or id; did you mean `Live too`?",
        ),
    ] {
        let output = Run::playbook(TAGGED)
            .arg("--sim")
            .arg(args[0])
            .arg(args[1])
            .output()
            .await;
        assert_eq!(output.code, 2, "{}", output.transcript());
        assert!(output.stderr.contains(expected), "{}", output.stderr);
        assert!(output.stdout.is_empty(), "nothing ran: {}", output.stdout);
    }
    let output = Run::command(&["check", "p.yaml", "--tags", "recordng"])
        .file("p.yaml", TAGGED)
        .output()
        .await;
    assert_eq!(
        output.code,
        2,
        "check finds unknown tags too: {}",
        output.transcript()
    );
}
