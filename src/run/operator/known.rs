//! What an operator can name in a run: the playbook's steps (top-level and nested,
//! with their labels, for replies and "did you mean") and its scenes.

use crate::run::event::StepId;

/// What an operator can name: the playbook's steps and scenes (the panic scene is
/// one of them; the console knows which).
#[derive(Debug, Clone, Default)]
pub(crate) struct Known {
    /// Every step of `steps:` (top-level and nested), in the order a run meets them,
    /// with its label.
    pub steps: Vec<(StepId, String)>,
    /// The scenes, in the order written.
    pub scenes: Vec<String>,
}

impl Known {
    /// The steps of `doc` (top-level and nested: rescue and always lists, and the
    /// steps of the scenes its `scene:` steps play) and its scenes.
    pub(crate) fn of(doc: &crate::playbook::PlaybookDoc) -> Known {
        let mut known = Known {
            steps: Vec::new(),
            scenes: doc.scenes.keys().cloned().collect(),
        };
        walk(
            &doc.steps.value,
            &crate::playbook::step_id::Siblings::top_level(),
            &doc.scenes,
            0,
            &mut known.steps,
        );
        known
    }

    /// The label of the step `id`, if the playbook has it.
    pub(super) fn label(&self, id: &StepId) -> Option<&str> {
        self.steps
            .iter()
            .find(|(known, _)| known == id)
            .map(|(_, label)| label.as_str())
    }
}

/// How deep scenes playing scenes are followed (the checker refuses a scene that
/// plays itself; this only bounds the walk).
const DEEPEST: usize = 16;

fn walk(
    steps: &[crate::yaml::Spanned<crate::playbook::Step>],
    list: &crate::playbook::step_id::Siblings,
    scenes: &crate::playbook::scene::Scenes,
    depth: usize,
    out: &mut Vec<(StepId, String)>,
) {
    use crate::playbook::Body;
    use crate::playbook::step_id::Siblings;
    if depth > DEEPEST {
        return;
    }
    for (index, step) in steps.iter().enumerate() {
        let id = list.id(index + 1);
        out.push((id.clone(), step.label()));
        match step.body() {
            Some(Body::Block {
                steps,
                rescue,
                always,
            }) => {
                walk(steps, &Siblings::steps_of(&id), scenes, depth + 1, out);
                walk(rescue, &Siblings::rescue_of(&id), scenes, depth + 1, out);
                walk(always, &Siblings::always_of(&id), scenes, depth + 1, out);
            }
            Some(Body::Scene {
                name,
                rescue,
                always,
            }) => {
                if let Some(scene) = scenes.get(&name.value) {
                    walk(
                        &scene.value,
                        &Siblings::steps_of(&id),
                        scenes,
                        depth + 1,
                        out,
                    );
                }
                walk(rescue, &Siblings::rescue_of(&id), scenes, depth + 1, out);
                walk(always, &Siblings::always_of(&id), scenes, depth + 1, out);
            }
            _ => {}
        }
    }
}
