//! What a plan is made of: its rows (when each step is planned, what it acts on and
//! calls), the deadline, and the starts it counts from. The planner fills them;
//! the table and `--format json` show them.

use crate::playbook::step_id::StepId;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

/// When a step is planned.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum When {
    /// At this instant.
    At {
        instant: Timestamp,
        offset: SignedDuration,
    },
    /// At this instant or later: something before it waits for an unknown time.
    NotBefore {
        instant: Timestamp,
        offset: SignedDuration,
    },
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub id: StepId,
    /// Nesting depth: 0 for top-level steps.
    pub depth: usize,
    pub name: String,
    pub action: Option<&'static str>,
    /// The cue as written, when the step has one.
    pub cue: Option<String>,
    pub when: When,
    /// Who or what the step acts on; `(at run time)` when only a run can tell.
    pub target: Option<String>,
    pub calls: Vec<&'static str>,
    /// Why the run would skip the step, when that is known before it: `--tags`,
    /// `--skip-tags`, `--start-at`, or a `when` the variables already decide.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// How long a fan-out takes at the rate limit, from the rehearsal's headcount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub takes: Option<SignedDuration>,
    /// The scene a `scene:` step plays; its steps are the rows below it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scene: Option<String>,
}

/// A scene of the playbook, as an operator may play it at any time: its steps and
/// their calls, with ids counted within the scene (played, they are under the id of
/// what plays it).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PlannedScene {
    pub name: String,
    /// The scene the console's panic key plays.
    pub panic: bool,
    pub steps: Vec<SceneRow>,
}

/// A step of a scene, without a time: a scene plays whenever it is played.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SceneRow {
    pub id: StepId,
    /// Nesting depth within the scene: 0 for its own steps.
    pub depth: usize,
    pub name: String,
    pub action: Option<&'static str>,
    pub target: Option<String>,
    pub calls: Vec<&'static str>,
    /// Why the step would be skipped, when the variables already decide its `when`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The scene a `scene:` step plays; its steps are the rows below it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scene: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Plan {
    pub rows: Vec<Row>,
    pub warnings: Vec<String>,
    /// With `--live`: what the live meeting says of the steps' selectors, each at its
    /// step's place (`file:line:col: step ID (NAME): …`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub live: Vec<String>,
    /// The playbook's `deadline`, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<PlannedDeadline>,
    /// The meeting's start the plan counts `meeting+…` cues from, when a cue does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meeting_start: Option<PlannedMeetingStart>,
    /// The playbook's scenes, in the order written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scenes: Vec<PlannedScene>,
}

/// When the plan has the meeting start: as given (`--meeting-start`), or assumed to
/// be the run's start, since a run learns it only when it first obtains its token.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PlannedMeetingStart {
    pub instant: Timestamp,
    pub assumed: bool,
}

/// When a planned run starts, and when its meeting does (`--meeting-start`; assumed
/// to be the run's start when absent).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlanStart {
    pub run: Timestamp,
    pub meeting: Option<Timestamp>,
}

/// When the whole run must be over.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PlannedDeadline {
    /// As written.
    pub cue: String,
    pub instant: Timestamp,
    pub offset: SignedDuration,
}
