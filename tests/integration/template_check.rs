//! `check` finds filters, tests and functions the template engine does not have,
//! which otherwise fail only when a run reaches them.

use crate::support::*;

#[tokio::test]
async fn check_finds_unknown_filters_and_functions_at_their_fields() {
    let playbook = "name: P\nmeeting: { id: \"914044873\", host_password: pw }\nvars:\n  ceo: Alice Zhang\nsteps:\n  - log: \"{{ ceo | b64encode }}\"\n  - name: \"{{ ceo | urlencode }}\"\n    when: ceo | lenght > 0\n    lock: {}\n  - log: \"{{ b64encode(ceo) }}\"\n";
    let output = Run::command(&["check", "p.yaml"])
        .file("p.yaml", playbook)
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    for expected in [
        "error: unknown filter `b64encode`\n --> p.yaml:6:10",
        "error: unknown filter `urlencode`\n --> p.yaml:7:11",
        "error: unknown filter `lenght`\n --> p.yaml:8:11",
        "= help: did you mean `length`?",
        "error: unknown function `b64encode`\n  --> p.yaml:10:10",
        "4 problems found",
    ] {
        assert!(
            output.stderr.contains(expected),
            "{expected}\n{}",
            output.transcript()
        );
    }
    // A run refuses the playbook before it sends anything.
    let run = Run::playbook(playbook).arg("--sim").output().await;
    assert_eq!(run.code, 2, "{}", run.transcript());
}
