//! The playbook: its model, loading and checking. Everything here is pure — it reads
//! the file and nothing else — so `emcee check` can run in CI and pre-commit hooks.

pub(crate) mod action;
pub(crate) mod adhoc;
pub(crate) mod catalogue;
mod check;
pub(crate) mod cue;
pub(crate) mod include;
mod load;
mod model;
pub(crate) mod scene;
mod schema;
pub(crate) mod scope;
pub(crate) mod select;
pub(crate) mod selector;
pub(crate) mod step;
pub(crate) mod step_id;
mod templated;
pub(crate) mod wait;

pub use action::Action;
pub use catalogue::{ACTIONS, ActionInfo};
pub use check::{KnownVars, check, check_fragment};
pub use model::{
    AccountSpec, DEFAULT_RATE_LIMIT, DEFAULT_START_POLL, DEFAULT_TIMEOUT, Defaults, Events,
    MIN_START_POLL, MeetingSpec, NotStarted, Playbook, PlaybookDoc,
};
pub use schema::schema;
pub use selector::{RoleMatch, Selector, SelectorMatch, fold_name, plain_name};
pub use step::{Body, OnError, RetrySpec, Step};
