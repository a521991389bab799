//! `emcee check` as CI runs it: directories walked, included files checked through
//! their includers, fragments on their own, and problems as GitHub annotations or JSON.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

const PLAYBOOK: &str = "name: Show\nmeeting: { id: \"914044873\", host_password: pw }\nsteps:\n";

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `emcee check ARGS` in `dir`, with a watchdog against a walk that never ends.
async fn check_in(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["check"];
    all.extend(args);
    let run = Run::command(&all);
    tokio::time::timeout(Duration::from_secs(60), run.output_in(dir))
        .await
        .expect("check finishes")
}

/// A tree with a playbook that includes a fragment with its variables, a fragment no
/// one includes, a hidden directory, a file that is not YAML, and a link loop.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "books/show.yaml",
        &format!(
            "{PLAYBOOK}  - include: {{ file: ../parts/intro.yaml, vars: {{ speaker: Ann }} }}\n"
        ),
    );
    // Checked through show.yaml, which gives `speaker`.
    write(
        root,
        "parts/intro.yaml",
        "- broadcast: \"Welcome, {{ speaker }}\"\n",
    );
    // Included by no one: `guest` may come from an includer elsewhere; the typo may not.
    write(
        root,
        "parts/orphan.yaml",
        "- broadcast: \"Hello, {{ guest }}\"\n- brodcast: x\n",
    );
    write(root, "z.yml", &format!("{PLAYBOOK}  - lock: {{}}\n"));
    write(root, ".drafts/broken.yaml", "steps: [\n");
    write(root, "notes.txt", "not yaml: [\n");
    std::os::unix::fs::symlink("..", root.join("parts/up")).unwrap();
    dir
}

#[tokio::test]
async fn directories_are_walked_and_fragments_checked_as_such() {
    let dir = tree();
    let output = check_in(dir.path(), &[".", "--format", "json"]).await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    let report: Value = serde_json::from_str(&output.stdout).unwrap();
    let files: Vec<(&str, &str, bool)> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap(),
                f["kind"].as_str().unwrap(),
                f["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    // By name, hidden and included files left out, the loop not followed.
    assert_eq!(
        files,
        [
            ("./books/show.yaml", "playbook", true),
            ("./parts/orphan.yaml", "fragment", false),
            ("./z.yml", "playbook", true),
        ]
    );
    // The fragment's undefined `guest` is allowed; its unknown key is not.
    assert_eq!(
        report["problems"],
        serde_json::json!([{
            "file": "./parts/orphan.yaml",
            "line": 2,
            "column": 3,
            "end": {"line": 2, "column": 11},
            "severity": "error",
            "message": "unknown key `brodcast`",
            "help": "did you mean `broadcast`?",
        }])
    );
}

#[tokio::test]
async fn a_clean_tree_passes_and_says_what_it_checked() {
    let dir = tree();
    std::fs::remove_file(dir.path().join("parts/orphan.yaml")).unwrap();
    write(
        dir.path(),
        "parts/outro.yaml",
        "- broadcast: \"Bye, {{ guest }}\"\n",
    );
    let output = check_in(dir.path(), &["."]).await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(
        output.stdout,
        "ok: ./books/show.yaml (2 steps)\nok: ./parts/outro.yaml (1 steps, a fragment)\nok: ./z.yml (1 steps)\n"
    );
}

#[tokio::test]
async fn problems_in_an_included_file_are_found_through_its_includer() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "show.yaml",
        &format!("{PLAYBOOK}  - include: {{ file: part.yaml, vars: {{ speaker: Ann }} }}\n"),
    );
    write(
        dir.path(),
        "part.yaml",
        "- broadcast: \"{{ speaker }} and {{ nobody }}\"\n",
    );
    let output = check_in(dir.path(), &[".", "--format", "json"]).await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    let report: Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(report["files"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["problems"][0]["file"], "./part.yaml");
    assert_eq!(
        report["problems"][0]["message"],
        "undefined variable `nobody`"
    );
}

#[tokio::test]
async fn github_annotations_carry_the_position_and_escape_the_text() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "show,v2.yaml",
        &format!("{PLAYBOOK}  - lock: {{}}\n    colour: red\n  - brodcast: \"a, b: c\"\n"),
    );
    let output = check_in(dir.path(), &["show,v2.yaml", "--format", "github"]).await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert_eq!(output.stderr, "");
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", output.stdout);
    assert!(
        lines[0].starts_with(
            "::error file=show%2Cv2.yaml,line=5,col=5,endLine=5,endColumn=11,title=emcee check::unknown key `colour`%0Ahelp: "
        ),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        "::error file=show%2Cv2.yaml,line=6,col=5,endLine=6,endColumn=13,title=emcee check::unknown key `brodcast`%0Ahelp: did you mean `broadcast`?"
    );
}

#[tokio::test]
async fn the_help_describes_the_formats() {
    let output = Run::command(&["check", "--help"]).output().await;
    assert_eq!(output.code, 0);
    for word in [
        "--format",
        "github",
        "json",
        "directories",
        "fragment",
        "\"severity\"",
    ] {
        assert!(output.stdout.contains(word), "{word}: {}", output.stdout);
    }
}
