//! The playbook model outside any run: the committed schema is current, the example
//! playbooks follow it and pass `check`, the action reference, and a property test
//! that no text or YAML tree makes the loader panic.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

use emcee::playbook::{self, KnownVars, Playbook};
use emcee::source::SourceFile;

use crate::support::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn examples() -> Vec<std::path::PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(format!("{ROOT}/playbooks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    paths
}

#[test]
fn the_committed_schema_is_current() {
    let committed =
        std::fs::read_to_string(format!("{ROOT}/schemas/playbook.schema.json")).unwrap();
    let generated = emcee::commands::schema::text();
    assert!(
        committed == generated,
        "schemas/playbook.schema.json is stale: run `cargo run -- schema > schemas/playbook.schema.json`"
    );
}

#[test]
fn example_playbooks_follow_the_schema_pass_check_and_carry_the_modeline() {
    let schema: Value = serde_json::from_str(&emcee::commands::schema::text()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    for path in examples() {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schemas/playbook.schema.json"),
            "{} lacks the modeline",
            path.display()
        );
        let value: Value = serde_saphyr::from_str(&text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        let loaded = Playbook::load(&path).unwrap();
        let problems = playbook::check(&loaded, &KnownVars::default());
        assert!(problems.is_empty(), "{}: {problems:?}", path.display());
    }
}

#[test]
fn the_schema_refuses_what_the_loader_refuses() {
    let schema: Value = serde_json::from_str(&emcee::commands::schema::text()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let base = "name: x\nmeeting: { id: \"914044873\", host_password: p }\nsteps:\n";
    for (steps, valid) in [
        ("  - lock: {}\n", true),
        ("  - broadcast: \"{{ who }}\"\n    when: ok\n", true),
        (
            "  - mute_all: { allow_self_unmute: \"{{ flag }}\" }\n",
            true,
        ),
        ("  - lock: {}\n    unlock: {}\n", false),
        ("  - brodcast: x\n", false),
        ("  - name: nothing\n", false),
        ("  - lock: {}\n    steps: [ { unlock: {} } ]\n", false),
        ("  - lock: {}\n    rescue: [ { unlock: {} } ]\n", false),
        ("  - lock: {}\n    late: skip\n", false),
        ("  - mute_all: { allow_self_unmute: maybe }\n", false),
        ("  - wait: 5m\n", true),
        (
            "  - scene: qa_open\n    always: [ { unlock: {} } ]\nscenes:\n  qa_open: [ { lock: {} } ]\npanic_scene: qa_open\n",
            true,
        ),
        ("  - scene: qa_open\n    lock: {}\n", false),
        ("  - scene: Q&A\n", false),
        ("  - lock: {}\nscenes:\n  Q&A: [ { lock: {} } ]\n", false),
        ("  - lock: {}\nscenes:\n  s: [ { lokc: {} } ]\n", false),
        ("  - lock: {}\nscenes:\n  s: lock\n", false),
    ] {
        let value: Value = serde_saphyr::from_str(&format!("{base}{steps}")).unwrap();
        assert_eq!(validator.is_valid(&value), valid, "{steps}");
    }
}

#[tokio::test]
async fn the_action_reference_is_generated_from_the_types() {
    let list = Run::command(&["actions"]).output().await;
    assert_eq!(list.code, 0);
    for action in emcee::playbook::ACTIONS {
        assert!(list.stdout.contains(action.name), "{} missing", action.name);
    }
    let one = Run::command(&["actions", "mute_all"]).output().await;
    insta::assert_snapshot!(one.stdout);
    let typo = Run::command(&["actions", "mute_al"]).output().await;
    assert_eq!(typo.code, 2);
    assert!(
        typo.stderr.contains("did you mean `mute_all`?"),
        "{}",
        typo.stderr
    );
    let schema = Run::command(&["schema"]).output().await;
    assert_eq!(schema.stdout, emcee::commands::schema::text());
}

#[tokio::test]
async fn check_takes_several_files_and_vars_from_outside() {
    let run = Run::command(&["check", "good.yaml", "needs-var.yaml"])
        .file("good.yaml", "name: a\nmeeting: { id: \"914044873\", host_password: p }\nsteps:\n  - lock: {}\n")
        .file("needs-var.yaml", "name: b\nmeeting: { id: \"914044873\", host_password: p }\nsteps:\n  - broadcast: \"{{ speaker }}\"\n");
    let output = run.output().await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output.stdout.contains("ok: good.yaml (1 steps)"),
        "{}",
        output.transcript()
    );
    assert!(
        output.stderr.contains("undefined variable `speaker`"),
        "{}",
        output.transcript()
    );
    let fixed = Run::command(&["check", "needs-var.yaml", "-e", "speaker=Alice"])
        .file("needs-var.yaml", "name: b\nmeeting: { id: \"914044873\", host_password: p }\nsteps:\n  - broadcast: \"{{ speaker }}\"\n")
        .output()
        .await;
    assert_eq!(fixed.code, 0, "{}", fixed.transcript());
}

fn yaml_tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z_{}' ]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "lock",
            "broadcast",
            "steps",
            "name",
            "meeting",
            "id",
            "loop",
            "when",
            "{{ x }}",
            "5m",
            "-1s",
            "rescue",
            "always",
            "mute_all",
            "participants",
            "914044873",
            "host_password",
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "name",
                        "meeting",
                        "id",
                        "host_password",
                        "token",
                        "steps",
                        "vars",
                        "defaults",
                        "retry",
                        "timeout",
                        "lock",
                        "broadcast",
                        "loop",
                        "when",
                        "rescue",
                        "always",
                        "rehearsal",
                        "participants",
                        "wait",
                        "set",
                        "assert",
                        "on_error",
                        "register",
                        "x",
                    ]),
                    inner
                ),
                0..6
            )
            .prop_map(|pairs| Value::Object(
                pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

fn load_and_check(text: &str) {
    let file = SourceFile::new("p.yaml", text);
    if let Ok(loaded) = Playbook::parse(file) {
        let _ = playbook::check(&loaded, &KnownVars::default());
    }
}

#[test]
fn the_loader_never_panics() {
    let mut runner = TestRunner::new(Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&".{0,300}", |text| {
            load_and_check(&text);
            Ok(())
        })
        .unwrap();
    runner
        .run(&yaml_tree(), |tree| {
            let mut doc = serde_json::json!({"name": "p", "meeting": {"id": "914044873", "host_password": "x"}});
            doc["steps"] = tree.clone();
            load_and_check(&serde_json::to_string(&doc).unwrap());
            load_and_check(&serde_json::to_string(&tree).unwrap());
            Ok(())
        })
        .unwrap();
}

#[tokio::test]
async fn every_example_playbook_rehearses_on_virtual_time() {
    for path in examples() {
        let output = Run::command(&["run", path.to_str().unwrap(), "--sim", "--fast-forward"])
            .output_in(ROOT)
            .await;
        assert_eq!(
            output.code,
            0,
            "{}:\n{}",
            path.display(),
            output.transcript()
        );
        assert!(output.stdout.contains("done "), "{}", output.stdout);
        assert!(
            !output.stdout.contains("{{"),
            "an unrendered template in the output:\n{}",
            output.stdout
        );
    }
}

#[tokio::test]
async fn completions_and_the_man_page_come_from_the_command_line_definitions() {
    for shell in ["bash", "zsh", "fish"] {
        let output = Run::command(&["completions", shell]).output().await;
        assert_eq!(output.code, 0, "{}", output.transcript());
        assert!(
            output.stdout.contains("fast-forward"),
            "{shell} completions know the run options"
        );
    }
    let man = Run::command(&["man"]).output().await;
    assert_eq!(man.code, 0, "{}", man.transcript());
    assert!(man.stdout.contains(".TH emcee 1"), "{}", man.stdout);
}

/// Bad playbooks `check` refuses and the schema accepts, with the reason the schema
/// cannot say it: a JSON Schema sees one document's shape, not its meaning.
const SCHEMA_EXCEPTIONS: &[(&str, &str)] = &[
    (
        "absurd-duration.yaml",
        "a duration's grammar and range are not in the schema, which says only that it is a string",
    ),
    (
        "bad-duration.yaml",
        "a duration's grammar is not in the schema, which says only that it is a string",
    ),
    (
        "zero-timeout.yaml",
        "a duration's value is not in the schema, which says only that it is a string",
    ),
    (
        "retry-initial-over-max.yaml",
        "comparing two durations needs their values, and the schema has only strings",
    ),
    (
        "bad-cue-time.yaml",
        "a cue's grammar (relative, time of day, date and time, instant) is not in the schema",
    ),
    (
        "cue-goes-back-in-time.yaml",
        "the order of cues is a relation between steps, which a schema cannot compare",
    ),
    (
        "relative-cues-out-of-order.yaml",
        "the order of cues is a relation between steps, which a schema cannot compare",
    ),
    (
        "cue-without-timezone.yaml",
        "whether a cue needs `timezone` depends on the cue's grammar",
    ),
    (
        "wait-until-without-timezone.yaml",
        "whether a time needs `timezone` depends on its grammar",
    ),
    (
        "unknown-timezone.yaml",
        "the IANA time zone names are the system's database, not a fixed list",
    ),
    (
        "assert-undefined-variable.yaml",
        "which variables are defined is known only by reading the templates",
    ),
    (
        "undefined-variable.yaml",
        "which variables are defined is known only by reading the templates",
    ),
    (
        "undefined-variable-in-when.yaml",
        "which variables are defined is known only by reading the templates",
    ),
    (
        "template-syntax-error.yaml",
        "template syntax is not a regular language",
    ),
    (
        "when-syntax-error.yaml",
        "expression syntax is not a regular language",
    ),
    (
        "include-itself.yaml",
        "an include names another file, which the schema does not read",
    ),
    (
        "include-missing-file.yaml",
        "an include names another file, which the schema does not read",
    ),
    (
        "empty-selector.yaml",
        "a selector's fields are each optional; that at least one is given is for `check` to say",
    ),
    (
        "wait-for-bad-headcount.yaml",
        "a headcount may be a comparison such as \">= 20\", whose grammar is not in the schema",
    ),
    (
        "wait-for-nothing.yaml",
        "`wait_for` needs one condition among optional fields beside `timeout`",
    ),
    (
        "rehearsal-two-hosts.yaml",
        "one host among the participants is a count of matching items, which the schema does not make",
    ),
    (
        "rehearsal-ends-twice.yaml",
        "`ends_at` and `duration` are each optional; that they are not both given is for `check` to say",
    ),
    (
        "rehearsal-with-id.yaml",
        "the rehearsal shares the emulator seed's schema, where `id` and `host_password` belong",
    ),
];

/// Every bad playbook under `tests/`, through both `check` and the schema: those for
/// `check` are refused by both, except the listed ones; those that fail only when run
/// pass both.
#[test]
fn the_schema_and_check_agree_on_every_bad_playbook() {
    let schema: Value = serde_json::from_str(&emcee::commands::schema::text()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let files = |dir: &str| {
        let mut paths: Vec<_> = std::fs::read_dir(format!("{ROOT}/tests/bad/{dir}"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        paths.sort();
        paths
    };
    let refused_by_check = |path: &std::path::Path| match Playbook::load_all(path) {
        Ok((loaded, problems)) => {
            !problems.is_empty() || !playbook::check(&loaded, &KnownVars::default()).is_empty()
        }
        Err(_) => true,
    };
    // A file that is not one YAML document is beyond any schema: the YAML parser refuses it.
    let refused_by_schema = |path: &std::path::Path| {
        let text = std::fs::read_to_string(path).unwrap();
        serde_saphyr::from_str::<Value>(&text).map_or(true, |value| !validator.is_valid(&value))
    };
    let mut disagreements = Vec::new();
    let mut stale = Vec::new();
    for path in files("check") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(refused_by_check(&path), "check accepts {name}");
        let excepted = SCHEMA_EXCEPTIONS.iter().any(|(file, _)| *file == name);
        match (refused_by_schema(&path), excepted) {
            (false, false) => disagreements.push(name),
            (true, true) => stale.push(name),
            _ => {}
        }
    }
    for path in files("run") {
        assert!(!refused_by_check(&path), "check refuses {}", path.display());
        assert!(
            !refused_by_schema(&path),
            "the schema refuses {}",
            path.display()
        );
    }
    assert!(
        disagreements.is_empty(),
        "the schema accepts these, which check refuses: make the schema refuse them, or list them in SCHEMA_EXCEPTIONS with the reason: {disagreements:#?}"
    );
    assert!(
        stale.is_empty(),
        "the schema now refuses these: take them out of SCHEMA_EXCEPTIONS: {stale:#?}"
    );
}
