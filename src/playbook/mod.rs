//! The playbook: its model, loading and checking. Everything here is pure — it reads
//! the file and nothing else — so `emcee check` can run in CI and pre-commit hooks.

pub mod action;
pub mod catalogue;
mod check;
pub mod cue;
pub mod include;
mod load;
mod model;
mod schema;
pub mod scope;
pub mod select;
pub mod selector;
pub mod step;
pub mod step_id;
mod templated;
pub mod wait;

pub use action::Action;
pub use catalogue::{ACTIONS, ActionInfo};
pub use check::{KnownVars, check, check_fragment};
pub use model::{
    DEFAULT_RATE_LIMIT, DEFAULT_TIMEOUT, Defaults, MeetingSpec, Playbook, PlaybookDoc,
};
pub use schema::schema;
pub use selector::{RoleMatch, Selector, SelectorMatch, fold_name, plain_name};
pub use step::{Body, OnError, RetrySpec, Step};
