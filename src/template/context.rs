//! The variables a template sees.

use std::collections::BTreeSet;
use std::sync::Arc;

use indexmap::IndexMap;
use minijinja::Value;
use serde_json::Value as Json;

/// The variables in scope: playbook `vars`, files, `-e`, registered results, loop items.
/// Which source wins is decided where they are gathered (`vars`), not here.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    vars: IndexMap<String, Json>,
    /// Names given with `-e`: no include's `vars` replace them.
    pinned: Arc<BTreeSet<String>>,
    cached: std::cell::OnceCell<Value>,
}

impl Context {
    pub(crate) fn new() -> Context {
        Context::default()
    }

    pub(crate) fn set(&mut self, name: impl Into<String>, value: Json) {
        self.vars.insert(name.into(), value);
        self.cached = std::cell::OnceCell::new();
    }

    /// Marks a name as given with `-e`, above every level but the run's own.
    pub(crate) fn pin(&mut self, name: &str) {
        Arc::make_mut(&mut self.pinned).insert(name.to_owned());
    }

    pub(crate) fn is_pinned(&self, name: &str) -> bool {
        self.pinned.contains(name)
    }

    pub(crate) fn remove(&mut self, name: &str) {
        self.vars.shift_remove(name);
        self.cached = std::cell::OnceCell::new();
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Json> {
        self.vars.get(name)
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    pub(crate) fn names(&self) -> impl Iterator<Item = &String> {
        self.vars.keys()
    }

    /// The variables as a template context, built once per change.
    pub(crate) fn value(&self) -> Value {
        self.cached
            .get_or_init(|| Value::from(minijinja::value::Serde(&self.vars)))
            .clone()
    }
}
