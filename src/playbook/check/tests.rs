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
