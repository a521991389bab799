//! Everything that can be found wrong without running: steps that do nothing or
//! several things, action arguments of the wrong shape, template syntax errors,
//! variables no one defines, a meeting without credentials, an unknown time zone.
//! Every problem is reported, each at its own position.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::action::Action;
use super::model::Playbook;
use super::selector::{RoleMatch, Selector};
use super::step::{Body, Step};
use super::wait::Wait;
use crate::clock::SystemClock;
use crate::error::{Diagnostic, did_you_mean};
use crate::node::Node;
use crate::playbook::cue::Cue;
use crate::secrets::Secrets;
use crate::source::SourceFile;
use crate::template::{Context, Engine, TemplateError, is_template};
use crate::yaml::{Pos, Spanned};

/// Variables defined outside the playbook (`--vars-file`, `-e`).
#[derive(Debug, Clone, Default)]
pub struct KnownVars(pub BTreeSet<String>);

struct Checker<'a> {
    playbook: &'a Playbook,
    /// The file the steps being checked came from (an included file, inside an include).
    file: Arc<SourceFile>,
    engine: Engine,
    /// The playbook's `vars` as far as they render without a run, to try templates out
    /// with: one that exceeds the bounds on template work with these fails every run.
    trial: Context,
    problems: Vec<Diagnostic>,
    /// Checking a fragment: its variables come from the files that include it.
    undefined_ok: bool,
    /// Checking a scene's steps, which play at once: no cues.
    in_scene: bool,
}

/// Checks a loaded playbook; an empty list means it is fit to run.
pub fn check(playbook: &Playbook, extra: &KnownVars) -> Vec<Diagnostic> {
    check_with(playbook, extra, false)
}

/// Checks a [`Playbook::fragment`]: as [`check`], but a variable no one defines is not
/// a problem, since whoever includes the fragment may define it.
pub fn check_fragment(playbook: &Playbook, extra: &KnownVars) -> Vec<Diagnostic> {
    check_with(playbook, extra, true)
}

fn check_with(playbook: &Playbook, extra: &KnownVars, undefined_ok: bool) -> Vec<Diagnostic> {
    let mut checker = Checker {
        undefined_ok,
        in_scene: false,
        playbook,
        file: Arc::clone(&playbook.file),
        engine: Engine::new(Secrets::new(false), SystemClock::shared()),
        trial: Context::new(),
        problems: Vec::new(),
    };
    checker.run(extra);
    checker.problems
}

impl Checker<'_> {
    fn at(&mut self, pos: Pos, message: impl Into<String>) -> &mut Diagnostic {
        let file = &self.file;
        self.problems
            .push(Diagnostic::new(file, pos.span(file), message));
        self.problems.last_mut().expect("just pushed")
    }

    fn template_errors(&mut self, errors: Vec<TemplateError>, known: &BTreeSet<String>) {
        for error in errors {
            if self.undefined_ok && error.undefined.is_some() {
                continue;
            }
            let candidates: Vec<&str> = known.iter().map(String::as_str).collect();
            let suggestion = error
                .undefined
                .as_deref()
                .and_then(|name| did_you_mean(name, &candidates));
            let diagnostic = self.at(error.pos, error.message);
            if let Some(help) = error.help {
                diagnostic.help = Some(help);
            } else if let Some(candidate) = suggestion {
                diagnostic.help = Some(format!("did you mean `{candidate}`?"));
            } else if error.undefined.is_some() {
                diagnostic.help = Some("define it under `vars:`, pass it with `-e NAME=VALUE`, or `register` it in an earlier step".into());
            }
        }
    }

    /// A template's (or expression's) syntax and variables, then, if those are sound,
    /// its work and output with the variables known now.
    fn template(&mut self, text: &str, is_expression: bool, pos: Pos, known: &BTreeSet<String>) {
        let mut errors = self.engine.check(text, is_expression, pos, known);
        if errors.is_empty() {
            errors.extend(self.engine.trial(text, is_expression, pos, &self.trial));
        }
        self.template_errors(errors, known);
    }

    fn node(&mut self, node: &Spanned<Node>, known: &BTreeSet<String>) {
        match &node.value {
            Node::Str(text) if is_template(text) => self.template(text, false, node.pos, known),
            Node::Seq(items) => items.iter().for_each(|i| self.node(i, known)),
            Node::Map(map) => map.values().for_each(|v| self.node(v, known)),
            _ => {}
        }
    }

    fn text(&mut self, text: &Spanned<String>, known: &BTreeSet<String>) {
        self.template(text, false, text.pos, known);
    }

    fn run(&mut self, extra: &KnownVars) {
        let doc = &self.playbook.doc;
        // Variables: each may use those before it, and anything defined outside.
        let mut known: BTreeSet<String> = extra.0.clone();
        for (name, value) in &doc.vars {
            self.node(value, &known);
            known.insert(name.clone());
            if let Some(rendered) = self.engine.trial_value(value, &self.trial) {
                self.trial.set(name.clone(), rendered);
            }
        }
        // Results of `register` and `set` are known everywhere: a step using one
        // before it is set fails at run time with the variable's name.
        for step in self.playbook.walk() {
            if let Some(register) = &step.register {
                known.insert(register.value.clone());
            }
            for (name, args) in &step.actions {
                if name.value == "set"
                    && let Node::Map(map) = &args.value
                {
                    known.extend(map.keys().cloned());
                }
            }
        }

        match (&doc.meeting.host_password, &doc.meeting.token) {
            (None, None) => {
                let pos = doc.meeting.id.pos;
                self.at(pos, "the meeting has no credentials")
                    .help = Some("give `host_password` (normally \"{{ secret('EMCEE_HOST_PASSWORD') }}\") or `token`".into());
            }
            (Some(_), Some(token)) => {
                self.at(token.pos, "give `host_password` or `token`, not both");
            }
            _ => {}
        }
        self.node(&doc.meeting.id, &known);
        let literal_id = match &doc.meeting.id.value {
            Node::Str(text) if !is_template(text) => Some(text.clone()),
            Node::Int(number) => Some(number.to_string()),
            Node::Str(_) => None,
            other => Some(format!("({})", other.kind())),
        };
        if let Some(id) = literal_id
            && let Err(message) = crate::meeting::MeetingId::parse(&id)
        {
            self.at(doc.meeting.id.pos, message);
        }
        for credential in [&doc.meeting.host_password, &doc.meeting.token]
            .into_iter()
            .flatten()
        {
            self.text(credential, &known);
        }
        self.lifecycle(&known);
        if let Some(zone) = &doc.timezone
            && jiff::tz::TimeZone::get(&zone.value).is_err()
        {
            self.at(zone.pos, format!("unknown time zone `{}`", zone.value))
                .help = Some("use an IANA name such as Asia/Shanghai or Europe/Berlin".into());
        }
        if let Some(retry) = &doc.defaults.retry {
            self.retry(retry);
        }
        self.deadline();
        if let Some(rehearsal) = &doc.rehearsal {
            if rehearsal.id.is_some() || rehearsal.host_password.is_some() {
                self.at(
                    rehearsal.pos,
                    "the rehearsal meeting takes its id and host password from `meeting`",
                )
                .help = Some("remove `id` and `host_password` from `rehearsal`".into());
            } else {
                let mut seed = rehearsal.value.clone();
                seed.host_password = Some("x".into());
                if let Err(message) = seed.validate() {
                    self.at(rehearsal.pos, format!("rehearsal: {message}"));
                }
            }
        }
        if doc.steps.is_empty() {
            self.at(doc.steps.pos, "the playbook has no steps");
        }
        self.steps(&doc.steps.value, &known);
        self.scenes(&known);
    }

    /// A wall-clock deadline needs the zone; a step cued at or after the deadline (cues
    /// of the same kind) could never run.
    fn deadline(&mut self) {
        let Some(deadline) = &self.playbook.doc.deadline else {
            return;
        };
        if deadline.needs_zone() && self.playbook.doc.timezone.is_none() {
            self.at(
                deadline.pos,
                format!(
                    "deadline {} is a wall-clock time, but the playbook has no `timezone`",
                    deadline.value
                ),
            )
            .help =
                Some("add `timezone: Asia/Shanghai` (or your zone) at the top, or use +2h".into());
        }
        // Top-level steps: they are the playbook's own cues, in its own file.
        let late: Vec<(Pos, String)> = self
            .playbook
            .doc
            .steps
            .value
            .iter()
            .filter_map(|step| step.at.as_ref())
            .filter(|at| same_kind(&at.value, &deadline.value))
            .filter(|at| !comes_before(&at.value, &deadline.value))
            .map(|at| {
                (
                    at.pos,
                    format!(
                        "cue {} is not before the deadline {} (line {}): the step could never run",
                        at.value, deadline.value, deadline.pos.line
                    ),
                )
            })
            .collect();
        for (pos, message) in late {
            self.at(pos, message);
        }
    }

    fn retry(&mut self, retry: &Spanned<super::step::RetrySpec>) {
        if !(1..=20).contains(&retry.attempts) {
            self.at(
                retry.pos,
                format!("retry.attempts must be 1 to 20, got {}", retry.attempts),
            );
        }
        if retry.initial > retry.max {
            self.at(
                retry.pos,
                format!(
                    "retry.initial ({}) is longer than retry.max ({})",
                    retry.initial, retry.max
                ),
            );
        }
    }

    fn steps(&mut self, steps: &[Spanned<Step>], known: &BTreeSet<String>) {
        // Cues of one kind must not go back in time within a list of steps.
        let mut previous: Vec<&Spanned<Cue>> = Vec::new();
        for step in steps {
            self.step(step, known);
            if let Some(at) = &step.at {
                if let Some(before) = previous
                    .iter()
                    .rev()
                    .find(|p| same_kind(&p.value, &at.value))
                    && comes_before(&at.value, &before.value)
                {
                    let help = match at.value {
                        Cue::Wall(_) => {
                            "if you mean the next day, write the date and time: 2026-11-23T00:10"
                                .to_owned()
                        }
                        _ => "cues run in the order written; reorder the steps".to_owned(),
                    };
                    let message = format!(
                        "cue {} is earlier than the cue before it ({}, line {})",
                        at.value, before.value, before.pos.line
                    );
                    self.at(at.pos, message).help = Some(help);
                }
                previous.push(at);
            }
        }
    }

    fn cue(&mut self, step: &Spanned<Step>) {
        let zone = self.playbook.doc.timezone.is_some();
        match &step.at {
            Some(at) if self.in_scene => self.cue_in_scene(at.pos),
            Some(at) if at.needs_zone() && !zone => {
                self.at(
                    at.pos,
                    format!(
                        "cue {} is a wall-clock time, but the playbook has no `timezone`",
                        at.value
                    ),
                )
                .help = Some(
                    "add `timezone: Asia/Shanghai` (or your zone) at the top, or use +15m".into(),
                );
            }
            Some(_) => {}
            // A damaged step's `at` may be the value already reported.
            None if step.damaged => {}
            None => {
                for (key, pos) in [
                    ("late", step.late.as_ref().map(|l| l.pos)),
                    ("grace", step.grace.as_ref().map(|g| g.pos)),
                ] {
                    if let Some(pos) = pos {
                        self.at(
                            pos,
                            format!("`{key}` belongs to a cue, but this step has no `at`"),
                        );
                    }
                }
            }
        }
    }

    fn step(&mut self, step: &Spanned<Step>, outer: &BTreeSet<String>) {
        if let Some(kind) = step.not_a_map {
            self.at(step.pos, format!("a step is a map, not {kind}"))
                .help = Some(
                "give it an action (`- lock: {}`, see `emcee actions`) or a block of `steps`"
                    .into(),
            );
            return;
        }
        let mut known = outer.clone();
        if let Some(over) = &step.loop_over {
            self.node(over, &known);
            let listable = match &over.value {
                Node::Seq(_) => true,
                Node::Str(text) => is_template(text),
                _ => false,
            };
            if !listable {
                self.at(
                    over.pos,
                    format!("`loop` needs a list, not {}", over.kind()),
                )
                .help = Some(
                    "write a list (`[a, b]`) or a template that gives one (`\"{{ panel }}\"`)"
                        .into(),
                );
            }
            known.insert("item".into());
            known.insert("loop".into());
        }
        if let Some(name) = &step.name {
            self.text(name, &known);
        }
        if let Some(when) = &step.when {
            self.template(&when.value, true, when.pos, &known);
        }
        if let Some(register) = &step.register {
            let ok = register
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && register
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                self.at(
                    register.pos,
                    format!("`{}` cannot be a variable name", register.value),
                )
                .help = Some("use letters, digits and underscores, starting with a letter".into());
            }
        }
        if let Some(retry) = &step.retry {
            self.retry(retry);
        }
        self.cue(step);
        if let Some(timeout) = &step.timeout
            && timeout.is_zero()
        {
            self.at(timeout.pos, "timeout must be longer than zero");
        }
        if step.actions.len() > 1 {
            let (first, _) = &step.actions[0];
            let (second, _) = &step.actions[1];
            let message = format!(
                "a step takes one action, but `{}` and `{}` are both given",
                first.value, second.value
            );
            self.at(second.pos, message).help = Some("split them into two steps".into());
        }
        self.scene_and_more(step);
        if !step.actions.is_empty() && step.steps.is_some() {
            let pos = step.actions[0].0.pos;
            self.at(pos, "a step has an action or a block of `steps`, not both")
                .help = Some("move the action into the block's `steps`".into());
        }
        if step.steps.is_none() && step.scene.is_none() {
            for list in [&step.rescue, &step.always].into_iter().flatten() {
                self.at(
                    list.pos,
                    "`rescue` and `always` belong to a block with `steps`",
                );
            }
        }
        // A damaged step's missing action or block may be the key already reported.
        if step.actions.is_empty() && step.steps.is_none() && step.scene.is_none() && !step.damaged
        {
            self.at(step.pos, "this step does nothing").help =
                Some("give it an action (see `emcee actions`) or a block of `steps`".into());
        }
        match step.body() {
            Some(Body::Action { name, args, .. }) => self.action(name, args, &known),
            Some(Body::Block {
                steps,
                rescue,
                always,
            }) => {
                if let Some(included) = &step.included {
                    for value in included.given.values() {
                        self.node(value, &known);
                    }
                    let outer = std::mem::replace(&mut self.file, Arc::clone(&included.file));
                    let mut inner = known.clone();
                    inner.extend(included.given.keys().cloned());
                    for (name, value) in &included.defaults {
                        self.node(value, &inner);
                        inner.insert(name.clone());
                    }
                    self.steps(steps, &inner);
                    self.file = outer;
                } else {
                    self.steps(steps, &known);
                }
                self.steps(rescue, &known);
                self.steps(always, &known);
            }
            Some(Body::Scene {
                name,
                rescue,
                always,
            }) => {
                self.scene_name(name);
                self.steps(rescue, &known);
                self.steps(always, &known);
            }
            None => {}
        }
    }

    /// Checks an action's arguments against its type. A template stands for a value
    /// of whatever type is needed, so only mistakes outside templates are reported.
    fn action(&mut self, name: &str, args: &Spanned<Node>, known: &BTreeSet<String>) {
        if name == "assert" {
            // Assertions are expressions, not templates.
            self.assertions(args, known);
        } else {
            self.node(args, known);
        }
        let parsed = Action::from_parts(name, args.to_json());
        if let Ok(action) = &parsed {
            self.waiting_room(action, args.pos);
        }
        match parsed {
            Err((path, message)) => {
                let pos = Node::pos_at(args, &path);
                if !touches_template(args, &path) {
                    self.at(pos, format!("{name}: {message}")).help =
                        Some(format!("see `emcee actions {name}`"));
                }
            }
            Ok(Action::WaitFor(wait_for)) => {
                if let Err(message) = wait_for.validate() {
                    self.at(args.pos, format!("wait_for: {message}")).help =
                        Some("see `emcee actions wait_for`".into());
                }
            }
            Ok(Action::SetHost(_))
                if !self.undefined_ok
                    && self.playbook.doc.meeting.host_password.is_none()
                    && self.playbook.doc.meeting.token.is_some() =>
            {
                self.at(
                    args.pos,
                    "set_host: the service takes the host role only with the host password (as `chairmanPwd`), and this playbook gives a token instead",
                )
                .help = Some("give `meeting.host_password` instead of `token`".into());
            }
            Ok(Action::RaiseHand(Selector::Match(wanted)))
                if wanted.role == Some(RoleMatch::Host) =>
            {
                self.at(
                    args.pos,
                    "raise_hand: the service refuses to raise the host's hand (MMC.111072069)",
                )
                .help =
                    Some("aim it at guests, e.g. `raise_hand: { role: guest, all: true }`".into());
            }
            Ok(Action::Wait(Wait::Until(cue)))
                if cue.needs_zone() && self.playbook.doc.timezone.is_none() =>
            {
                self.at(
                    args.pos,
                    format!(
                        "`until: {cue}` is a wall-clock time, but the playbook has no `timezone`"
                    ),
                )
                .help = Some("add `timezone: Asia/Shanghai` (or your zone) at the top".into());
            }
            Ok(_) => {}
        }
    }

    fn assertions(&mut self, args: &Spanned<Node>, known: &BTreeSet<String>) {
        let mut expressions = Vec::new();
        match &args.value {
            Node::Str(_) => expressions.push(args),
            Node::Seq(items) => expressions.extend(items),
            Node::Map(map) => match map.get("that").map(|t| &t.value) {
                Some(Node::Seq(items)) => expressions.extend(items),
                Some(_) => expressions.extend(map.get("that")),
                None => {}
            },
            _ => {}
        }
        for expression in expressions {
            if let Node::Str(text) = &expression.value {
                self.template(text, true, expression.pos, known);
            }
        }
    }
}

fn same_kind(a: &Cue, b: &Cue) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn comes_before(later: &Cue, earlier: &Cue) -> bool {
    match (later, earlier) {
        (Cue::After(a), Cue::After(b)) => a < b,
        (Cue::Wall(a), Cue::Wall(b)) => a < b,
        (Cue::Civil(a), Cue::Civil(b)) => a < b,
        (Cue::Instant(a), Cue::Instant(b)) => a < b,
        _ => false,
    }
}

/// Whether the value at `path` (or any value above it) is a template string.
fn touches_template(node: &Spanned<Node>, path: &str) -> bool {
    fn any_template(node: &Node) -> bool {
        match node {
            Node::Str(text) => is_template(text),
            Node::Seq(items) => items.iter().any(|i| any_template(&i.value)),
            Node::Map(map) => map.values().any(|v| any_template(&v.value)),
            _ => false,
        }
    }
    let pos = Node::pos_at(node, path);
    fn find(node: &Spanned<Node>, pos: Pos) -> Option<&Spanned<Node>> {
        if node.pos == pos {
            return Some(node);
        }
        match &node.value {
            Node::Seq(items) => items.iter().find_map(|i| find(i, pos)),
            Node::Map(map) => map.values().find_map(|v| find(v, pos)),
            _ => None,
        }
    }
    // A templated value anywhere under the failing point may render to what is needed.
    find(node, pos).is_some_and(|n| any_template(&n.value))
}

mod lifecycle;
mod scenes;
#[cfg(test)]
mod tests;
mod waiting;
