//! Secrets and hostile text at every output of a rehearsal: JSON lines, plain lines,
//! the journal, the JSON and JUnit reports, the emulator's request log and the plan.
//! No secret may show in any form a filter or an escaping makes of it, no document may
//! stop parsing because of the masking, and names from outside are shown escaped.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

/// Every character JSON, XML or a template's `repr` escapes.
const AWKWARD: &str = r#"p"a\ss<&>'1"#;

/// A playbook whose password is the secret `PW`, using it in every way a template can.
const USES: &str = r#"name: Secrets
meeting:
  id: "914044873"
  host_password: "{{ secret('PW') }}"
vars:
  shout: "{{ secret('PW') | upper }}"
steps:
  - lock: {}
  - log: "{{ secret('PW') }}"
  - log: "{{ secret('PW') | upper }}"
  - log: "lower {{ secret('PW') | lower }}"
  - log: "{{ secret('PW') | reverse }}"
  - log: "{{ secret('PW') | title }}"
  - log: "{{ secret('PW')[1:] }}"
    register: said
  - log: "{{ said }}"
  - log: "{{ said.msg[1:] }}"
  - log: "{{ shout[2:] }}"
  - log: "list {{ [secret('PW'), 'x'] }}"
  - set: { pair: "{{ [secret('PW'), 'x'] }}" }
  - log: "{{ pair[0][2:] }}"
  - log: "{{ pair | tojson }}"
  - name: "step {{ secret('PW')[3:] }}"
    log: hello
  - name: Fails, showing the secret
    broadcast: "{{ secret('PW')[1:] }}"
    on_error: continue
  - name: Sends it where the request log keeps it
    http:
      method: PUT
      path: /v1/mmc/control/conferences/lock
      body: { isLock: 1, note: "{{ secret('PW') }}" }
    on_error: continue
  - unlock: {}
"#;

/// What the masks must have caught: the secret's core in every form and escaping, in
/// a lower-cased text (`a\ss` forwards, `ss\a` reversed; one backslash or two).
fn leaks(text: &str) -> Vec<&'static str> {
    let lowered = text.to_lowercase();
    [r"a\ss", r"a\\ss", r"ss\a", r"ss\\a"]
        .into_iter()
        .filter(|core| lowered.contains(core))
        .collect()
}

#[track_caller]
fn assert_clean(what: &str, text: &str) {
    assert!(!text.is_empty(), "{what} is empty");
    assert!(leaks(text).is_empty(), "{what} shows the secret: {text}");
}

/// The one journal the run left in its state directory.
fn journal(dir: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(dir.join("state/runs"))
        .expect("a journal directory")
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

/// Every line of JSON lines parses.
#[track_caller]
fn json_lines(what: &str, text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: {e}: {line}")))
        .collect()
}

/// `emcee report JOURNAL` accepts the journal and rebuilds its report.
async fn report_of(journal: &Path) -> Value {
    let output = Run::command(&["report", journal.to_str().unwrap()])
        .output()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    serde_json::from_str(&output.stdout).expect("the rebuilt report parses")
}

#[tokio::test]
async fn no_form_of_a_secret_shows_in_any_output() {
    let (output, dir) = Run::playbook(USES)
        .arg("--sim")
        .arg("--log-format")
        .arg("json")
        .arg("--report")
        .arg("json=report.json")
        .arg("--report")
        .arg("junit=report.xml")
        .arg("--sim-requests")
        .arg("requests.json")
        .env("PW", AWKWARD)
        .output_with_dir()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_clean("JSON lines", &output.transcript());
    let events = json_lines("JSON lines", &output.stdout);
    let messages: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "message")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    // Every message but the plain one is a field rendered from the secret.
    assert_eq!(messages.len(), 13, "{messages:?}");
    assert!(
        messages.iter().all(|m| *m == "***" || *m == "hello"),
        "{messages:?}"
    );
    let names: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "step_started")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"***"), "{names:?}");

    let journal = journal(dir.path());
    let text = std::fs::read_to_string(&journal).unwrap();
    assert_clean("the journal", &text);
    json_lines("the journal", &text);
    assert_clean("the rebuilt report", &report_of(&journal).await.to_string());
    for file in ["report.json", "requests.json"] {
        let value = read_json(dir.path().join(file));
        assert_clean(file, &value.to_string());
        assert_clean(
            file,
            &std::fs::read_to_string(dir.path().join(file)).unwrap(),
        );
    }
    let junit = std::fs::read_to_string(dir.path().join("report.xml")).unwrap();
    assert_clean("the JUnit report", &junit);
    // The password still reached the API, and the values sent are whole: the note
    // reached the request log, where it is masked.
    let requests = read_json(dir.path().join("requests.json"));
    let calls: Vec<Value> = requests.as_array().unwrap().clone();
    assert_eq!(
        action_calls(&calls),
        ["lock", "lock", "lock"],
        "{requests:#}"
    );
    assert_eq!(
        calls[calls.len() - 2]["body"]["note"],
        "***",
        "{requests:#}"
    );

    // The same in plain lines.
    let plain = Run::playbook(USES)
        .arg("--sim")
        .env("PW", AWKWARD)
        .output()
        .await;
    assert_eq!(plain.code, 0, "{}", plain.transcript());
    assert_clean("plain lines", &plain.transcript());
}

#[tokio::test]
async fn the_plan_shows_no_form_of_a_secret() {
    for format in ["json", "table"] {
        let output = Run::command(&["plan", "playbook.yaml", "--format", format])
            .file("playbook.yaml", USES)
            .env("PW", AWKWARD)
            .output()
            .await;
        assert_eq!(output.code, 0, "{}", output.transcript());
        assert_clean(format, &output.transcript());
        if format == "json" {
            let plan: Value = serde_json::from_str(&output.stdout).expect("the plan parses");
            assert!(
                plan["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["target"] == "***")
            );
        }
    }
}

#[tokio::test]
async fn numeric_passwords_leave_numbers_and_documents_whole() {
    for password in ["1000", PASSWORD] {
        // A wait as long as the password puts the password's digits in a number.
        let playbook = format!(
            "name: Digits\nmeeting:\n  id: \"{MEETING}\"\n  host_password: \"{{{{ secret('PW') }}}}\"\nsteps:\n  - lock: {{}}\n  - wait: {password}ms\n  - log: \"pw {{{{ secret('PW') }}}}\"\n"
        );
        let (output, dir) = Run::playbook(&playbook)
            .arg("--sim")
            .arg("--fast-forward")
            .arg("--log-format")
            .arg("json")
            .arg("--report")
            .arg("json=report.json")
            .arg("--sim-requests")
            .arg("requests.json")
            .env("PW", password)
            // The wait's length is read below: real timings, not placeholders.
            .env("EMCEE_DETERMINISTIC", "0")
            .output_with_dir()
            .await;
        assert_eq!(output.code, 0, "{}", output.transcript());
        let journal = journal(dir.path());
        let journal_text = std::fs::read_to_string(&journal).unwrap();
        for (what, text) in [
            ("JSON lines", &output.stdout),
            ("the journal", &journal_text),
        ] {
            let events = json_lines(what, text);
            let waiting = events
                .iter()
                .find(|e| e["event"] == "waiting")
                .unwrap_or_else(|| panic!("{what}: no waiting event: {text}"));
            assert_eq!(
                waiting["left"].to_string(),
                password,
                "{what}: a number was masked"
            );
            let message = events.iter().find(|e| e["event"] == "message").unwrap();
            assert_eq!(message["text"], "***", "{what}");
        }
        read_json(dir.path().join("report.json"));
        read_json(dir.path().join("requests.json"));
        let report = report_of(&journal).await;
        assert_eq!(report["success"], true, "{report:#}");
        // The journal can be resumed from: a finished run has nothing left to do.
        let resumed = Run::playbook(&playbook)
            .arg("--sim")
            .arg("--resume")
            .arg(journal.to_str().unwrap())
            .env("PW", password)
            .output_in(dir.path())
            .await;
        assert_eq!(resumed.code, 0, "{}", resumed.transcript());
        assert!(
            resumed.stdout.contains("already finished"),
            "{}",
            resumed.transcript()
        );
    }
}

#[tokio::test]
async fn names_from_outside_are_shown_escaped() {
    // A guest's display name that clears the screen, moves the cursor and reverses text.
    let playbook = "name: Names\nmeeting:\n  id: \"914044873\"\n  host_password: \"{{ secret('PW') }}\"\nsteps:\n  - broadcast: { phone: \"+8613800000002\" }\n  - participants: { hand: true }\n    register: up\n  - log: \"up: {{ up | map(attribute='name') | join(', ') }}\"\n  - name: \"lower {{ up[0].name }}\"\n    lower_hand: { phone: \"+8613800000002\" }\n  - broadcast: nobody here\n    on_error: continue\nrehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n    - { name: \"Eve\\u001b[2J\\u001b[Hok\\u202Eevil\\u200B\\u009b\", phone: \"+8613800000002\", hand: raised }\n";
    let output = Run::playbook(playbook)
        .arg("--sim")
        .env("PW", "rehearsal-password")
        .output()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let transcript = output.transcript();
    for hidden in ['\u{1b}', '\u{202e}', '\u{200b}', '\u{9b}'] {
        assert!(
            !transcript.contains(hidden),
            "{hidden:?} reached the output:\n{transcript}"
        );
    }
    let shown = r"Eve\u{1b}[2J\u{1b}[Hok\u{202e}evil\u{200b}\u{9b}";
    // In the step lines, the log line, a step name, an error listing who is online,
    // and the rehearsal's final state.
    for line in [
        format!("broadcasting {shown}"),
        format!("info    up: {shown}"),
        format!("lower {shown}"),
        format!("broadcast: {shown}"),
    ] {
        assert!(transcript.contains(&line), "{line}\n{transcript}");
    }
    assert!(
        transcript
            .lines()
            .any(|l| l.contains("no participant matches") && l.contains(shown)),
        "{transcript}"
    );
}
