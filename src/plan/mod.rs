//! Time in a playbook, resolved without running anything: when each step is planned,
//! what it acts on, and which calls it makes (`timeline`), shown as a table (`table`).

mod table;
pub(crate) mod timeline;

pub(crate) use timeline::{PlanStart, plan};
