//! The playbook: its model, loading and checking. Everything here is pure — it reads
//! the file and nothing else — so `emcee check` can run in CI and pre-commit hooks.

pub mod action;
mod check;
pub mod include;
mod schema;
pub mod select;
pub mod selector;
pub mod step;

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

pub use action::{ACTIONS, Action, ActionInfo};
pub use check::{KnownVars, check};
pub use schema::schema;
pub use selector::{RoleMatch, Selector, SelectorMatch};
pub use step::{Body, OnError, RetrySpec, Step};

use crate::duration::Duration;
use crate::error::Error;
use crate::node::Node;
use crate::sim::MeetingSeed;
use crate::source::SourceFile;
use crate::yaml::{self, Spanned};

/// A playbook file, loaded: its text (for messages) and its model.
pub struct Playbook {
    pub file: Arc<SourceFile>,
    pub doc: PlaybookDoc,
}

/// A meeting's choreography: the cues to run, in order, against one meeting.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
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
    pub deadline: Option<Spanned<crate::plan::Cue>>,
    /// The cues, run in order.
    pub steps: Spanned<Vec<Spanned<Step>>>,
    /// The meeting `--sim` rehearses against: the meeting fields of an emulator seed
    /// (participants, attendees, locked…). Its id and host password come from `meeting`.
    #[serde(default)]
    pub rehearsal: Option<Spanned<MeetingSeed>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingSpec {
    /// The conference id (not the cloud-room id), e.g. "914044873"; templated.
    pub id: Spanned<Node>,
    /// The host password, normally `{{ secret('EMCEE_HOST_PASSWORD') }}`.
    #[serde(default)]
    pub host_password: Option<Spanned<String>>,
    /// A control token obtained elsewhere, instead of the host password.
    #[serde(default)]
    pub token: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
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

/// Calls per minute per API when neither the playbook nor `--rate-limit` says.
pub const DEFAULT_RATE_LIMIT: u32 = 90;

/// A step's time limit when neither the step nor `defaults` sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs_const(30);

impl Playbook {
    /// Reads and parses a playbook. Syntax, type and unknown-key errors come back with
    /// their positions; [`check`] finds the rest.
    pub fn load(path: &Path) -> Result<Playbook, Error> {
        let file = SourceFile::read(path)?;
        Self::parse(file)
    }

    pub fn parse(file: Arc<SourceFile>) -> Result<Playbook, Error> {
        let mut doc: PlaybookDoc = yaml::parse(&file)?;
        let own = std::fs::canonicalize(file.name()).ok();
        let at = doc.steps.pos;
        include::Resolver::new(own, file.name()).resolve_all(&mut doc.steps.value, &file, at)?;
        Ok(Playbook { file, doc })
    }

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

    /// Every step, depth first, blocks before their contents.
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
        out
    }
}
