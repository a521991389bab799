//! Scenes in a plan: a `scene:` step shows the scene's steps below it, where the show
//! plays them, and the plan lists every scene after the timeline, as an operator may
//! play it at any time: its steps and their calls, and which is the panic scene.

use std::sync::Arc;

use super::rows::{PlannedScene, Row, SceneRow};
use super::{Planner, StepId};
use crate::playbook::select::Selection;
use crate::playbook::step_id::Siblings;
use crate::playbook::{Playbook, Step};
use crate::template::Context;
use crate::yaml::Spanned;

/// What an operator plays is not subject to `--tags` or `--start-at`.
static EVERY_STEP: Selection = Selection {
    tags: Vec::new(),
    skip_tags: Vec::new(),
    start_at: None,
};

impl Planner<'_> {
    /// A `scene: NAME` step: its row, then the scene's steps under it, as a block's.
    pub(super) fn scene_step(
        &mut self,
        step: &Spanned<Step>,
        id: &StepId,
        depth: usize,
        row: Row,
        scene: &Spanned<String>,
        vars: &mut Context,
    ) {
        self.plan.rows.push(Row {
            scene: Some(scene.value.clone()),
            ..row
        });
        let Some(steps) = self.scenes.0.get(&scene.value) else {
            return; // `check` names the scene that is missing
        };
        if self.playing.contains(&scene.value) {
            return; // a scene that plays itself, which `check` refuses
        }
        let inherited = self.inherited_tags.len();
        self.inherited_tags
            .extend(step.tags.iter().map(|t| t.value.clone()));
        let outer = std::mem::replace(&mut self.file, Arc::clone(&self.scenes.1));
        self.playing.push(scene.value.clone());
        self.steps(&steps.value, &Siblings::steps_of(id), depth + 1, vars);
        self.playing.pop();
        self.file = outer;
        self.inherited_tags.truncate(inherited);
    }

    /// Every scene, after the timeline: planned from the playbook's variables, with
    /// every step selected, its rows taken out of the timeline into the scene.
    pub(super) fn scenes(&mut self, playbook: &Playbook, vars: &Context) {
        let panic = playbook.doc.panic_scene();
        self.selection = &EVERY_STEP;
        self.started = true;
        self.inherited_tags.clear();
        self.file = Arc::clone(&self.scenes.1);
        for (name, steps) in self.scenes.0 {
            if self.refused.is_some() {
                return;
            }
            let first = self.plan.rows.len();
            let mut vars = vars.clone();
            self.playing.push(name.clone());
            self.steps(&steps.value, &Siblings::top_level(), 0, &mut vars);
            self.playing.pop();
            let steps = self.plan.rows.split_off(first);
            self.plan.scenes.push(PlannedScene {
                name: name.clone(),
                panic: panic == Some(name.as_str()),
                steps: steps.into_iter().map(SceneRow::from).collect(),
            });
        }
    }
}

impl From<Row> for SceneRow {
    fn from(row: Row) -> SceneRow {
        SceneRow {
            id: row.id,
            depth: row.depth,
            name: row.name,
            action: row.action,
            target: row.target,
            calls: row.calls,
            skipped: row.skipped,
            scene: row.scene,
        }
    }
}
