//! Moved: the variables given outside a playbook live in `crate::session::vars`, an
//! include's scope in `crate::playbook::scope` (templates know nothing of playbooks).

pub(crate) use crate::playbook::scope::IncludeScope; // moved: re-export until the branches are merged
