//! Where a step sits in a playbook, as every output names it: `3` (the third top-level
//! step), `3.2` (the second step of block 3), `3.rescue.1` and `3.always.1` (a block's
//! `rescue` and `always` lists), `3#2` (the second item of a looped step) and `3#2.1`
//! (a step inside that item). The run, the plan, `--start-at`, the journal, resume and
//! the reports all build and read ids through this one type, so the format lives here
//! alone. An id serialises as that text, so journals and reports read the same.
//!
//! Steps an operator plays during a run (a scene, a one-off action) are not in
//! `steps:`: they are written `op3` (the third operator command of the run that runs
//! steps), and `op3.1`, `op3.2` for the steps of a scene it plays. They sort after every
//! id of `steps:`, and are never a top-level step, so resuming and `--start-at` do not
//! take them.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The id of a step, or of the run as a whole (the empty id: what a run says of itself
/// outside any step, like keeping its token alive).
///
/// Ordered as a run meets the steps: a step before the steps inside it, a block's
/// `steps` before its `rescue` before its `always`, a looped step before its items.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StepId {
    origin: Origin,
    /// From the top: the first is a top-level step. Empty for the run as a whole.
    path: Vec<Segment>,
}

/// Which list of the playbook a step comes from. Steps that do not come from
/// `steps:` (named scenes, operator commands) are further origins, written with a
/// prefix of their own so that their ids never read as those of `steps:`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Origin {
    /// The playbook's `steps:`, written without a prefix.
    #[default]
    Steps,
    /// Played by an operator during the run, written `op` before the path.
    Operator,
}

const OPERATOR: &str = "op";

/// One level of the path: which list of the step above, the place in it, and which
/// item of a loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Segment {
    list: List,
    /// From 1.
    index: usize,
    item: Option<Item>,
}

/// The lists a block holds, in the order a run takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum List {
    Steps,
    Rescue,
    Always,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Item {
    /// From 1.
    At(usize),
    /// A loop whose list only a run can tell, as a plan shows it: `3#…`.
    AtRunTime,
}

const RESCUE: &str = "rescue";
const ALWAYS: &str = "always";
const AT_RUN_TIME: &str = "…";

impl StepId {
    /// The run as a whole, not one of its steps.
    pub fn run() -> StepId {
        StepId::default()
    }

    /// The `index`th top-level step, from 1.
    pub fn top_level(index: usize) -> StepId {
        StepId::run().below(List::Steps, index)
    }

    /// What the `n`th operator command of a run (from 1) plays: `op3`. The steps of a
    /// scene it plays are its children: `op3.1`.
    pub fn operator(n: usize) -> StepId {
        StepId {
            origin: Origin::Operator,
            ..StepId::top_level(n)
        }
    }

    /// `N` of what the `N`th operator command played (`opN`), or of a step inside it.
    pub fn operator_number(&self) -> Option<usize> {
        if self.origin != Origin::Operator {
            return None;
        }
        self.path.first().map(|segment| segment.index)
    }

    /// Whether an operator played this step, rather than the playbook's `steps:`.
    pub fn is_operator(&self) -> bool {
        self.origin == Origin::Operator
    }

    /// The `index`th step of this block's `steps`, from 1.
    pub fn child(&self, index: usize) -> StepId {
        self.below(List::Steps, index)
    }

    /// The `index`th step of this block's `rescue`, from 1.
    pub fn rescue(&self, index: usize) -> StepId {
        self.below(List::Rescue, index)
    }

    /// The `index`th step of this block's `always`, from 1.
    pub fn always(&self, index: usize) -> StepId {
        self.below(List::Always, index)
    }

    /// The `index`th item of this looped step, from 1.
    pub fn item(&self, index: usize) -> StepId {
        self.with_item(Item::At(index))
    }

    /// A pass of this looped step over a list only a run can tell.
    pub fn item_at_run_time(&self) -> StepId {
        self.with_item(Item::AtRunTime)
    }

    fn below(&self, list: List, index: usize) -> StepId {
        let mut id = self.clone();
        id.path.push(Segment {
            list,
            index,
            item: None,
        });
        id
    }

    fn with_item(&self, item: Item) -> StepId {
        let mut id = self.clone();
        if let Some(last) = id.path.last_mut() {
            last.item = Some(item);
        }
        id
    }

    /// Whether this is the run as a whole rather than a step.
    pub fn is_run(&self) -> bool {
        self.path.is_empty()
    }

    /// The place of the top-level step this step is, or is inside of: `3` for `3`,
    /// `3.2` and `3#1.1`. `None` for the run and for what an operator played (`op3`
    /// is not step 3).
    pub fn top_level_index(&self) -> Option<usize> {
        if self.origin != Origin::Steps {
            return None;
        }
        self.path.first().map(|segment| segment.index)
    }

    /// Whether this is a top-level step of `steps:` itself: not a step inside one, nor
    /// an item of its loop, nor what an operator played.
    pub fn is_top_level(&self) -> bool {
        self.origin == Origin::Steps
            && matches!(self.path.as_slice(), [segment] if segment.item.is_none())
    }

    /// The step a loop item's step is, as an operator names steps: `3#2` → `3`,
    /// `3#2.1` → `3.1`.
    pub fn without_items(&self) -> StepId {
        StepId {
            origin: self.origin,
            path: self
                .path
                .iter()
                .map(|segment| Segment {
                    item: None,
                    ..*segment
                })
                .collect(),
        }
    }

    /// Whether this step is in an `always` list, at any depth: one that runs whatever
    /// happens.
    pub fn in_always(&self) -> bool {
        self.path.iter().any(|segment| segment.list == List::Always)
    }

    /// Whether `other` is this step or inside it (in any of its items).
    pub fn contains(&self, other: &StepId) -> bool {
        let Some((last, above)) = self.path.split_last() else {
            return self.origin == other.origin;
        };
        self.origin == other.origin
            && other.path.len() >= self.path.len()
            && other.path[..above.len()] == *above
            && {
                let theirs = other.path[above.len()];
                theirs.list == last.list
                    && theirs.index == last.index
                    && (last.item.is_none() || theirs.item == last.item)
            }
    }
}

/// The steps of one list (the playbook's `steps:`, or a block's `steps`, `rescue` or
/// `always`), for naming them in turn as a run or a plan walks them.
#[derive(Debug, Clone)]
pub(crate) struct Siblings {
    parent: StepId,
    list: List,
}

impl Siblings {
    /// The playbook's `steps:`.
    pub(crate) fn top_level() -> Siblings {
        Siblings::of(&StepId::run(), List::Steps)
    }

    /// A block's `steps`.
    pub(crate) fn steps_of(block: &StepId) -> Siblings {
        Siblings::of(block, List::Steps)
    }

    /// A block's `rescue`.
    pub(crate) fn rescue_of(block: &StepId) -> Siblings {
        Siblings::of(block, List::Rescue)
    }

    /// A block's `always`.
    pub(crate) fn always_of(block: &StepId) -> Siblings {
        Siblings::of(block, List::Always)
    }

    fn of(parent: &StepId, list: List) -> Siblings {
        Siblings {
            parent: parent.clone(),
            list,
        }
    }

    /// The id of the list's `index`th step, from 1.
    pub(crate) fn id(&self, index: usize) -> StepId {
        self.parent.below(self.list, index)
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.origin {
            Origin::Steps => {}
            Origin::Operator => f.write_str(OPERATOR)?,
        }
        for (depth, segment) in self.path.iter().enumerate() {
            if depth > 0 {
                f.write_str(".")?;
            }
            match segment.list {
                List::Steps => {}
                List::Rescue => write!(f, "{RESCUE}.")?,
                List::Always => write!(f, "{ALWAYS}.")?,
            }
            write!(f, "{}", segment.index)?;
            match segment.item {
                None => {}
                Some(Item::At(index)) => write!(f, "#{index}")?,
                Some(Item::AtRunTime) => write!(f, "#{AT_RUN_TIME}")?,
            }
        }
        Ok(())
    }
}

impl FromStr for StepId {
    type Err = String;

    /// Reads an id as [`Display`](fmt::Display) writes it, and only so: `03` or `3.`
    /// are not ids, so that an id read is the same text written.
    fn from_str(text: &str) -> Result<StepId, String> {
        let bad = |why: &str| format!("`{text}` is not a step id: {why}");
        let mut id = StepId::run();
        if text.is_empty() {
            return Ok(id);
        }
        let mut rest = text;
        if let Some(after) = text.strip_prefix(OPERATOR) {
            if !after.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(bad("`op` is followed by the operator command's number"));
            }
            id.origin = Origin::Operator;
            rest = after;
        }
        let mut parts = rest.split('.');
        while let Some(part) = parts.next() {
            let (list, place) = match part {
                RESCUE | ALWAYS if id.is_run() => {
                    return Err(bad("a top-level step is not in a `rescue` or `always`"));
                }
                RESCUE => (List::Rescue, parts.next()),
                ALWAYS => (List::Always, parts.next()),
                _ => (List::Steps, Some(part)),
            };
            let place = place.ok_or_else(|| bad("a place is missing at the end"))?;
            let (index, item) = match place.split_once('#') {
                Some((index, AT_RUN_TIME)) => (index, Some(Item::AtRunTime)),
                Some((index, item)) => (
                    index,
                    Some(Item::At(
                        number(item).ok_or_else(|| bad(&format!("bad item `{item}`")))?,
                    )),
                ),
                None => (place, None),
            };
            let index = number(index).ok_or_else(|| bad(&format!("bad place `{index}`")))?;
            id.path.push(Segment { list, index, item });
        }
        Ok(id)
    }
}

/// A place or item number as ids write it: from 1, digits only, no leading zero.
fn number(text: &str) -> Option<usize> {
    let canonical =
        !text.is_empty() && !text.starts_with('0') && text.bytes().all(|b| b.is_ascii_digit());
    canonical.then(|| text.parse().ok()).flatten()
}

impl Serialize for StepId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StepId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A plain string in schemas, as ids were before they had a type.
impl JsonSchema for StepId {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "String".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }
}

#[cfg(test)]
mod tests;
