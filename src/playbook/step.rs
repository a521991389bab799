//! A step as written: the keys every step may have, and either one action or a block
//! of `steps` with `rescue` and `always`. Parsed key by key so that an unknown key is
//! reported where it stands, with the closest known key or action suggested.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::action::action_names;
use crate::duration::Duration;
use crate::node::Node;
use crate::plan::{Cue, Late};
use crate::yaml::{Pos, Spanned};

/// Keys every step may have; with the action names, all keys a step may have.
const COMMON_KEYS: &[&str] = &[
    "name", "when", "loop", "register", "retry", "timeout", "on_error", "at", "late", "grace",
    "tags", "steps", "rescue", "always",
];

/// Every key a step accepts, for the "did you mean" of an unknown one.
fn step_keys() -> &'static [&'static str] {
    static KEYS: std::sync::LazyLock<Vec<&'static str>> =
        std::sync::LazyLock::new(|| COMMON_KEYS.iter().chain(action_names()).copied().collect());
    &KEYS
}

#[derive(Debug, Clone)]
pub struct Step {
    pub name: Option<Spanned<String>>,
    pub when: Option<Spanned<String>>,
    pub loop_over: Option<Spanned<Node>>,
    pub register: Option<Spanned<String>>,
    pub retry: Option<Spanned<RetrySpec>>,
    pub timeout: Option<Spanned<Duration>>,
    pub on_error: OnError,
    pub at: Option<Spanned<Cue>>,
    pub late: Option<Spanned<Late>>,
    pub grace: Option<Spanned<Duration>>,
    /// Every action key given: exactly one is valid for an action step, none for a block.
    pub actions: Vec<(Spanned<&'static str>, Spanned<Node>)>,
    pub steps: Option<Spanned<Vec<Spanned<Step>>>>,
    pub rescue: Option<Spanned<Vec<Spanned<Step>>>>,
    pub always: Option<Spanned<Vec<Spanned<Step>>>>,
    /// For an `include`, resolved at load: the steps' file and variables.
    pub included: Option<super::include::Included>,
    /// Names to select steps by, with `--tags` and `--skip-tags`.
    pub tags: Vec<Spanned<String>>,
}

/// What a well-formed step does.
pub enum Body<'a> {
    Action {
        name: &'static str,
        name_pos: Pos,
        args: &'a Spanned<Node>,
    },
    Block {
        steps: &'a [Spanned<Step>],
        rescue: &'a [Spanned<Step>],
        always: &'a [Spanned<Step>],
    },
}

impl Step {
    /// The step's action or block; `None` for a step the checker has already refused.
    pub fn body(&self) -> Option<Body<'_>> {
        match (&self.actions[..], &self.steps) {
            ([(name, args)], None) => Some(Body::Action {
                name: name.value,
                name_pos: name.pos,
                args,
            }),
            ([], Some(steps)) => Some(Body::Block {
                steps: &steps.value,
                rescue: block_list(&self.rescue),
                always: block_list(&self.always),
            }),
            _ => None,
        }
    }

    /// The name shown in output: the step's `name`, or the action it takes.
    pub fn label(&self) -> String {
        if let Some(name) = &self.name {
            return name.value.clone();
        }
        if let Some(included) = &self.included {
            return format!("include {}", included.file.name());
        }
        match self.body() {
            Some(Body::Action { name, .. }) => name.to_owned(),
            Some(Body::Block { .. }) => "block".to_owned(),
            None => "step".to_owned(),
        }
    }
}

fn block_list(list: &Option<Spanned<Vec<Spanned<Step>>>>) -> &[Spanned<Step>] {
    list.as_ref().map_or(&[], |l| &l.value[..])
}

/// Retries of a step's API calls on transient failures (transport errors, timeouts,
/// HTTP 429 and 5xx, the API's flow-control code): capped exponential backoff with
/// full jitter, and `Retry-After` honoured.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Tries in all, the first included (1 = no retry).
    #[serde(default = "RetrySpec::default_attempts")]
    pub attempts: u32,
    /// The first backoff.
    #[serde(default = "RetrySpec::default_initial")]
    pub initial: Duration,
    /// The longest backoff.
    #[serde(default = "RetrySpec::default_max")]
    pub max: Duration,
}

impl RetrySpec {
    fn default_attempts() -> u32 {
        5
    }
    fn default_initial() -> Duration {
        Duration::from_millis(500)
    }
    fn default_max() -> Duration {
        Duration::from_secs(8)
    }
}

impl Default for RetrySpec {
    fn default() -> Self {
        RetrySpec {
            attempts: Self::default_attempts(),
            initial: Self::default_initial(),
            max: Self::default_max(),
        }
    }
}

/// What a failed step does to the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Stop the run (after `rescue` and `always` of enclosing blocks).
    #[default]
    Fail,
    /// Record the failure and go on with the next step.
    Continue,
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StepVisitor;
        impl<'de> Visitor<'de> for StepVisitor {
            type Value = Step;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a step: a map with one action, or a block of `steps`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
                let mut step = Step {
                    name: None,
                    when: None,
                    loop_over: None,
                    register: None,
                    retry: None,
                    timeout: None,
                    on_error: OnError::Fail,
                    at: None,
                    late: None,
                    grace: None,
                    actions: Vec::new(),
                    steps: None,
                    rescue: None,
                    always: None,
                    included: None,
                    tags: Vec::new(),
                };
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    match key.value.as_str() {
                        "name" => step.name = Some(map.next_value()?),
                        "when" => step.when = Some(map.next_value()?),
                        "loop" => step.loop_over = Some(map.next_value()?),
                        "register" => step.register = Some(map.next_value()?),
                        "retry" => step.retry = Some(map.next_value()?),
                        "timeout" => step.timeout = Some(map.next_value()?),
                        "on_error" => step.on_error = map.next_value()?,
                        "at" => step.at = Some(map.next_value()?),
                        "tags" => step.tags = map.next_value::<Tags>()?.0,
                        "late" => step.late = Some(map.next_value()?),
                        "grace" => step.grace = Some(map.next_value()?),
                        "steps" => step.steps = Some(map.next_value()?),
                        "rescue" => step.rescue = Some(map.next_value()?),
                        "always" => step.always = Some(map.next_value()?),
                        other => match action_names().iter().find(|a| **a == other) {
                            Some(name) => {
                                let args = map.next_value::<Spanned<Node>>()?;
                                step.actions.push((Spanned::new(*name, key.pos), args));
                            }
                            None => return Err(de::Error::unknown_field(other, step_keys())),
                        },
                    }
                }
                Ok(step)
            }
        }
        deserializer.deserialize_map(StepVisitor)
    }
}

/// `tags: qa` or `tags: [qa, recording]`.
struct Tags(Vec<Spanned<String>>);

impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A tag's position comes with it in a list; a single tag shares the step's.
        let node = Spanned::<Node>::deserialize(deserializer)?;
        let tag = |item: &Spanned<Node>| match &item.value {
            Node::Str(text) => Ok(Spanned::new(text.clone(), item.pos)),
            other => Err(serde::de::Error::custom(format!(
                "a tag is a word, not {}",
                other.kind()
            ))),
        };
        match &node.value {
            Node::Seq(items) => items.iter().map(tag).collect::<Result<_, _>>().map(Tags),
            _ => tag(&node).map(|t| Tags(vec![t])),
        }
    }
}

/// The keys a step shares with every other step, for the schema.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct StepCommon {
    /// Shown in the output and reports; defaults to the action's name.
    name: Option<String>,
    /// Run the step only when this expression is true (no `{{ }}`), e.g. `raised | length > 0`.
    when: Option<String>,
    /// Run the step once per item of this list; `item` and `loop.index` are in scope.
    #[serde(rename = "loop")]
    loop_over: Option<Node>,
    /// Store the step's result under this name for later steps.
    register: Option<String>,
    retry: Option<RetrySpec>,
    /// How long the step may take in all, retries included; 30s for API actions when
    /// neither the step nor `defaults` says. A plain `wait` has no limit unless given one.
    /// On a block, `retry` and `timeout` are the defaults of the steps inside.
    timeout: Option<Duration>,
    on_error: Option<OnError>,
    /// The cue: when the step starts.
    at: Option<Cue>,
    /// What a cue reached too late (beyond `grace`) does: run (the default), skip or fail.
    late: Option<Late>,
    /// How late a cue may start and still count as on time; 30s when absent.
    grace: Option<Duration>,
    /// Names to select the step by, with `--tags` and `--skip-tags`; a block's tags
    /// are its steps' too.
    tags: Option<TagsSchema>,
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum TagsSchema {
    One(String),
    Many(Vec<String>),
}

/// How late a cue may start and still count as on time, when the step does not say.
pub const DEFAULT_GRACE: Duration = Duration::from_secs_const(30);
