//! Variables from the command line and their precedence: `-e KEY=VALUE` is a string
//! as typed, `-e KEY:=YAML` is typed, and `-e` beats every other source, includes
//! too, without shadowing what the run itself sets.

use crate::support::*;

const HEAD: &str = "name: P\nmeeting:\n  id: \"{{ conference_id }}\"\n  host_password: \"{{ secret('EMCEE_HOST_PASSWORD') }}\"\nvars:\n  conference_id: \"914044873\"\n";

const PEOPLE: &str = "rehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n    - { name: Bob Li }\n    - { name: Carol Wu }\n    - { name: \"Dr. Alice: CEO\" }\n";

fn playbook(steps: &str) -> String {
    format!("{HEAD}steps:\n{steps}{PEOPLE}")
}

async fn rehearse(run: Run) -> Output {
    let output = run.arg("--sim").arg("--fast-forward").output().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    output
}

#[tokio::test]
async fn a_meeting_id_with_a_leading_zero_stays_as_typed() {
    let output = rehearse(
        Run::playbook(&playbook("  - lock: {}\n"))
            .arg("-e")
            .arg("conference_id=012345678"),
    )
    .await;
    assert!(
        output.stdout.contains("Rehearsal meeting 012345678 "),
        "{}",
        output.transcript()
    );
}

#[tokio::test]
async fn a_value_with_a_colon_is_a_string() {
    let output = rehearse(
        Run::playbook(&playbook("  - broadcast: \"{{ ceo }}\"\n"))
            .arg("-e")
            .arg("ceo=Dr. Alice: CEO"),
    )
    .await;
    assert!(
        output.stdout.contains("broadcast: Dr. Alice: CEO\n"),
        "{}",
        output.transcript()
    );
}

#[tokio::test]
async fn the_typed_form_reads_yaml() {
    let output = rehearse(
        Run::playbook(&playbook(
            "  - loop: \"{{ panel }}\"\n    broadcast: \"{{ item }}\"\n  - assert: \"rounds + 1 == 3\"\n",
        ))
        .arg("-e")
        .arg("panel:=[Bob Li, Carol Wu]")
        .arg("-e")
        .arg("rounds:=2"),
    )
    .await;
    assert!(
        output.stdout.contains("broadcast: Carol Wu\n"),
        "{}",
        output.transcript()
    );
    let bad = Run::command(&["check", "p.yaml", "-e", "panel:=[Bob Li"])
        .file("p.yaml", &playbook("  - lock: {}\n"))
        .output()
        .await;
    assert_eq!(bad.code, 2, "{}", bad.transcript());
    assert!(bad.stderr.contains("-e panel:="), "{}", bad.transcript());
    let reserved = Run::command(&["check", "p.yaml", "-e", "item=x"])
        .file("p.yaml", &playbook("  - lock: {}\n"))
        .output()
        .await;
    assert_eq!(reserved.code, 2, "{}", reserved.transcript());
    assert!(
        reserved.stderr.contains("`item` is set by `loop`"),
        "{}",
        reserved.transcript()
    );
}

const PART: &str = "vars:\n  speaker: Bob Li\nsteps:\n  - broadcast: \"{{ speaker }}\"\n";

#[tokio::test]
async fn cli_beats_an_included_files_defaults() {
    let output = rehearse(
        Run::playbook(&playbook("  - include: part.yaml\n"))
            .file("part.yaml", PART)
            .arg("-e")
            .arg("speaker=Carol Wu"),
    )
    .await;
    assert!(
        output.stdout.contains("broadcast: Carol Wu\n"),
        "{}",
        output.transcript()
    );
}

#[tokio::test]
async fn cli_beats_the_includes_own_vars_and_the_plan_agrees() {
    let steps = "  - include: { file: part.yaml, vars: { speaker: Alice Zhang } }\n";
    let output = rehearse(
        Run::playbook(&playbook(steps))
            .file("part.yaml", PART)
            .arg("-e")
            .arg("speaker=Carol Wu"),
    )
    .await;
    assert!(
        output.stdout.contains("broadcast: Carol Wu\n"),
        "{}",
        output.transcript()
    );
    let plan = |extra: &[&str]| {
        let mut run = Run::command(&["plan", "p.yaml", "--format", "json"])
            .file("p.yaml", &playbook(steps))
            .file("part.yaml", PART);
        for arg in extra {
            run = run.arg(arg);
        }
        run.output()
    };
    let target = |output: &Output| -> String {
        assert_eq!(output.code, 0, "{}", output.transcript());
        let plan: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
        plan["rows"][1]["target"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(target(&plan(&[]).await), "Alice Zhang");
    assert_eq!(target(&plan(&["-e", "speaker=Carol Wu"]).await), "Carol Wu");
}

#[tokio::test]
async fn check_refuses_cli_vars_that_name_registered_or_set_results() {
    let steps = "  - participants: {}\n    register: people\n  - set: { count: 3 }\n  - log: \"{{ people | length }} {{ count }}\"\n";
    let output = Run::command(&["check", "p.yaml", "-e", "people=x", "-e", "count:=1"])
        .file("p.yaml", &playbook(steps))
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output
            .stderr
            .contains("`-e people` names the result this step registers")
            && output.stderr.contains("p.yaml:9:15")
            && output
                .stderr
                .contains("`-e count` names a variable this step sets"),
        "{}",
        output.transcript()
    );
    // The same refusal stops a run before anything is sent.
    let run = Run::playbook(&playbook(steps))
        .arg("-e")
        .arg("people=x")
        .arg("--sim")
        .output()
        .await;
    assert_eq!(run.code, 2, "{}", run.transcript());
    // A vars file may give a default a step later replaces.
    let file = Run::command(&["check", "p.yaml", "--vars-file", "v.yaml"])
        .file("p.yaml", &playbook(steps))
        .file("v.yaml", "people: []\n")
        .output()
        .await;
    assert_eq!(file.code, 0, "{}", file.transcript());
}
