//! What a lock and `--resume last` are about: one meeting at one endpoint. A test run
//! against a local emulator does not block the production run of the same meeting id,
//! and `--resume last` passes over the journals of rehearsals, other playbooks and
//! other endpoints.

use crate::support::*;

#[tokio::test]
async fn a_run_against_a_test_emulator_does_not_block_the_same_meeting_elsewhere() {
    let test = Emu::start(TOWN_HALL).await;
    let production = Emu::start(TOWN_HALL).await;
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap().to_owned();
    let rehearsing = tokio::spawn(
        Run::playbook(&playbook_with_steps(
            "Scoped",
            "  - lock: {}\n  - wait: 1500ms\n  - unlock: {}\n",
        ))
        .arg("--state-dir")
        .arg(&state_dir)
        .against_url(test.handle.base_url()),
    );
    while test.requests().await.is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let live = Run::playbook(&playbook_with_steps("Scoped", "  - start_recording: {}\n"))
        .arg("--state-dir")
        .arg(&state_dir)
        .against(&production)
        .await;
    assert_eq!(live.code, 0, "{}", live.transcript());
    assert_eq!(production.meeting(MEETING).await["recording"], true);
    // The same endpoint is still one run at a time, however it is written.
    let same = Run::playbook(&playbook_with_steps("Scoped", "  - start_recording: {}\n"))
        .arg("--state-dir")
        .arg(&state_dir)
        .against_url(&format!("{}/", test.handle.base_url()))
        .await;
    assert_eq!(same.code, 4, "{}", same.transcript());
    assert!(
        same.stderr.contains(&format!(
            "meeting {MEETING} at {} is already being run",
            test.handle.base_url()
        )),
        "{}",
        same.stderr
    );
    let rehearsing = rehearsing.await.unwrap();
    assert_eq!(rehearsing.code, 0, "{}", rehearsing.transcript());
}

#[tokio::test]
async fn resume_last_takes_the_newest_journal_of_this_playbook_meeting_and_endpoint() {
    let emu = Emu::start(TOWN_HALL).await;
    let other = Emu::start(TOWN_HALL).await;
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap().to_owned();
    let runs = state.path().join("runs");
    let steps = "  - lock: {}\n  - broadcast: Zed Late\n  - start_live: {}\n";
    let failed = Run::playbook(&playbook_with_steps("Scoped", steps))
        .arg("--state-dir")
        .arg(&state_dir)
        .against(&emu)
        .await;
    assert_eq!(failed.code, 1, "{}", failed.transcript());
    let journal = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();

    // Since then: a rehearsal of it, the same playbook at another endpoint, and
    // another playbook in the same meeting, each leaving a newer journal.
    let rehearsal = Run::playbook(&playbook_with_steps("Scoped", steps))
        .arg("--state-dir")
        .arg(&state_dir)
        .arg("--sim")
        .arg("--fast-forward")
        .output()
        .await;
    assert_eq!(rehearsal.code, 1, "{}", rehearsal.transcript());
    let elsewhere = Run::playbook(&playbook_with_steps("Scoped", steps))
        .arg("--state-dir")
        .arg(&state_dir)
        .against(&other)
        .await;
    assert_eq!(elsewhere.code, 1, "{}", elsewhere.transcript());
    let another = Run::command(&["run", "other.yaml", "--state-dir", &state_dir])
        .file(
            "other.yaml",
            &playbook_with_steps("Scoped", "  - unlock: {}\n"),
        )
        .against(&emu)
        .await;
    assert_eq!(another.code, 0, "{}", another.transcript());
    assert_eq!(std::fs::read_dir(&runs).unwrap().count(), 4);

    emu.admin(
        "POST",
        &format!("/_sim/meetings/{MEETING}/participants"),
        Some(serde_json::json!({"name": "Zed Late", "role": "cohost"})),
    )
    .await;
    emu.admin("DELETE", "/_sim/requests", None).await;
    let resumed = Run::playbook(&playbook_with_steps("Scoped", steps))
        .arg("--state-dir")
        .arg(&state_dir)
        .arg("--resume")
        .arg("last")
        .against(&emu)
        .await;
    assert_eq!(resumed.code, 0, "{}", resumed.transcript());
    assert!(
        resumed
            .stderr
            .contains(&format!("--resume last: {}", journal.display())),
        "says which journal it took: {}",
        resumed.stderr
    );
    assert_eq!(action_calls(&emu.requests().await), ["broadcast", "live"]);

    // Nothing of this playbook ran in another meeting: nothing to resume there.
    let none = Run::playbook(&playbook_with_steps("Scoped", steps).replace(MEETING, OTHER_MEETING))
        .arg("--state-dir")
        .arg(&state_dir)
        .arg("--resume")
        .arg("last")
        .against(&emu)
        .await;
    assert_eq!(none.code, 2, "{}", none.transcript());
    assert!(
        none.stderr.contains(&format!(
            "--resume last: no journal of playbook.yaml in meeting {OTHER_MEETING} at {}",
            emu.handle.base_url()
        )),
        "{}",
        none.stderr
    );
}
