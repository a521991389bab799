//! A one-off step, for an operator's `do ACTION [SELECTOR]`: written as the playbook
//! step `{ACTION: SELECTOR}` (or `{ACTION: {}}` without a selector) would be, then
//! loaded and checked by the same loader and checker, so that it is refused for the
//! same reasons, in the same words, before it reaches a running show.

use std::sync::Arc;

use super::catalogue::action_names;
use super::check::{KnownVars, check, check_fragment};
use super::model::Playbook;
use super::step::Step;
use crate::error::Error;
use crate::source::SourceFile;
use crate::yaml::Spanned;

/// What the one-off's messages name as their file.
const FILE: &str = "do";

/// The step `do ACTION [SELECTOR]` runs, in its own small file (for the messages of
/// its run), or why it cannot run: each problem on its own line, naming the action,
/// with the closest action name suggested for an unknown one. A selector may use the
/// run's variables: with `known`, the names the run has, one it has not is refused as
/// `check` would refuse it; without, variables are left to the run.
#[cfg_attr(not(test), allow(dead_code))] // the operator's `do` takes it
pub(crate) fn one_off(
    action: &str,
    selector: Option<&str>,
    participant: Option<&str>,
    known: Option<&KnownVars>,
) -> Result<(Arc<SourceFile>, Spanned<Step>), String> {
    // Steps from a file bring what a one-off may not have (cues, scenes of their
    // own playbook); a named scene is the way to play a list of steps.
    if action == "include" {
        return Err(
            "do include: a file of steps is not played out of order; make it a scene and \
             use `emcee cue scene NAME`"
                .to_owned(),
        );
    }
    if !action_names().contains(&action) {
        let (message, help) = crate::yaml::unknown("action", action, action_names());
        return Err(format!("do {action}: {message}; {help}"));
    }
    // JSON is YAML: the selector is quoted as a JSON string, so whatever it holds
    // stays one value.
    let args = match (selector, participant) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "do {action}: give a selector or a participant id, not both"
            ));
        }
        (Some(selector), None) => serde_json::Value::String(selector.to_owned()).to_string(),
        // An id is matched exactly and never templated: one with a template's marks
        // in it is no id the service gives.
        (None, Some(id)) if ["{{", "{%", "{#"].iter().any(|mark| id.contains(mark)) => {
            return Err(format!(
                "do {action}: `{}` is not a participant id",
                crate::printable::printable(id)
            ));
        }
        (None, Some(id)) => serde_json::json!({ "id": id }).to_string(),
        (None, None) => "{}".to_owned(),
    };
    let key = serde_json::Value::String(action.to_owned()).to_string();
    // A stand-in playbook around the one step, as `Playbook::fragment` does for a file
    // of steps: its meeting is the run's, so only the step can be at fault.
    let text = format!(
        "name: do\nmeeting: {{ id: \"914044873\", host_password: x }}\ntimezone: UTC\nsteps:\n  - {{ {key}: {args} }}\n"
    );
    let file = SourceFile::new(FILE, text);
    let refused = |problems: Vec<crate::error::Diagnostic>| {
        problems
            .iter()
            .map(|p| match &p.help {
                Some(help) => format!("do {action}: {}; {help}", p.message),
                None => format!("do {action}: {}", p.message),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (playbook, mut problems) = match Playbook::parse_all(Arc::clone(&file)) {
        Ok(loaded) => loaded,
        Err(Error::Invalid(problems)) => return Err(refused(problems)),
        Err(other) => return Err(format!("do {action}: {other}")),
    };
    problems.extend(match known {
        Some(known) => check(&playbook, known),
        None => check_fragment(&playbook, &KnownVars::default()),
    });
    if !problems.is_empty() {
        return Err(refused(problems));
    }
    let Playbook { file, doc } = playbook;
    let step = doc.steps.value.into_iter().next().expect("the one step");
    Ok((file, step))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::Body;

    #[test]
    fn a_one_off_is_the_step_a_playbook_would_hold() {
        let (file, step) = one_off("mute", Some("Bob Li"), None, None).unwrap();
        assert_eq!(file.name(), "do");
        let Some(Body::Action { name, args, .. }) = step.body() else {
            panic!("not an action")
        };
        assert_eq!(name, "mute");
        assert_eq!(args.to_json(), serde_json::json!("Bob Li"));
        let (_, lock) = one_off("lock", None, None, None).unwrap();
        assert!(matches!(
            lock.body(),
            Some(Body::Action { name: "lock", .. })
        ));
        // Whatever the selector holds stays one value.
        let (_, odd) = one_off("mute", Some("a: b\", c }\n- lock: {}"), None, None).unwrap();
        let Some(Body::Action { args, .. }) = odd.body() else {
            panic!("not an action")
        };
        assert_eq!(args.to_json(), serde_json::json!("a: b\", c }\n- lock: {}"));
    }

    #[test]
    fn a_one_off_on_a_participant_names_its_id_literally() {
        let (_, step) = one_off("mute", None, Some("p-7"), None).unwrap();
        let Some(Body::Action { args, .. }) = step.body() else {
            panic!("not an action")
        };
        assert_eq!(args.to_json(), serde_json::json!({"id": "p-7"}));
    }

    #[test]
    fn a_one_off_is_refused_as_the_checker_refuses_the_step() {
        let unknown = one_off("mte", Some("Bob"), None, None).unwrap_err();
        assert_eq!(
            unknown,
            "do mte: unknown action `mte`; did you mean `mute`?"
        );
        // Not a key of a step's own, either.
        let common = one_off("steps", None, None, None).unwrap_err();
        assert!(
            common.starts_with("do steps: unknown action `steps`"),
            "{common}"
        );
        // The checker's own words for arguments of the wrong shape.
        let bad = one_off("wait", Some("soon"), None, None).unwrap_err();
        assert!(bad.starts_with("do wait: wait: "), "{bad}");
        let template = one_off("mute", Some("{{ nope("), None, None).unwrap_err();
        assert!(template.starts_with("do mute: "), "{template}");
        // A variable of the playbook's may be used: the run knows it.
        assert!(one_off("mute", Some("{{ speaker }}"), None, None).is_ok());
        let run = KnownVars(["speaker".to_owned()].into());
        assert!(one_off("mute", Some("{{ speaker }}"), None, Some(&run)).is_ok());
        // One the run does not have is refused now, not failed later.
        let typo = one_off("mute", Some("{{ speakr }}"), None, Some(&run)).unwrap_err();
        assert!(
            typo.contains("speakr") && typo.contains("did you mean `speaker`?"),
            "{typo}"
        );
        // A participant's id is never a template, nor given beside a selector.
        let marked = one_off("mute", None, Some("{{ secret('X') }}"), None).unwrap_err();
        assert!(marked.contains("is not a participant id"), "{marked}");
        let include = one_off("include", Some("more.yaml"), None, None).unwrap_err();
        assert!(include.contains("make it a scene"), "{include}");
        let both = one_off("mute", Some("Bob"), Some("p1"), None).unwrap_err();
        assert!(both.contains("not both"), "{both}");
    }
}
