//! The checker on small playbooks read from strings: the problems it finds, where,
//! and the help it gives, without the binary.

use super::*;

const HEAD: &str = "name: t\nmeeting: { id: \"914044873\", host_password: p }\ntimezone: UTC\n";

/// Everything wrong with a playbook of these `steps` (YAML under `steps:`), as the
/// `check` command finds it: what the loader read past, then the checker's own.
fn problems(steps: &str) -> Vec<Diagnostic> {
    problems_in(&format!("{HEAD}{steps}"))
}

pub(super) fn problems_in(text: &str) -> Vec<Diagnostic> {
    let file = SourceFile::new("playbook.yaml", text);
    match Playbook::parse_all(file) {
        Ok((playbook, mut found)) => {
            found.extend(check(&playbook, &KnownVars::default()));
            found
        }
        Err(crate::error::Error::Invalid(found)) => found,
        Err(other) => panic!("not a problem list: {other:?}"),
    }
}

/// The line (from 1) a problem points at.
fn line(problem: &Diagnostic) -> usize {
    problem.file.text()[..problem.span.offset].lines().count()
}

/// The only problem found; fails if there are none or several.
fn only_problem(steps: &str) -> Diagnostic {
    let mut found = problems(steps);
    assert_eq!(found.len(), 1, "{found:#?}");
    found.remove(0)
}

#[test]
fn a_clean_playbook_has_no_problems() {
    let found = problems(
        "vars: { speaker: Alice Zhang }\nsteps:\n  - broadcast: \"{{ speaker }}\"\n  - lock: {}\n    at: \"+5m\"\n",
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn an_unknown_action_suggests_the_closest() {
    let problem = only_problem("steps:\n  - broadcst: Alice\n");
    assert_eq!(problem.message, "unknown key `broadcst`");
    assert_eq!(problem.help.as_deref(), Some("did you mean `broadcast`?"));
    assert_eq!(line(&problem), 5);
}

#[test]
fn a_selector_with_an_unknown_role_points_to_the_action_reference() {
    let problem = only_problem("steps:\n  - mute: { role: boss }\n");
    assert_eq!(
        problem.message,
        "mute: unknown variant `boss`, expected one of `host`, `cohost`, `guest`"
    );
    assert_eq!(problem.help.as_deref(), Some("see `emcee actions mute`"));
}

#[test]
fn an_empty_selector_is_refused() {
    let problem = only_problem("steps:\n  - broadcast: {}\n");
    assert_eq!(
        problem.message,
        "broadcast: a selector needs at least one of name, id, phone, role (or all: true)"
    );
}

#[test]
fn an_undefined_variable_says_where_variables_come_from() {
    let problem = only_problem("steps:\n  - broadcast: \"{{ speaker }}\"\n");
    assert_eq!(problem.message, "undefined variable `speaker`");
    assert_eq!(
        problem.help.as_deref(),
        Some(
            "define it under `vars:`, pass it with `-e NAME=VALUE`, or `register` it in an earlier step"
        )
    );
}

#[test]
fn a_misspelt_variable_suggests_the_defined_one() {
    let problem =
        only_problem("vars: { speaker: Alice }\nsteps:\n  - broadcast: \"{{ speakr }}\"\n");
    assert_eq!(problem.message, "undefined variable `speakr`");
    assert_eq!(problem.help.as_deref(), Some("did you mean `speaker`?"));
    assert_eq!(line(&problem), 6);
}

#[test]
fn variables_given_outside_the_playbook_are_defined() {
    let file = SourceFile::new(
        "playbook.yaml",
        format!("{HEAD}steps:\n  - broadcast: \"{{{{ speaker }}}}\"\n"),
    );
    let playbook = Playbook::parse(file).unwrap();
    let extra = KnownVars(BTreeSet::from(["speaker".to_owned()]));
    assert!(check(&playbook, &extra).is_empty());
    // A fragment's variables come from whoever includes it.
    assert!(check_fragment(&playbook, &KnownVars::default()).is_empty());
    assert_eq!(check(&playbook, &KnownVars::default()).len(), 1);
}

#[test]
fn a_bad_headcount_shows_the_forms_it_takes() {
    let problem = only_problem("steps:\n  - wait_for: { count: \"about 20\" }\n");
    assert_eq!(
        problem.message,
        "wait_for: invalid headcount `about 20`: write \">= 20\", \"> 5\", \"== 3\" or a number"
    );
}

#[test]
fn late_without_a_cue_is_a_problem_of_its_own_line() {
    let problem = only_problem("steps:\n  - lock: {}\n    late: skip\n");
    assert_eq!(
        problem.message,
        "`late` belongs to a cue, but this step has no `at`"
    );
    assert_eq!(line(&problem), 6);
}

#[test]
fn every_problem_is_reported_each_at_its_step() {
    let found = problems(
        "steps:\n  - mute: { role: boss }\n  - broadcast: {}\n  - broadcast: \"{{ nobody }}\"\n",
    );
    let lines: Vec<usize> = found.iter().map(line).collect();
    assert_eq!(lines, [5, 6, 7], "{found:#?}");
}

#[test]
fn the_hosts_hand_is_not_raised() {
    let problem = only_problem("steps:\n  - raise_hand: { role: host }\n");
    assert_eq!(
        problem.message,
        "raise_hand: the service refuses to raise the host's hand (MMC.111072069)"
    );
    assert_eq!(line(&problem), 5);
    // Lowering it is allowed, and so is raising a guest's.
    assert!(
        problems("steps:\n  - lower_hand: { role: host }\n  - raise_hand: { role: guest }\n")
            .is_empty()
    );
}

#[test]
fn set_host_needs_the_host_password() {
    let with_token =
        "name: t\nmeeting: { id: \"914044873\", token: abc }\nsteps:\n  - set_host: Bob Li\n";
    let found = problems_in(with_token);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].message.contains("`chairmanPwd`"), "{found:#?}");
    assert_eq!(
        found[0].help.as_deref(),
        Some("give `meeting.host_password` instead of `token`")
    );
    assert!(problems("steps:\n  - set_host: Bob Li\n").is_empty());
}

/// The problems' messages and lines, in order.
fn found(steps: &str) -> Vec<(String, usize)> {
    problems(steps)
        .iter()
        .map(|p| (p.message.clone(), line(p)))
        .collect()
}

#[test]
fn scenes_are_checked_as_steps_are() {
    let clean = problems(
        "steps:\n  - scene: panic\n    at: \"+5m\"\nscenes:\n  panic:\n    - lock: {}\n    - mute: { role: guest, all: true }\n  qa_open:\n    - broadcast: \"{{ speaker }}\"\n      register: shown\n    - log: \"{{ shown }}\"\nvars: { speaker: Bob }\n",
    );
    assert!(clean.is_empty(), "{clean:#?}");
    let bad = found(
        "steps:\n  - lock: {}\nscenes:\n  panic:\n    - lcok: {}\n    - mute: { role: boss }\n    - log: \"{{ nobody }}\"\n    - wait: 5\n",
    );
    let messages: Vec<&str> = bad.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        messages[..2],
        [
            "unknown key `lcok`",
            "mute: unknown variant `boss`, expected one of `host`, `cohost`, `guest`"
        ]
    );
    assert!(messages[2].contains("nobody"), "{messages:?}");
    assert!(messages[3].starts_with("wait: "), "{messages:?}");
    assert_eq!(
        bad.iter().map(|(_, l)| *l).collect::<Vec<_>>(),
        [8, 9, 10, 11]
    );
}

#[test]
fn a_scene_step_names_a_scene_there_is() {
    let problem = only_problem("steps:\n  - scene: qa_opne\nscenes:\n  qa_open:\n    - lock: {}\n");
    assert_eq!(problem.message, "no scene is named `qa_opne`");
    assert_eq!(problem.help.as_deref(), Some("did you mean `qa_open`?"));
    assert_eq!(line(&problem), 5);
    let none = only_problem("steps:\n  - scene: panic\n");
    assert_eq!(
        none.help.as_deref(),
        Some("name a scene defined under `scenes:`")
    );
    let panic = only_problem(
        "steps:\n  - lock: {}\npanic_scene: panik\nscenes:\n  panic:\n    - lock: {}\n",
    );
    assert_eq!(panic.message, "no scene is named `panik`");
    assert_eq!(panic.help.as_deref(), Some("did you mean `panic`?"));
}

#[test]
fn a_scene_that_plays_itself_is_refused_with_the_cycle() {
    let direct =
        only_problem("steps:\n  - scene: a\nscenes:\n  a:\n    - lock: {}\n    - scene: a\n");
    assert_eq!(direct.message, "scene `a` plays itself: a → a");
    assert_eq!(line(&direct), 9);
    let through = found(
        "steps:\n  - scene: a\nscenes:\n  a:\n    - steps:\n        - scene: b\n  b:\n    - scene: c\n  c:\n    - scene: a\n  d:\n    - scene: b\n",
    );
    assert_eq!(
        through,
        [("scene `a` plays itself: a → b → c → a".to_owned(), 13)]
    );
}

#[test]
fn a_scene_has_no_cues_and_scene_steps_do_one_thing() {
    let cue =
        only_problem("steps:\n  - lock: {}\nscenes:\n  s:\n    - lock: {}\n      at: \"+1m\"\n");
    assert_eq!(
        cue.message,
        "a step in a scene has no cue: a scene plays at once when it is played"
    );
    assert_eq!(line(&cue), 9);
    let both = only_problem("steps:\n  - scene: s\n    lock: {}\nscenes:\n  s:\n    - lock: {}\n");
    assert_eq!(
        both.message,
        "a step plays a scene, or has an action or a block of `steps`: one of them"
    );
    let empty = only_problem("steps:\n  - lock: {}\nscenes:\n  s: []\n");
    assert_eq!(empty.message, "scene `s` has no steps");
}

#[test]
fn scene_names_are_identifiers_refused_where_written() {
    let bad = found(
        "steps:\n  - lock: {}\nscenes:\n  Q&A:\n    - lock: {}\n  ok:\n    - lock: {}\n  two: lock\n",
    );
    assert_eq!(
        bad,
        [
            ("`Q&A` cannot name a scene".to_owned(), 7),
            (
                "scene `two` is a list of steps, not a string".to_owned(),
                11
            ),
        ]
    );
}

#[test]
fn scenes_played_inside_one_another_are_bounded() {
    // Each scene plays the one before it ten times: 10^5 steps from 16 lines.
    let mut text = String::from("steps:\n  - lock: {}\nscenes:\n  s0:\n    - lock: {}\n");
    for level in 1..=5 {
        text.push_str(&format!("  s{level}:\n"));
        for _ in 0..10 {
            text.push_str(&format!("    - scene: s{}\n", level - 1));
        }
    }
    let problem = only_problem(&text);
    assert_eq!(
        problem.message,
        "scene `s5` makes more than 50000 steps with the scenes it plays"
    );
}
