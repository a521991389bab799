//! The waiting-room actions' arguments: who `admit` lets in and who
//! `move_to_waiting_room` sends there — one selector, or a list of them.

use schemars::JsonSchema;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::playbook::selector::Selector;

/// One participant selector, or a list of them (`[Bob Li, Carol Wu]`); a selector with
/// `all: true` covers everyone it matches.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Targets {
    One(Selector),
    Several(Vec<Selector>),
}

impl Targets {
    /// The selectors, in the order given.
    pub fn selectors(&self) -> &[Selector] {
        match self {
            Targets::One(one) => std::slice::from_ref(one),
            Targets::Several(several) => several,
        }
    }

    /// `{all: true}` and nothing else: everyone there.
    pub fn everyone(&self) -> bool {
        matches!(self, Targets::One(Selector::Match(m))
            if m.all && m.name.is_none() && m.id.is_none() && m.phone.is_none() && m.role.is_none())
    }
}

impl std::fmt::Display for Targets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let texts: Vec<String> = self.selectors().iter().map(Selector::to_string).collect();
        f.write_str(&texts.join("; "))
    }
}

impl<'de> Deserialize<'de> for Targets {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Array(items) if items.is_empty() => Err(de::Error::custom(
                "an empty list names nobody: give at least one participant",
            )),
            serde_json::Value::Array(items) => items
                .into_iter()
                .map(Selector::deserialize)
                .collect::<Result<Vec<_>, _>>()
                .map(Targets::Several)
                .map_err(de::Error::custom),
            other => Selector::deserialize(other)
                .map(Targets::One)
                .map_err(de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::Action;
    use serde_json::json;

    #[test]
    fn one_a_list_or_everyone() {
        let Ok(Action::Admit(one)) = Action::from_parts("admit", json!("Hana Xu")) else {
            panic!("one name");
        };
        assert_eq!(one.selectors(), [Selector::Name("Hana Xu".into())]);
        assert!(!one.everyone());
        let Ok(Action::Admit(all)) = Action::from_parts("admit", json!({"all": true})) else {
            panic!("everyone");
        };
        assert!(all.everyone());
        let Ok(Action::MoveToWaitingRoom(two)) =
            Action::from_parts("move_to_waiting_room", json!(["Bob Li", {"phone": "+86"}]))
        else {
            panic!("a list");
        };
        assert_eq!(two.selectors().len(), 2);
        assert_eq!(two.to_string(), "Bob Li; phone +86");
        let Ok(Action::MoveToWaitingRoom(guests)) = Action::from_parts(
            "move_to_waiting_room",
            json!({"role": "guest", "all": true}),
        ) else {
            panic!("all guests");
        };
        assert!(!guests.everyone());
    }

    #[test]
    fn nobody_and_bad_selectors_are_refused() {
        for (args, said) in [
            (json!([]), "names nobody"),
            (json!(["Bob", ""]), "must not be empty"),
            (json!({"nme": "Bob"}), "unknown field"),
            (json!(7), "a participant's name"),
        ] {
            let (_, message) = Action::from_parts("admit", args.clone()).unwrap_err();
            assert!(message.contains(said), "{args}: {message}");
        }
    }
}
