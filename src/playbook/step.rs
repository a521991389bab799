//! A step as written: the keys every step may have, and either one action or a block
//! of `steps` with `rescue` and `always`. Parsed key by key so that an unknown key is
//! reported where it stands, with the closest known key or action suggested.

use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::catalogue::action_names;
use super::cue::{Cue, Late};
use crate::duration::Duration;
use crate::node::Node;
use crate::source::SourceFile;
use crate::yaml::{Pos, Spanned};

/// What an include brought in.
#[derive(Debug, Clone)]
pub struct Included {
    /// The file the steps came from.
    pub file: Arc<SourceFile>,
    /// The include's own `vars`, written in the including file.
    pub given: IndexMap<String, Spanned<Node>>,
    /// The included file's default `vars`, for those the include does not give.
    pub defaults: IndexMap<String, Spanned<Node>>,
}

/// Keys every step may have; with the action names, all keys a step may have.
const COMMON_KEYS: &[&str] = &[
    "name", "when", "loop", "register", "retry", "timeout", "on_error", "at", "late", "grace",
    "tags", "steps", "rescue", "always", "scene",
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
    /// `scene: NAME`: plays the playbook's scene of that name, as a block.
    pub scene: Option<Spanned<String>>,
    /// For an `include`, resolved at load: the steps' file and variables.
    pub included: Option<Included>,
    /// Names to select steps by, with `--tags` and `--skip-tags`.
    pub tags: Vec<Spanned<String>>,
    /// A key of the step was reported while loading: what the step lacks for it is
    /// not reported again.
    pub damaged: bool,
    /// What the step was written as, when not a map (the checker reports it).
    pub not_a_map: Option<&'static str>,
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
    /// Plays the scene of that name: its steps, under this step's id, like a block's
    /// `steps`, with this step's own `rescue` and `always`.
    Scene {
        name: &'a Spanned<String>,
        rescue: &'a [Spanned<Step>],
        always: &'a [Spanned<Step>],
    },
}

impl Step {
    /// The step's action or block; `None` for a step the checker has already refused.
    pub fn body(&self) -> Option<Body<'_>> {
        match (&self.actions[..], &self.steps, &self.scene) {
            ([(name, args)], None, None) => Some(Body::Action {
                name: name.value,
                name_pos: name.pos,
                args,
            }),
            ([], Some(steps), None) => Some(Body::Block {
                steps: &steps.value,
                rescue: block_list(self.rescue.as_ref()),
                always: block_list(self.always.as_ref()),
            }),
            ([], None, Some(name)) => Some(Body::Scene {
                name,
                rescue: block_list(self.rescue.as_ref()),
                always: block_list(self.always.as_ref()),
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
            Some(Body::Scene { name, .. }) => format!("scene {}", name.value),
            None => "step".to_owned(),
        }
    }
}

fn block_list(list: Option<&Spanned<Vec<Spanned<Step>>>>) -> &[Spanned<Step>] {
    list.map_or(&[], |l| &l.value[..])
}

/// Retries of a step's API calls on transient failures (transport errors, timeouts,
/// HTTP 429 and 5xx, the API's flow-control code): capped exponential backoff with
/// full jitter, and `Retry-After` honoured.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Tries in all, the first included (1 = no retry).
    #[serde(default = "RetrySpec::default_attempts")]
    #[schemars(range(min = 1, max = 20))]
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
                let mut step = Step::empty();
                // Each value is read whole, then typed: a wrong one is reported and the
                // step read on, so that every problem of the playbook shows at once.
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let key_name = key.value.as_str();
                    let action = action_names().iter().find(|a| **a == key_name);
                    if !COMMON_KEYS.contains(&key_name) && action.is_none() {
                        let (message, help) = crate::yaml::unknown("key", key_name, step_keys());
                        recoverable::<A::Error>(key.pos, message, Some(help))?;
                        map.next_value::<de::IgnoredAny>()?;
                        step.damaged = true;
                        continue;
                    }
                    if matches!(key_name, "steps" | "rescue" | "always") {
                        let list = map.next_value::<Spanned<StepList>>()?;
                        let list = match list.value {
                            StepList::Steps(steps) => Some(Spanned::new(steps, list.pos)),
                            StepList::Not(kind) => {
                                recoverable::<A::Error>(
                                    list.pos,
                                    format!("`{key_name}` is a list of steps, not {kind}"),
                                    Some(
                                        "write each step on its own line, starting with `- `"
                                            .into(),
                                    ),
                                )?;
                                step.damaged = true;
                                None
                            }
                        };
                        match key_name {
                            "steps" => step.steps = list,
                            "rescue" => step.rescue = list,
                            _ => step.always = list,
                        }
                        continue;
                    }
                    let raw = map.next_value::<Spanned<Node>>()?;
                    if let Some(name) = action {
                        step.actions.push((Spanned::new(*name, key.pos), raw));
                        continue;
                    }
                    let pos = raw.pos;
                    if let Err((message, help)) = step.set(key_name, raw) {
                        recoverable::<A::Error>(pos, message, help)?;
                        step.damaged = true;
                    }
                }
                Ok(step)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Step, E> {
                Ok(Step::not_a_map("a string"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Step, E> {
                Ok(Step::not_a_map("a boolean"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Step, E> {
                Ok(Step::not_a_map("a number"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Step, E> {
                Ok(Step::not_a_map("a number"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Step, E> {
                Ok(Step::not_a_map("a number"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Step, E> {
                Ok(Step::not_a_map("null"))
            }
            fn visit_none<E: de::Error>(self) -> Result<Step, E> {
                Ok(Step::not_a_map("null"))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Step, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Step::not_a_map("a list"))
            }
        }
        deserializer.deserialize_any(StepVisitor)
    }
}

/// Reports a problem the loader can read past, or fails with it when no one collects.
pub(super) fn recoverable<E: de::Error>(
    pos: Pos,
    message: String,
    help: Option<String>,
) -> Result<(), E> {
    if crate::yaml::report(pos, message.clone(), help) {
        Ok(())
    } else {
        Err(E::custom(message))
    }
}

/// A value's problem: its message and any help.
type Problem = (String, Option<String>);

/// The value of `steps`, `rescue` or `always` (or a scene): a list of steps, or what
/// was written instead, to be reported where it stands.
pub(super) enum StepList {
    Steps(Vec<Spanned<Step>>),
    Not(&'static str),
}

impl<'de> Deserialize<'de> for StepList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = StepList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of steps")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<StepList, A::Error> {
                let mut steps = Vec::new();
                while let Some(step) = seq.next_element::<Spanned<Step>>()? {
                    steps.push(step);
                }
                Ok(StepList::Steps(steps))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StepList, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(StepList::Not("a map"))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<StepList, E> {
                Ok(StepList::Not("a string"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<StepList, E> {
                Ok(StepList::Not("a boolean"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<StepList, E> {
                Ok(StepList::Not("a number"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<StepList, E> {
                Ok(StepList::Not("a number"))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<StepList, E> {
                Ok(StepList::Not("a number"))
            }
            fn visit_unit<E: de::Error>(self) -> Result<StepList, E> {
                Ok(StepList::Not("null"))
            }
            fn visit_none<E: de::Error>(self) -> Result<StepList, E> {
                Ok(StepList::Not("null"))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

impl Step {
    fn empty() -> Step {
        Step {
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
            scene: None,
            included: None,
            tags: Vec::new(),
            damaged: false,
            not_a_map: None,
        }
    }

    /// A step that plays the scene `name` (written at `pos`), as `scene: NAME` would:
    /// what an operator's `scene NAME` runs.
    #[cfg_attr(not(test), allow(dead_code))] // the operator's `scene NAME` plays it
    pub(crate) fn playing(name: &str, pos: Pos) -> Spanned<Step> {
        let step = Step {
            scene: Some(Spanned::new(name.to_owned(), pos)),
            ..Step::empty()
        };
        Spanned::new(step, pos)
    }

    fn not_a_map(kind: &'static str) -> Step {
        Step {
            not_a_map: Some(kind),
            damaged: true,
            ..Step::empty()
        }
    }

    /// Sets a common key from its value as written; the problem, if it has the wrong type.
    fn set(&mut self, key: &str, raw: Spanned<Node>) -> Result<(), Problem> {
        let pos = raw.pos;
        match key {
            "name" => self.name = Some(Spanned::new(typed(&raw)?, pos)),
            "when" => self.when = Some(Spanned::new(typed(&raw)?, pos)),
            "loop" => self.loop_over = Some(raw),
            "register" => self.register = Some(Spanned::new(typed(&raw)?, pos)),
            "retry" => self.retry = Some(Spanned::new(typed(&raw)?, pos)),
            "timeout" => self.timeout = Some(Spanned::new(typed(&raw)?, pos)),
            "on_error" => self.on_error = typed(&raw)?,
            "at" => self.at = Some(Spanned::new(typed(&raw)?, pos)),
            "late" => self.late = Some(Spanned::new(typed(&raw)?, pos)),
            "grace" => self.grace = Some(Spanned::new(typed(&raw)?, pos)),
            "tags" => self.tags = tags(&raw)?,
            "scene" => self.scene = Some(Spanned::new(typed(&raw)?, pos)),
            other => unreachable!("`{other}` is not a common key"),
        }
        Ok(())
    }
}

/// A value as written, read as `T`: a scalar that is not a string is tried as its
/// text too (`timeout: 2` reads as "2", and says a unit is missing, as it would as a
/// string). The message and help of a value that does not fit.
fn typed<T: serde::de::DeserializeOwned>(raw: &Spanned<Node>) -> Result<T, Problem> {
    let json = raw.to_json();
    let first = match serde_json::from_value::<T>(json.clone()) {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    let text = match &json {
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let error = match text.map(|t| serde_json::from_value::<T>(serde_json::Value::String(t))) {
        Some(Ok(value)) => return Ok(value),
        Some(Err(error)) if !error.to_string().starts_with("invalid type") => error,
        _ => first,
    };
    Err(value_problem(&error.to_string()))
}

/// serde's words for a value that does not fit, in the loader's: an unknown variant
/// is an unknown value, with the closest one suggested.
fn value_problem(message: &str) -> Problem {
    if let Some(rest) = message.strip_prefix("unknown variant `")
        && let Some((word, expected)) = rest.split_once("`, expected ")
    {
        // "`a` or `b`", or "one of `a`, `b`, `c`".
        let expected: Vec<&str> = expected
            .trim_start_matches("one of ")
            .split(", ")
            .flat_map(|part| part.split(" or "))
            .map(|name| name.trim_matches('`'))
            .collect();
        let (message, help) = crate::yaml::unknown("value", word, &expected);
        return (message, Some(help));
    }
    (message.to_owned(), None)
}

/// `tags: qa` or `tags: [qa, recording]`; a tag's position comes with it in a list, a
/// single tag shares the step's.
fn tags(node: &Spanned<Node>) -> Result<Vec<Spanned<String>>, Problem> {
    let tag = |item: &Spanned<Node>| match &item.value {
        Node::Str(text) => Ok(Spanned::new(text.clone(), item.pos)),
        other => Err((
            format!("a tag is a word, not {}", other.kind()),
            Some("write `tags: qa` or `tags: [qa, recording]`".to_owned()),
        )),
    };
    match &node.value {
        Node::Seq(items) => items.iter().map(tag).collect(),
        _ => tag(node).map(|t| vec![t]),
    }
}

/// The keys a step shares with every other step, for the schema.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct StepCommon {
    /// Shown in the output and reports; defaults to the action's name.
    name: Option<String>,
    /// Run the step only when this expression is true (no `{{ }}`), e.g. `raised | length > 0`.
    when: Option<String>,
    /// Run the step once per item of this list; `item` and `loop.index` are in scope.
    #[serde(rename = "loop")]
    #[schemars(schema_with = "loop_schema")]
    loop_over: Option<Node>,
    /// Store the step's result under this name for later steps.
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
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

/// The key of a step that plays a scene, for the schema.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub(crate) struct SceneStep {
    /// Plays the playbook's scene of that name (under `scenes:`) here, as a block's
    /// `steps`: its steps get ids under this step's, and the step may have `rescue` and
    /// `always` as a block does.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    scene: String,
}

/// A list, or a template that gives one.
fn loop_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"anyOf": [{"type": "array"}, super::templated::template()]})
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum TagsSchema {
    One(String),
    Many(Vec<String>),
}

/// How late a cue may start and still count as on time, when the step does not say.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs_const(30);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    #[test]
    fn problems_read_past_are_all_reported_or_refused() {
        let file = SourceFile::new(
            "s.yaml",
            "- brodcast: x\n- lock: {}\n  at: \"25:61\"\n- lock: {}\n  tags: [{a: 1}]\n",
        );
        let error = crate::yaml::parse::<Vec<Spanned<Step>>>(&file).unwrap_err();
        let crate::error::Error::Invalid(problems) = error else {
            panic!("{error}")
        };
        let found: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            [
                "s.yaml:1:3: unknown key `brodcast`",
                "s.yaml:3:7: invalid cue `25:61`: a time of day is HH:MM or HH:MM:SS, like 10:00",
                "s.yaml:5:9: a tag is a word, not a map",
            ]
        );
        // Read without a collector, a problem is an error at once: none is dropped.
        assert!(serde_saphyr::from_str::<Step>("brodcast: x\n").is_err());
        assert!(serde_saphyr::from_str::<Step>("lock: {}\nlate: maybe\n").is_err());
    }
}
