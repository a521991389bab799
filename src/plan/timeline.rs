//! The resolved timeline of a playbook, without running it: when each step is planned
//! (from its cue, or after the waits before it), what it acts on, and which API calls
//! it makes. Loops are expanded; what only a run can know is shown as such.

use std::collections::BTreeSet;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

use crate::error::Diagnostic;
use crate::meeting::MeetingSeed;
use crate::node::Node;
use crate::playbook::action::Action;
use crate::playbook::catalogue;
use crate::playbook::cue::Cue;
use crate::playbook::scope::IncludeScope;
use crate::playbook::select::{self, Decision, Selection};
use crate::playbook::step_id::{Siblings, StepId};
use crate::playbook::wait::Wait;
use crate::playbook::{Body, Playbook, Step};
use crate::source::SourceFile;
use crate::template::{Context, Engine, TemplateError};
use crate::yaml::Spanned;

pub(crate) mod crowd;
mod live;
mod rows;
mod scenes;

pub(crate) use live::People;
pub(crate) use rows::{Plan, PlanStart, PlannedDeadline, PlannedMeetingStart, Row, When};

pub(crate) const AT_RUN_TIME: &str = "(at run time)";

/// Most rows a plan may have: loops multiply the steps inside them, and loops inside
/// loops could otherwise make a plan too large to print or hold.
pub(crate) const MAX_ROWS: usize = 100_000;

struct Planner<'a> {
    engine: &'a Engine,
    /// The file the steps being planned came from (an included file, inside an include).
    file: Arc<SourceFile>,
    /// Why the plan cannot be made: a template past its bounds, or too many rows.
    refused: Option<Diagnostic>,
    zone: TimeZone,
    start: Timestamp,
    /// The meeting's start, as given or assumed.
    meeting: Timestamp,
    rehearsal: Option<&'a MeetingSeed>,
    /// A live meeting's verdict on a selector, for `--live`.
    live: Option<live::Verdict<'a>>,
    /// The estimate of "now" as the plan walks the steps, and whether it is exact.
    now: Timestamp,
    exact: bool,
    plan: Plan,
    /// Calls per minute per API, for how long fan-outs take.
    rate_limit: u32,
    cue_shown: bool,
    /// `--tags`, `--skip-tags`, `--start-at`, decided for each step as a run would.
    selection: &'a Selection,
    /// Whether `--start-at` has been reached (always, without one).
    started: bool,
    /// Tags of the blocks being planned, which their steps inherit.
    inherited_tags: Vec<String>,
    /// Variables whose values only a run can tell (registered results, items of a list
    /// known only then): a `when` reading one is not decided.
    unknown: BTreeSet<String>,
    /// The playbook's scenes and its own file, where they are written.
    scenes: (&'a crate::playbook::scene::Scenes, Arc<SourceFile>),
    /// The scenes being planned inside one another, innermost last.
    playing: Vec<String>,
}

/// Functions whose values differ between the plan and the run.
const RUN_TIME_FUNCTIONS: &[&str] = &["secret", "env", "now"];

/// Plans `playbook` for a run starting at `start` that takes the steps `selection`
/// takes. Selectors are checked against `people`: those expected in the rehearsal
/// meeting, or those in a live one. A template that passes the bounds on its work or output is an error, as it
/// would be in a run.
pub(crate) fn plan(
    playbook: &Playbook,
    vars: &Context,
    engine: &Engine,
    starts: PlanStart,
    zone: TimeZone,
    people: People<'_>,
    selection: &Selection,
) -> Result<Plan, Diagnostic> {
    let (rehearsal, live) = match people {
        People::Unchecked => (None, None),
        People::Rehearsal(seed) => (Some(seed), None),
        People::Live(verdict) => (None, Some(verdict)),
    };
    let start = starts.run;
    let mut planner = Planner {
        engine,
        file: Arc::clone(&playbook.file),
        refused: None,
        zone,
        start,
        meeting: starts.meeting.unwrap_or(start),
        rehearsal,
        live,
        now: start,
        exact: true,
        plan: Plan::default(),
        rate_limit: playbook
            .doc
            .defaults
            .rate_limit
            .unwrap_or(crate::playbook::DEFAULT_RATE_LIMIT),
        cue_shown: false,
        selection,
        started: selection.start_at.is_none(),
        inherited_tags: Vec::new(),
        unknown: BTreeSet::new(),
        scenes: (&playbook.doc.scenes, Arc::clone(&playbook.file)),
        playing: Vec::new(),
    };
    let mut vars = vars.clone();
    planner.steps(
        &playbook.doc.steps.value,
        &Siblings::top_level(),
        0,
        &mut vars,
    );
    planner.deadline(playbook);
    planner.scenes(playbook, &vars);
    if playbook
        .walk()
        .iter()
        .any(|step| step.at.as_ref().is_some_and(|at| at.is_meeting()))
    {
        planner.plan.meeting_start = Some(PlannedMeetingStart {
            instant: planner.meeting,
            assumed: starts.meeting.is_none(),
        });
    }
    match planner.refused {
        Some(diagnostic) => Err(diagnostic),
        None => Ok(planner.plan),
    }
}

impl Planner<'_> {
    /// A rendered value, or `None` when only a run can tell; a template past its bounds
    /// stops the plan.
    fn rendered<T>(&mut self, result: Result<T, TemplateError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                if error.exceeds_bounds() && self.refused.is_none() {
                    let span = error.pos.span(&self.file);
                    self.refused = Some(Diagnostic::new(&self.file, span, error.message));
                }
                None
            }
        }
    }

    fn when(&self) -> When {
        let offset = self.now.duration_since(self.start);
        if self.exact {
            When::At {
                instant: self.now,
                offset,
            }
        } else {
            When::NotBefore {
                instant: self.now,
                offset,
            }
        }
    }

    fn steps(
        &mut self,
        steps: &[Spanned<Step>],
        list: &Siblings,
        depth: usize,
        vars: &mut Context,
    ) {
        for (index, step) in steps.iter().enumerate() {
            let id = list.id(index + 1);
            self.selected(step, &id, depth, vars);
        }
    }

    /// A step, if the selection takes it; a skipped one is listed as such, and its cue
    /// is not waited for, as in a run.
    fn selected(&mut self, step: &Spanned<Step>, id: &StepId, depth: usize, vars: &mut Context) {
        let decision = self
            .selection
            .decide(step, id, &self.inherited_tags, self.started);
        match decision {
            Decision::Skip(reason) => {
                if self.refused.is_none() {
                    self.skipped_row(step, id, depth, step.label(), None, reason);
                }
            }
            decision => {
                if decision == Decision::Run
                    && let Some(target) = &self.selection.start_at
                    && select::matches(step, id, target)
                {
                    self.started = true;
                }
                self.step(step, id, depth, vars);
            }
        }
    }

    fn skipped_row(
        &mut self,
        step: &Spanned<Step>,
        id: &StepId,
        depth: usize,
        name: String,
        cue: Option<String>,
        reason: String,
    ) {
        let action = match step.body() {
            Some(Body::Action { name, .. }) => Some(name),
            _ => None,
        };
        self.plan.rows.push(Row {
            id: id.clone(),
            depth,
            name,
            action,
            cue,
            when: self.when(),
            target: None,
            calls: Vec::new(),
            skipped: Some(reason),
            takes: None,
            scene: None,
        });
    }

    /// Whether the variables already decide the step's `when`: `Some(false)` when
    /// it would be skipped, `None` when only a run can tell.
    fn decided_when(&self, step: &Step, vars: &Context) -> Option<bool> {
        let when = step.when.as_ref()?;
        let names = self.engine.expression_names(&when.value)?;
        if names
            .iter()
            .any(|n| self.unknown.contains(n) || RUN_TIME_FUNCTIONS.contains(&n.as_str()))
        {
            return None;
        }
        let value = self.engine.eval(&when.value, when.pos, vars).ok()?;
        Some(value.is_true())
    }

    fn step(&mut self, step: &Spanned<Step>, id: &StepId, depth: usize, vars: &mut Context) {
        if self.refused.is_some() {
            return;
        }
        if let Some(at) = &step.at {
            match at.resolve_in(self.start, Some(self.meeting), &self.zone) {
                Ok(instant) if instant >= self.now => {
                    self.now = instant;
                    self.exact = true;
                }
                Ok(instant) => self.plan.warnings.push(format!(
                    "step {id} ({}): its cue {} comes before the steps ahead of it can finish; it follows `late`",
                    step.label(),
                    describe_cue(&at.value, instant, &self.zone)
                )),
                Err(e) => self.plan.warnings.push(format!("step {id}: cue {}: {e}", at.value)),
            }
        }
        let Some(over) = &step.loop_over else {
            self.once(step, id, depth, vars);
            return;
        };
        let items = self.engine.render_node(over, vars);
        match self.rendered(items) {
            Some(Value::Array(items)) => {
                let length = items.len();
                for (index, item) in items.into_iter().enumerate() {
                    if self.refused.is_some() {
                        return;
                    }
                    self.cue_shown = index > 0;
                    vars.set("item", item);
                    vars.set("loop", serde_json::json!({"index": index + 1, "index0": index, "first": index == 0, "last": index + 1 == length, "length": length}));
                    self.once(step, &id.item(index + 1), depth, vars);
                }
            }
            _ => {
                // The list is only known at run time: plan one pass, unexpanded.
                vars.set("item", Value::String(AT_RUN_TIME.into()));
                let fresh: Vec<&str> = ["item", "loop"]
                    .into_iter()
                    .filter(|n| self.unknown.insert((*n).to_owned()))
                    .collect();
                self.once(step, &id.item_at_run_time(), depth, vars);
                for name in fresh {
                    self.unknown.remove(name);
                }
            }
        }
    }

    fn once(&mut self, step: &Spanned<Step>, id: &StepId, depth: usize, vars: &mut Context) {
        // A looped step's cue fires once, before its first item.
        let cue_shown = std::mem::take(&mut self.cue_shown);
        if self.plan.rows.len() >= MAX_ROWS {
            if self.refused.is_none() {
                let span = step.pos.span(&self.file);
                self.refused = Some(
                    Diagnostic::new(
                        &self.file,
                        span,
                        format!("the plan has more than {MAX_ROWS} rows"),
                    )
                    .with_help(
                        "loops multiply the steps inside them: are there loops inside loops?",
                    ),
                );
            }
            return;
        }
        let secrets = std::sync::Arc::clone(self.engine.secrets());
        let mark = secrets.uses();
        let name = match &step.name {
            Some(name) => {
                let rendered = self.engine.render_string(name, vars);
                self.rendered(rendered)
            }
            None => None,
        }
        .unwrap_or_else(|| step.label());
        // A field rendered from a secret is shown as `***`, never in part.
        let name = if secrets.uses() != mark {
            crate::secrets::MASK.to_owned()
        } else {
            name
        };
        let cue = step
            .at
            .as_ref()
            .filter(|_| !cue_shown)
            .map(|at| at.value.to_string());
        if self.decided_when(step, vars) == Some(false) {
            let reason = format!("when: {}", step.when.as_ref().map_or("", |w| &w.value));
            self.skipped_row(step, id, depth, name, cue, reason);
            if let Some(register) = &step.register {
                vars.set(register.value.clone(), serde_json::json!({"skipped": true}));
                self.unknown.remove(&register.value);
            }
            return;
        }
        // What a step registers is known only once it has run.
        if let Some(register) = &step.register {
            vars.remove(&register.value);
            self.unknown.insert(register.value.clone());
        }
        match step.body() {
            Some(Body::Action {
                name: action_name,
                args,
                ..
            }) => {
                let mark = secrets.uses();
                let rendered = self.engine.render_node(args, vars);
                let rendered = self.rendered(rendered);
                let action = rendered
                    .clone()
                    .and_then(|r| Action::from_parts(action_name, r).ok());
                let mut target = target_of(action.as_ref(), args);
                let warned = self.plan.warnings.len();
                if let (Some(rehearsal), Some(action)) = (self.rehearsal, &action) {
                    self.check_people(id, &name, action, rehearsal);
                }
                if let Some(action) = &action {
                    self.check_live(id, &name, action, args);
                }
                if secrets.uses() != mark {
                    target = target.map(|t| secrets.hide_fields(&t));
                    for warning in &mut self.plan.warnings[warned..] {
                        *warning = secrets.hide_fields(warning);
                    }
                }
                self.plan.rows.push(Row {
                    id: id.clone(),
                    depth,
                    name,
                    action: Some(action_name),
                    cue,
                    when: self.when(),
                    target,
                    calls: catalogue::info(action_name)
                        .map_or(Vec::new(), |info| info.call_texts()),
                    skipped: None,
                    takes: None,
                    scene: None,
                });
                if let (Some(rehearsal), Some(action)) = (self.rehearsal, &action) {
                    self.fan_out(step, id, action, rehearsal);
                }
                self.advance(action.as_ref(), action_name);

                if let Some(Action::Set(values)) = &action {
                    for (key, value) in values {
                        vars.set(key.clone(), value.clone());
                        self.unknown.remove(key);
                    }
                } else if action_name == "set"
                    && let Node::Map(map) = &args.value
                {
                    // Values only a run can render.
                    for key in map.keys() {
                        vars.remove(key);
                        self.unknown.insert(key.clone());
                    }
                }
            }
            Some(Body::Block {
                steps,
                rescue,
                always,
            }) => {
                let row = self.block_row(id, depth, name, cue);
                self.plan.rows.push(row);
                let inherited = self.inherited_tags.len();
                self.inherited_tags
                    .extend(step.tags.iter().map(|t| t.value.clone()));
                match &step.included {
                    // The include's variables, as a run sets them.
                    Some(included) => {
                        let given = IncludeScope::given(self.engine, included, vars);
                        let given = self.rendered(given).unwrap_or_default();
                        let outer = std::mem::replace(&mut self.file, Arc::clone(&included.file));
                        let (scope, entered) =
                            IncludeScope::enter(self.engine, included, given, vars);
                        self.rendered(entered);
                        self.steps(steps, &Siblings::steps_of(id), depth + 1, vars);
                        scope.leave(vars);
                        self.file = outer;
                    }
                    None => self.steps(steps, &Siblings::steps_of(id), depth + 1, vars),
                }
                self.after_block(id, rescue, always, depth, vars);
                self.inherited_tags.truncate(inherited);
            }
            Some(Body::Scene {
                name: scene,
                rescue,
                always,
            }) => {
                let row = self.block_row(id, depth, name, cue);
                self.scene_step(step, id, depth, row, scene, vars);
                self.after_block(id, rescue, always, depth, vars);
            }
            None => {}
        }
    }

    /// A block's row (or a `scene:` step's), before the steps inside it.
    fn block_row(&self, id: &StepId, depth: usize, name: String, cue: Option<String>) -> Row {
        Row {
            id: id.clone(),
            depth,
            name,
            action: None,
            cue,
            when: self.when(),
            target: None,
            calls: Vec::new(),
            skipped: None,
            takes: None,
            scene: None,
        }
    }

    /// A block's `rescue` and `always`, after its steps.
    fn after_block(
        &mut self,
        id: &StepId,
        rescue: &[Spanned<Step>],
        always: &[Spanned<Step>],
        depth: usize,
        vars: &mut Context,
    ) {
        if !rescue.is_empty() {
            // A rescue runs only on failure: plan it, but it takes no time on the plan.
            let (now, exact) = (self.now, self.exact);
            self.steps(rescue, &Siblings::rescue_of(id), depth + 1, vars);
            self.now = now;
            self.exact = exact;
        }
        self.steps(always, &Siblings::always_of(id), depth + 1, vars);
    }

    /// Moves the estimate of "now" past what a step waits for.
    fn advance(&mut self, action: Option<&Action>, name: &str) {
        match action {
            Some(Action::Wait(Wait::For(duration))) => {
                self.now = self.now.checked_add(duration.signed()).unwrap_or(self.now);
            }
            Some(Action::Wait(Wait::Until(cue))) => {
                if let Ok(at) = cue.resolve_in(self.start, Some(self.meeting), &self.zone) {
                    self.now = self.now.max(at);
                }
            }
            Some(Action::WaitFor(_)) => self.exact = false,
            None if name == "wait" || name == "wait_for" => self.exact = false,
            _ => {}
        }
    }
}

fn target_of(action: Option<&Action>, args: &Spanned<Node>) -> Option<String> {
    let Some(action) = action else {
        // Arguments that cannot be rendered yet depend on the run.
        return (!matches!(args.value, Node::Null)).then(|| AT_RUN_TIME.to_owned());
    };
    let text = match action {
        Action::Rename(rename) => format!("{} → {}", rename.who, rename.to),
        action if action.selector().is_some() => action.selector()?.to_string(),
        Action::Admit(who) | Action::MoveToWaitingRoom(who) => who.to_string(),
        Action::Invite(invite) => invite
            .people
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        Action::Wait(Wait::For(duration)) => duration.to_string(),
        Action::Wait(Wait::Until(cue)) => format!("until {cue}"),
        Action::WaitFor(wait_for) => wait_for.describe(),
        Action::Extend(extend) if extend.auto => "automatically".into(),
        Action::Extend(extend) => format!("{} minutes", extend.minutes),
        Action::MuteAll(args) if !args.allow_self_unmute => "no self-unmute".into(),
        Action::AllowSelfUnmute(allow) => allow.to_string(),
        Action::Log(log) => log.msg.clone(),
        Action::Http(http) => format!("{:?} {}", http.method, http.path),
        _ => return None,
    };
    Some(text)
}

impl Planner<'_> {
    /// The deadline, and a warning for every step planned at or after it.
    fn deadline(&mut self, playbook: &Playbook) {
        let Some(cue) = &playbook.doc.deadline else {
            return;
        };
        let Ok(instant) = cue.value.resolve(self.start, &self.zone) else {
            return;
        };
        for row in &self.plan.rows {
            let (When::At { instant: at, .. } | When::NotBefore { instant: at, .. }) = row.when;
            if at >= instant {
                self.plan.warnings.push(format!(
                    "step {} {} is planned at or after the deadline {}: it will not run",
                    row.id, row.name, cue.value
                ));
            }
        }
        self.plan.deadline = Some(PlannedDeadline {
            cue: cue.value.to_string(),
            instant,
            offset: instant.duration_since(self.start),
        });
    }
}

fn describe_cue(cue: &Cue, at: Timestamp, zone: &TimeZone) -> String {
    format!("{cue} ({})", at.to_zoned(zone.clone()).strftime("%H:%M:%S"))
}

#[cfg(test)]
mod tests;
