//! Scenes in the executor: a `scene:` step, and what an operator plays between steps.

use super::super::event::StepId;
use super::*;

const SCENES: &str = "scenes:\n  panic:\n    - lock: {}\n    - mute: { role: guest, all: true }\n  stand_by:\n    - log: standing by\n";

/// The ids of the steps started, in order, with their names.
fn started(run: &Rehearsed) -> Vec<(String, String)> {
    run.events
        .iter()
        .filter_map(|event| match event {
            Event::StepStarted { id, name, .. } => Some((id.to_string(), name.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_scene_step_plays_the_scene_as_a_block() {
    let steps = format!("  - log: first\n  - scene: panic\n{SCENES}");
    let run = rehearse(&steps, CLASS, None).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    let names: Vec<(&str, &str)> = vec![
        ("1", "log"),
        ("2", "scene panic"),
        ("2.1", "lock"),
        ("2.2", "mute"),
    ];
    let started = started(&run);
    let started: Vec<(&str, &str)> = started
        .iter()
        .map(|(i, n)| (i.as_str(), n.as_str()))
        .collect();
    assert_eq!(started, names);
    assert!(run.ok("2") && run.ok("2.1") && run.ok("2.2"));
    assert!(run.meeting.locked);
    assert!(
        run.meeting
            .participants
            .iter()
            .filter(|p| p.name != "Alice Zhang")
            .all(|p| p.mute)
    );
}

#[tokio::test]
async fn an_operator_plays_a_scene_and_a_one_off_under_its_own_ids() {
    let steps = format!("  - log: first\n{SCENES}");
    let plays = [
        Play::Scene("panic", StepId::operator(1)),
        Play::Do("unmute", Some("Bob Li"), StepId::operator(2)),
    ];
    let run = rehearse_playing(&steps, CLASS, None, &plays).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    let started = started(&run);
    let ids: Vec<&str> = started.iter().map(|(i, _)| i.as_str()).collect();
    assert_eq!(ids, ["1", "op1", "op1.1", "op1.2", "op2"]);
    assert_eq!(started[1].1, "scene panic");
    assert!(run.ok("op1") && run.ok("op1.2") && run.ok("op2"));
    assert!(run.meeting.locked);
    let bob = run
        .meeting
        .participants
        .iter()
        .find(|p| p.name == "Bob Li")
        .unwrap();
    let carol = run
        .meeting
        .participants
        .iter()
        .find(|p| p.name == "Carol Wu")
        .unwrap();
    assert!(
        !bob.mute && carol.mute,
        "the scene muted both, the one-off unmuted Bob"
    );
    assert_eq!(run.counts.ok, 4);
}

#[tokio::test]
async fn an_operator_play_that_fails_is_reported_under_its_id() {
    let steps = format!("  - log: first\n{SCENES}");
    let plays = [Play::Scene("nowhere", StepId::operator(1))];
    let run = rehearse_playing(&steps, CLASS, None, &plays).await;
    // Reported as failed, and, as what an operator plays, not failing the run.
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(
        run.failed_with("op1")
            .contains("no scene is named `nowhere`")
    );
    let plays = [Play::Do("mute", Some("Nobody Known"), StepId::operator(1))];
    let run = rehearse_playing(&steps, CLASS, None, &plays).await;
    assert!(
        run.failed_with("op1")
            .starts_with("no participant matches `Nobody Known`")
    );
}

#[tokio::test]
async fn an_operator_play_is_not_subject_to_tags_or_start_at() {
    let steps =
        format!("  - log: first\n  - name: Second\n    log: second\n    tags: [main]\n{SCENES}");
    let selection = crate::playbook::select::Selection {
        tags: vec!["main".into()],
        skip_tags: Vec::new(),
        start_at: Some("Second".into()),
    };
    let plays = [
        Play::Select(selection),
        Play::Scene("panic", StepId::operator(1)),
    ];
    let run = rehearse_playing(&steps, CLASS, None, &plays).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    let ids: Vec<String> = started(&run).into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        ids,
        ["2", "op1", "op1.1", "op1.2"],
        "step 1 is before --start-at"
    );
    assert!(run.meeting.locked);
}
