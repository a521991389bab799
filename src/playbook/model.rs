//! The playbook's model as the loader reads it: the document's top level, its meeting
//! and defaults, and a loaded playbook (its text and its document). Steps and actions
//! have files of their own.

use std::sync::Arc;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

use super::cue::Cue;
use super::step::{RetrySpec, Step};
use crate::duration::Duration;
use crate::meeting::MeetingSeed;
use crate::node::Node;
use crate::source::SourceFile;
use crate::yaml::Spanned;

/// A playbook file, loaded: its text (for messages) and its model.
pub struct Playbook {
    pub file: Arc<SourceFile>,
    pub doc: PlaybookDoc,
}

/// A meeting's choreography: the cues to run, in order, against one meeting.
// Unknown keys are found on the document as written (see `Playbook::parse_all`), so
// that one does not stop the loading: the schema still refuses them.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(title = "emcee playbook")]
pub struct PlaybookDoc {
    /// What the playbook is for; shown in output and reports.
    pub name: Spanned<String>,
    /// The meeting to control.
    pub meeting: MeetingSpec,
    /// IANA time zone for wall-clock times, e.g. `Asia/Shanghai`.
    #[serde(default)]
    pub timezone: Option<Spanned<String>>,
    /// Template variables, lowest precedence: `--vars-file` and `-e` override them.
    #[serde(default)]
    pub vars: IndexMap<String, Spanned<Node>>,
    /// Settings every step inherits.
    #[serde(default)]
    pub defaults: Defaults,
    /// When the whole run must be over, in the forms of a step's `at` (`+2h` counts from
    /// the run's first start, also when resumed). Past it the current step stops, the
    /// `always` steps run, and the run fails. `--deadline` overrides it.
    #[serde(default)]
    pub deadline: Option<Spanned<Cue>>,
    /// The cues, run in order.
    #[schemars(length(min = 1))]
    pub steps: Spanned<Vec<Spanned<Step>>>,
    /// Named lists of steps (names like `qa_open`), played by a step `scene: NAME` or by
    /// an operator during the run (`emcee cue scene NAME`). They play at once: no `at`.
    #[serde(default, deserialize_with = "super::scene::deserialize")]
    #[schemars(schema_with = "super::scene::schema")]
    pub scenes: IndexMap<String, Spanned<Vec<Spanned<Step>>>>,
    /// The scene the console's panic key plays; a scene named `panic` when absent.
    #[serde(default)]
    pub panic_scene: Option<Spanned<String>>,
    /// The meeting `--sim` rehearses against: the meeting fields of an emulator seed
    /// (participants, attendees, locked…). Its id and host password come from `meeting`.
    #[serde(default)]
    pub rehearsal: Option<Spanned<MeetingSeed>>,
}

// Unknown keys: as for `PlaybookDoc`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
// As `check` says: one of the two credentials, not both.
#[schemars(extend("oneOf" = [{"required": ["host_password"]}, {"required": ["token"]}]))]
pub struct MeetingSpec {
    /// The conference id (not the cloud-room id), e.g. "914044873"; templated.
    #[schemars(schema_with = "meeting_id_schema")]
    pub id: Spanned<Node>,
    /// The host password, normally `{{ secret('EMCEE_HOST_PASSWORD') }}`.
    #[serde(default)]
    pub host_password: Option<Spanned<String>>,
    /// A control token obtained elsewhere, instead of the host password.
    #[serde(default)]
    pub token: Option<Spanned<String>>,
    /// What to do when the meeting has not started yet (the service refuses the control
    /// token until it has): `wait` for it (the default), `start` it with the `account`,
    /// or `fail` at once. `run --not-started` overrides it.
    #[serde(default)]
    pub not_started: Option<Spanned<NotStarted>>,
    /// While waiting, how often to ask whether the meeting has started; 15s when absent,
    /// at least 5s: each ask carries the host password, and too many failed logins lock
    /// the meeting.
    #[serde(default)]
    pub start_poll: Option<Spanned<Duration>>,
    /// How long to wait for the meeting to start, from the run's start; when absent, until
    /// 15 minutes after the first top-level step cued at a time of day or a date, or 30
    /// minutes after the run's start without one (or when that is already past).
    #[serde(default)]
    pub start_timeout: Option<Spanned<Duration>>,
    /// The account that starts the meeting for `not_started: start` (the account login);
    /// both fields are secrets, normally `{{ secret('EMCEE_ACCOUNT') }}` and
    /// `{{ secret('EMCEE_ACCOUNT_PASSWORD') }}`.
    #[serde(default)]
    pub account: Option<Spanned<AccountSpec>>,
    /// The meeting's push feed, which tells the run of every change as it happens:
    /// `auto` (the default) opens it at the first step that calls the API and reads the
    /// online list over the API while it is not open; `off` never opens it and reads
    /// before every step that names someone, as waits poll; `required` stops the run
    /// (exit 3) if it cannot be opened then. A feed that drops later is opened again,
    /// the run reading meanwhile, whatever the setting. A fast-forwarded rehearsal
    /// (`--fast-forward`) does not use the feed. `run --events` overrides it.
    #[serde(default)]
    pub events: Option<Spanned<Events>>,
}

/// Whether a run uses the meeting's push feed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Events {
    /// Use it when it opens; read the online list while it does not.
    #[default]
    Auto,
    /// Never open it: read the online list, and poll in waits.
    Off,
    /// Stop the run (exit 3) when it cannot be opened at the first step that calls the
    /// API; if it drops later, it is opened again and the run reads meanwhile.
    Required,
}

impl Events {
    /// The setting as the playbook and `--events` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Events::Auto => "auto",
            Events::Off => "off",
            Events::Required => "required",
        }
    }
}

/// What a run does when its meeting has not started yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotStarted {
    /// Ask again every `start_poll` until it has, or `start_timeout` passes.
    #[default]
    Wait,
    /// Start it (`StartMeeting`) with the `account` and the host password.
    Start,
    /// Stop at once (exit 3).
    Fail,
}

impl NotStarted {
    /// The policy as the playbook and `--not-started` spell it.
    pub fn name(self) -> &'static str {
        match self {
            NotStarted::Wait => "wait",
            NotStarted::Start => "start",
            NotStarted::Fail => "fail",
        }
    }
}

/// An account of the meeting service, for its account login.
// Unknown keys: as for `PlaybookDoc`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AccountSpec {
    /// The account name; templated.
    pub name: Spanned<String>,
    /// The account's password; templated, normally from `secret()`.
    pub password: Spanned<String>,
}

// Unknown keys: as for `PlaybookDoc`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Defaults {
    /// Retries of transient API failures; 5 attempts, 500ms to 8s, when absent.
    #[serde(default)]
    pub retry: Option<Spanned<RetrySpec>>,
    /// How long one step may take, retries included; 30s when absent.
    #[serde(default)]
    pub timeout: Option<Spanned<Duration>>,
    /// Calls per minute per API that emcee allows itself (0: no limit); 90 when absent,
    /// safely under the gateway's 100. `--rate-limit` overrides it.
    #[serde(default)]
    pub rate_limit: Option<u32>,
}

/// A conference id, or a template that gives one.
fn meeting_id_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let id = generator.subschema_for::<crate::meeting::MeetingId>();
    schemars::json_schema!({"anyOf": [id, super::templated::template()]})
}

/// Calls per minute per API when neither the playbook nor `--rate-limit` says.
pub const DEFAULT_RATE_LIMIT: u32 = 90;

/// How often a run asks whether its meeting has started, when the playbook does not say.
pub const DEFAULT_START_POLL: Duration = Duration::from_secs_const(15);

/// The shortest `start_poll` allowed: every ask carries the host password.
pub const MIN_START_POLL: Duration = Duration::from_secs_const(5);

/// A step's time limit when neither the step nor `defaults` sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs_const(30);

impl PlaybookDoc {
    /// The panic scene's name: `panic_scene`, else a scene named `panic` if there is one.
    pub fn panic_scene(&self) -> Option<&str> {
        match &self.panic_scene {
            Some(name) => Some(&name.value),
            None => self
                .scenes
                .contains_key(super::scene::PANIC)
                .then_some(super::scene::PANIC),
        }
    }
}

impl Playbook {
    /// SHA-256 of the playbook's text and of every file it includes, in order: a resumed
    /// run refuses a playbook that changed.
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(self.file.text().as_bytes());
        for step in self.walk() {
            if let Some(included) = &step.included {
                hasher.update(included.file.name().as_bytes());
                hasher.update(included.file.text().as_bytes());
            }
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Every step, depth first, blocks before their contents: `steps:`, then the
    /// scenes' in the order written.
    pub fn walk(&self) -> Vec<&Spanned<Step>> {
        fn visit<'a>(steps: &'a [Spanned<Step>], out: &mut Vec<&'a Spanned<Step>>) {
            for step in steps {
                out.push(step);
                for list in [&step.steps, &step.rescue, &step.always]
                    .into_iter()
                    .flatten()
                {
                    visit(&list.value, out);
                }
            }
        }
        let mut out = Vec::new();
        visit(&self.doc.steps.value, &mut out);
        for scene in self.doc.scenes.values() {
            visit(&scene.value, &mut out);
        }
        out
    }
}
