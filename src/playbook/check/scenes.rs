//! What `check` finds wrong with scenes: their steps, checked as any step is (by the
//! same checker), a cue inside one (a scene plays when it is played, out of the show's
//! order), a `scene:` step naming no scene, scenes that play themselves (directly or
//! through others), a scene step that also does something else, a `panic_scene` naming
//! no scene, and scenes that, played inside one another, would make too many steps.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::Checker;
use crate::error::did_you_mean;
use crate::playbook::include::MAX_STEPS;
use crate::playbook::step::Step;
use crate::source::SourceFile;
use crate::yaml::{Pos, Spanned};

/// A `scene:` step inside a scene: the scene it plays, and where that is written.
struct Plays {
    name: String,
    pos: Pos,
    file: Arc<SourceFile>,
}

impl Checker<'_> {
    pub(super) fn scenes(&mut self, known: &BTreeSet<String>) {
        let scenes = &self.playbook.doc.scenes;
        self.in_scene = true;
        for (name, steps) in scenes {
            if steps.is_empty() {
                self.at(steps.pos, format!("scene `{name}` has no steps"));
            }
            self.steps(&steps.value, known);
        }
        self.in_scene = false;
        if let Some(panic) = &self.playbook.doc.panic_scene {
            self.scene_name(panic);
        }
        self.cycles();
    }

    /// A scene's name where a step or `panic_scene` gives it: it must be one of the
    /// playbook's scenes.
    pub(super) fn scene_name(&mut self, name: &Spanned<String>) {
        let scenes = &self.playbook.doc.scenes;
        if scenes.contains_key(&name.value) {
            return;
        }
        let names: Vec<&str> = scenes.keys().map(String::as_str).collect();
        let help = match did_you_mean(&name.value, &names) {
            Some(candidate) => format!("did you mean `{candidate}`?"),
            None if names.is_empty() => "name a scene defined under `scenes:`".to_owned(),
            None => format!("the scenes are: {}", names.join(", ")),
        };
        self.at(name.pos, format!("no scene is named `{}`", name.value))
            .help = Some(help);
    }

    pub(super) fn cue_in_scene(&mut self, pos: Pos) {
        self.at(
            pos,
            "a step in a scene has no cue: a scene plays at once when it is played",
        )
        .help = Some("remove `at`, or move the step into `steps:`".into());
    }

    /// A step with `scene` and an action or a block as well.
    pub(super) fn scene_and_more(&mut self, step: &Step) {
        if let Some(scene) = &step.scene
            && (!step.actions.is_empty() || step.steps.is_some())
        {
            self.at(
                scene.pos,
                "a step plays a scene, or has an action or a block of `steps`: one of them",
            )
            .help = Some("put the scene in a step of its own".into());
        }
    }

    /// Scenes that play themselves, each cycle reported once where it closes; then,
    /// without cycles, how many steps the scenes make when played inside one another.
    fn cycles(&mut self) {
        let scenes = &self.playbook.doc.scenes;
        let plays: Vec<Vec<Plays>> = scenes
            .values()
            .map(|steps| {
                let mut found = Vec::new();
                played(&steps.value, &self.playbook.file, &mut found);
                found
            })
            .collect();
        // Depth first, in the order written: white (unseen), grey (on the path), black.
        let mut colour = vec![0u8; scenes.len()];
        let mut cyclic = false;
        for start in 0..scenes.len() {
            if colour[start] == 0 {
                cyclic |= self.visit(start, &plays, &mut colour, &mut Vec::new());
            }
        }
        if !cyclic {
            self.expansion(&plays);
        }
    }

    fn visit(
        &mut self,
        scene: usize,
        plays: &[Vec<Plays>],
        colour: &mut [u8],
        path: &mut Vec<usize>,
    ) -> bool {
        let scenes = &self.playbook.doc.scenes;
        colour[scene] = 1;
        path.push(scene);
        let mut cyclic = false;
        for play in &plays[scene] {
            let Some(next) = scenes.get_index_of(&play.name) else {
                continue;
            };
            match colour[next] {
                0 => cyclic |= self.visit(next, plays, colour, path),
                1 => {
                    let from = path.iter().position(|s| *s == next).unwrap_or(0);
                    let names: Vec<&str> = path[from..]
                        .iter()
                        .chain([&next])
                        .filter_map(|s| scenes.get_index(*s).map(|(name, _)| name.as_str()))
                        .collect();
                    let first = names[0];
                    let outer = std::mem::replace(&mut self.file, Arc::clone(&play.file));
                    self.at(
                        play.pos,
                        format!("scene `{first}` plays itself: {}", names.join(" → ")),
                    )
                    .help = Some("a scene cannot play a scene that plays it".into());
                    self.file = outer;
                    cyclic = true;
                }
                _ => {}
            }
        }
        path.pop();
        colour[scene] = 2;
        cyclic
    }

    /// Steps a scene makes once the scenes it plays are counted in, each time it plays
    /// them: bounded as the steps of includes are, since plans and runs go through
    /// them all.
    fn expansion(&mut self, plays: &[Vec<Plays>]) {
        let scenes = &self.playbook.doc.scenes;
        let mut made: Vec<Option<usize>> = vec![None; scenes.len()];
        fn count(
            scene: usize,
            scenes: &crate::playbook::scene::Scenes,
            plays: &[Vec<Plays>],
            made: &mut [Option<usize>],
        ) -> usize {
            if let Some(known) = made[scene] {
                return known;
            }
            let own = scenes
                .get_index(scene)
                .map_or(0, |(_, s)| own_steps(&s.value));
            let total = plays[scene].iter().fold(own, |total, play| {
                let inner = scenes
                    .get_index_of(&play.name)
                    .map_or(0, |next| count(next, scenes, plays, made));
                total.saturating_add(inner)
            });
            made[scene] = Some(total);
            total
        }
        for scene in 0..scenes.len() {
            if count(scene, scenes, plays, &mut made) > MAX_STEPS {
                let (name, steps) = scenes.get_index(scene).expect("a scene");
                self.at(
                    steps.pos,
                    format!(
                        "scene `{name}` makes more than {MAX_STEPS} steps with the scenes it plays"
                    ),
                )
                .help = Some("a scene played several times adds its steps each time".into());
                return;
            }
        }
    }
}

/// The `scene:` steps in `steps` and the blocks inside them, included files too.
fn played(steps: &[Spanned<Step>], file: &Arc<SourceFile>, found: &mut Vec<Plays>) {
    for step in steps {
        if let Some(name) = &step.scene {
            found.push(Plays {
                name: name.value.clone(),
                pos: name.pos,
                file: Arc::clone(file),
            });
        }
        let inner = step.included.as_ref().map_or(file, |i| &i.file);
        if let Some(list) = &step.steps {
            played(&list.value, inner, found);
        }
        for list in [&step.rescue, &step.always].into_iter().flatten() {
            played(&list.value, file, found);
        }
    }
}

/// Steps in `steps` and the blocks inside them.
fn own_steps(steps: &[Spanned<Step>]) -> usize {
    steps
        .iter()
        .map(|step| {
            1 + [&step.steps, &step.rescue, &step.always]
                .into_iter()
                .flatten()
                .map(|list| own_steps(&list.value))
                .sum::<usize>()
        })
        .sum()
}
