//! Participants named as people type them: any case, stray spaces, no accents.

use crate::support::*;

#[tokio::test]
async fn names_match_as_people_type_them_and_a_miss_names_the_closest() {
    let playbook = format!(
        "name: Names\nmeeting:\n  id: \"{MEETING}\"\n  host_password: \"{{{{ secret('EMCEE_HOST_PASSWORD') }}}}\"\nsteps:\n  - broadcast: dmitri orsted-nunez\n  - mute: \"  Bob   Li \"\n  - broadcast: Dmitri Orsted\n    on_error: continue\nrehearsal:\n  participants:\n    - {{ name: Alice Zhang, role: host }}\n    - {{ name: Bob Li }}\n    - {{ name: Dmitri Ørsted-Ñúñez }}\n"
    );
    let output = Run::playbook(&playbook).arg("--sim").output().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("ok      [1/3] broadcast: broadcasting Dmitri Ørsted-Ñúñez"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("ok      [2/3] mute: muted Bob Li"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains(
            "FAILED  [3/3] broadcast: no participant matches `Dmitri Orsted`; closest: Dmitri Ørsted-Ñúñez; online:"
        ),
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn a_name_cannot_add_lines_to_the_rehearsals_summary() {
    let playbook = format!(
        "name: Names\nmeeting:\n  id: \"{MEETING}\"\n  host_password: \"{{{{ secret('EMCEE_HOST_PASSWORD') }}}}\"\nsteps:\n  - mute_all: {{}}\nrehearsal:\n  participants:\n    - {{ name: Alice Zhang, role: host }}\n    - {{ name: \"Mallory\\n  locked: yes, recording: yes\\n  online: 0\" }}\n"
    );
    let output = Run::playbook(&playbook).arg("--sim").output().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("  muted: Mallory\\u{a}  locked: yes"),
        "{}",
        output.stdout
    );
    assert!(
        !output.stdout.contains("\n  online: 0\n"),
        "{}",
        output.stdout
    );
}
