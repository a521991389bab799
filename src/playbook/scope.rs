//! An include's variables while its steps run: the include's own `vars` over the
//! included file's defaults, a name given with `-e` kept, and everything put back when
//! the include's steps are done. The executor and the planner scope includes alike
//! through this one type, so a plan shows the values a run will use.

use serde_json::Value as Json;

use super::step::Included;
use crate::template::{Context, Engine, TemplateError};

/// An include's variables while its steps run, and the values to put back after.
pub(crate) struct IncludeScope {
    saved: Vec<(String, Option<Json>)>,
}

impl IncludeScope {
    /// The include's own `vars`, rendered where the include is written (errors point
    /// into the including file).
    pub(crate) fn given(
        engine: &Engine,
        included: &Included,
        vars: &Context,
    ) -> Result<Vec<(String, Json)>, TemplateError> {
        included
            .given
            .iter()
            .filter(|(name, _)| !vars.is_pinned(name))
            .map(|(name, node)| Ok((name.clone(), engine.render_node(node, vars)?)))
            .collect()
    }

    /// Sets `given` (from [`IncludeScope::given`]), then renders the file's defaults for
    /// the names it leaves out (errors point into the included file). A name given with
    /// `-e` keeps its value. The scope comes back even on an error, to be left.
    pub(crate) fn enter(
        engine: &Engine,
        included: &Included,
        given: Vec<(String, Json)>,
        vars: &mut Context,
    ) -> (IncludeScope, Result<(), TemplateError>) {
        let saved = included
            .given
            .keys()
            .chain(included.defaults.keys())
            .filter(|name| !vars.is_pinned(name))
            .map(|name| (name.clone(), vars.get(name).cloned()))
            .collect();
        let scope = IncludeScope { saved };
        for (name, value) in given {
            vars.set(name, value);
        }
        for (name, node) in &included.defaults {
            if included.given.contains_key(name) || vars.is_pinned(name) {
                continue;
            }
            match engine.render_node(node, vars) {
                Ok(value) => vars.set(name.clone(), value),
                Err(error) => return (scope, Err(error)),
            }
        }
        (scope, Ok(()))
    }

    /// Puts back what the include's variables replaced.
    pub(crate) fn leave(self, vars: &mut Context) {
        for (name, value) in self.saved {
            match value {
                Some(value) => vars.set(name, value),
                None => vars.remove(&name),
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::node::Node;
    use crate::secrets::Secrets;
    use crate::source::SourceFile;
    use crate::yaml::Spanned;
    use serde_json::json;

    fn engine() -> Engine {
        Engine::new(Secrets::new(false), SystemClock::shared())
    }

    pub(crate) fn included(given: &[(&str, &str)], defaults: &[(&str, &str)]) -> Included {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| {
                    (
                        (*k).to_owned(),
                        Spanned::new(Node::Str((*v).into()), Default::default()),
                    )
                })
                .collect()
        };
        Included {
            file: SourceFile::new("part.yaml", ""),
            given: map(given),
            defaults: map(defaults),
        }
    }

    pub(crate) fn scoped(include: &Included, vars: &mut Context) -> Context {
        let e = engine();
        let given = IncludeScope::given(&e, include, vars).unwrap();
        let (scope, result) = IncludeScope::enter(&e, include, given, vars);
        result.unwrap();
        let inside = vars.clone();
        scope.leave(vars);
        inside
    }

    #[test]
    fn level_3_include_defaults_beat_outer_vars_for_its_steps_only() {
        let mut vars = Context::new();
        vars.set("who", json!("playbook"));
        let inside = scoped(
            &included(&[], &[("who", "default"), ("new", "{{ who }}!")]),
            &mut vars,
        );
        assert_eq!(inside.get("who"), Some(&json!("default")));
        assert_eq!(inside.get("new"), Some(&json!("default!")));
        assert_eq!(vars.get("who"), Some(&json!("playbook")));
        assert!(!vars.contains("new"));
    }

    #[test]
    fn level_4_include_site_vars_beat_its_defaults() {
        let mut vars = Context::new();
        vars.set("who", json!("playbook"));
        let inside = scoped(
            &included(&[("who", "site {{ who }}")], &[("who", "default")]),
            &mut vars,
        );
        assert_eq!(inside.get("who"), Some(&json!("site playbook")));
        assert_eq!(vars.get("who"), Some(&json!("playbook")));
    }
}
