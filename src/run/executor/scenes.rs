//! Scenes in a run: a step `scene: NAME` plays the playbook's scene like a block, and
//! an operator plays a scene (`play_scene`) or a one-off step (`play_step`) between
//! steps, out of the playbook's order. What an operator plays is reported like any
//! step, under its own ids (`op3`, `op3.1`), and is not subject to `--tags` or
//! `--start-at`: the operator asked for it by name.

use std::sync::Arc;

use super::Executor;
use crate::playbook::Step;
use crate::playbook::scene::Scenes;
use crate::run::StepDefaults;
use crate::run::actions::Performed;
use crate::run::event::StepId;
use crate::run::step::StepFailure;
use crate::source::SourceFile;
use crate::yaml::{Pos, Spanned};

/// The `cue` of what an operator plays: it is not among the top-level steps.
const OUT_OF_ORDER: usize = 0;

/// The playbook's scenes, with what they are read against wherever they are played.
pub(super) struct SceneBook<'a> {
    scenes: &'a Scenes,
    /// The playbook's own file, where the scenes are written.
    file: Arc<SourceFile>,
    /// The playbook's defaults, for what an operator plays inside a block.
    defaults: StepDefaults,
}

impl<'a> Executor<'a> {
    /// The playbook's scenes, for `scene:` steps and the operator. Given before the
    /// run starts, while the executor reads the playbook's own file.
    pub(crate) fn scenes(&mut self, scenes: &'a Scenes) {
        self.scenes = Some(SceneBook {
            scenes,
            file: Arc::clone(&self.file),
            defaults: self.defaults,
        });
    }

    /// Plays a scene as a block: StepStarted/StepFinished for `id` named `scene NAME`,
    /// its steps as `id.1`, `id.2`… An unknown scene is a failed step, reported. Err
    /// when the scene failed (already reported, `rescue`-like handling is the caller's).
    #[cfg_attr(not(test), allow(dead_code))] // the operator's commands play them
    pub(crate) async fn play_scene(&mut self, name: &str, id: StepId) -> Result<(), StepFailure> {
        let pos = self
            .scenes
            .as_ref()
            .and_then(|book| book.scenes.get(name))
            .map_or(Pos::default(), |scene| scene.pos);
        let mut step = Step::playing(name, pos);
        // What an operator plays does not fail the run: its failure is reported, and
        // the show goes on, as with a `do`.
        step.value.on_error = crate::playbook::OnError::Continue;
        let file = self.scenes.as_ref().map(|book| Arc::clone(&book.file));
        let file = file.unwrap_or_else(|| Arc::clone(&self.file));
        self.play_step(file, &step, id).await
    }

    /// Runs one step (a one-off from `do`) under `id`, reported like any step: with
    /// the playbook's defaults, none of the enclosing blocks' tags, and messages
    /// pointing into `file`.
    #[cfg_attr(not(test), allow(dead_code))] // the operator's commands play them
    pub(crate) async fn play_step(
        &mut self,
        file: Arc<SourceFile>,
        step: &Spanned<Step>,
        id: StepId,
    ) -> Result<(), StepFailure> {
        let outer_file = std::mem::replace(&mut self.file, file);
        let selection = std::mem::take(&mut self.selection);
        let started = std::mem::replace(&mut self.started, true);
        let tags = std::mem::take(&mut self.inherited_tags);
        let defaults = self.defaults;
        if let Some(book) = &self.scenes {
            self.defaults = book.defaults;
        }
        let result = Box::pin(self.step(step, id, OUT_OF_ORDER)).await;
        self.defaults = defaults;
        self.inherited_tags = tags;
        self.started = started;
        self.selection = selection;
        self.file = outer_file;
        result
    }

    /// A `scene: NAME` step's body: the scene's steps as a block's `steps`, with the
    /// step's own `rescue` and `always`.
    pub(super) async fn scene_step(
        &mut self,
        step: &Spanned<Step>,
        id: &StepId,
        name: &Spanned<String>,
        [rescue, always]: [&[Spanned<Step>]; 2],
        cue: usize,
    ) -> Result<Performed, StepFailure> {
        let found = self.scenes.as_ref().and_then(|book| {
            let scenes: &'a Scenes = book.scenes;
            scenes.get(&name.value).map(|scene| &scene.value[..])
        });
        let Some(steps) = found else {
            let unknown = format!("no scene is named `{}`", name.value);
            // An operator's name for a scene was written nowhere in the playbook.
            return Err(StepFailure::new(if name.pos == Pos::default() {
                unknown
            } else {
                format!("{}: {unknown}", self.position(name.pos))
            }));
        };
        Box::pin(self.block(step, id, [steps, rescue, always], cue)).await
    }

    /// A scene's steps, read in the playbook's own file, where scenes are written,
    /// wherever the step that plays them is (in an included file too).
    pub(super) async fn scene_steps(
        &mut self,
        steps: &[Spanned<Step>],
        list: &crate::playbook::step_id::Siblings,
        cue: usize,
    ) -> Result<(), StepFailure> {
        let file = self.scenes.as_ref().map(|book| Arc::clone(&book.file));
        let outer_file = file.map(|file| std::mem::replace(&mut self.file, file));
        let result = Box::pin(self.steps(steps, list, cue)).await;
        if let Some(outer_file) = outer_file {
            self.file = outer_file;
        }
        result
    }
}
