//! The online participant list (`realTimeInfo`), and matching selectors against it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::playbook::{RoleMatch, Selector, SelectorMatch, fold_name, plain_name};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Participant {
    pub pid: String,
    pub name: String,
    pub phone: String,
    pub role: &'static str,
    pub hand: bool,
    pub mute: bool,
    pub video: bool,
    pub state: u8,
}

#[derive(Debug, Clone, Default)]
pub struct Roster {
    pub participants: Vec<Participant>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RealTimeInfo {
    #[serde(default)]
    participants: Vec<Online>,
    #[serde(default)]
    conf_info: ConfInfo,
}

#[derive(Deserialize)]
struct Online {
    pid: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    state: u8,
    #[serde(default)]
    video: u8,
    #[serde(default)]
    mute: u8,
    #[serde(default)]
    hand: u8,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ConfInfo {
    #[serde(rename = "chairID", default)]
    chair_id: Option<String>,
    #[serde(default)]
    co_hosts: Vec<String>,
}

impl Roster {
    pub fn parse(body: &Value) -> Result<Roster, String> {
        let info = RealTimeInfo::deserialize(body)
            .map_err(|e| format!("unexpected realTimeInfo answer: {e}"))?;
        let chair = info.conf_info.chair_id.unwrap_or_default();
        let participants = info
            .participants
            .into_iter()
            .map(|p| Participant {
                role: if p.pid == chair {
                    "host"
                } else if info.conf_info.co_hosts.contains(&p.pid) {
                    "cohost"
                } else {
                    "guest"
                },
                pid: p.pid,
                name: p.name,
                phone: p.phone,
                hand: p.hand == 1,
                mute: p.mute == 1,
                video: p.video == 1,
                state: p.state,
            })
            .collect();
        Ok(Roster { participants })
    }

    /// Everyone the selector matches. Names are compared [folded](fold_name); when
    /// that finds nobody, without accents, if that finds exactly one person: `Jose`
    /// is `José` when no other Jose is online.
    pub fn matching(&self, selector: &Selector) -> Vec<&Participant> {
        let found = self.matching_by(selector, fold_name);
        if !found.is_empty() || selector.name().is_none() {
            return found;
        }
        let plain = self.matching_by(selector, plain_name);
        if plain.len() == 1 { plain } else { Vec::new() }
    }

    fn matching_by(&self, selector: &Selector, form: fn(&str) -> String) -> Vec<&Participant> {
        let wanted = selector.name().map(form);
        self.participants
            .iter()
            .filter(|p| {
                wanted.as_ref().is_none_or(|name| form(&p.name) == *name) && matches(p, selector)
            })
            .collect()
    }

    /// Why a selector matching nobody matched nobody, for its error: the people it
    /// matches without accents when they are several, else who is closest.
    pub fn nobody(&self, selector: &Selector) -> String {
        let online = self.describe();
        let Some(name) = selector.name() else {
            return online;
        };
        let plain = self.matching_by(selector, plain_name);
        if plain.len() > 1 {
            let names: Vec<&str> = plain.iter().map(|p| p.name.as_str()).collect();
            return format!(
                "without accents it could be any of {}: write the name as shown; {online}",
                names.join(", ")
            );
        }
        // Similar enough to be a misspelling rather than somebody else.
        const CLOSE: f64 = 0.8;
        let wanted = plain_name(name);
        let closest = self
            .participants
            .iter()
            .map(|p| (strsim::jaro_winkler(&wanted, &plain_name(&p.name)), p))
            .filter(|(score, _)| *score >= CLOSE)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        match closest {
            Some((_, p)) => format!("closest: {}; {online}", p.name),
            None => online,
        }
    }

    /// Who is online, for error messages: `Alice Zhang (host), Bob Li`.
    pub fn describe(&self) -> String {
        if self.participants.is_empty() {
            return "nobody is online".into();
        }
        let names: Vec<String> = self
            .participants
            .iter()
            .map(|p| match p.role {
                "guest" => p.name.clone(),
                role => format!("{} ({role})", p.name),
            })
            .collect();
        format!("online: {}", names.join(", "))
    }

    pub fn as_json(&self) -> Value {
        serde_json::to_value(&self.participants).unwrap_or(Value::Null)
    }
}

/// Whether the participant has what the selector asks for besides the name, which
/// [`Roster::matching`] compares.
fn matches(participant: &Participant, selector: &Selector) -> bool {
    match selector {
        Selector::Name(_) => true,
        Selector::Match(SelectorMatch {
            id, phone, role, ..
        }) => {
            id.as_ref().is_none_or(|i| &participant.pid == i)
                && phone.as_ref().is_none_or(|p| &participant.phone == p)
                && role.is_none_or(|r| {
                    participant.role
                        == match r {
                            RoleMatch::Host => "host",
                            RoleMatch::Cohost => "cohost",
                            RoleMatch::Guest => "guest",
                        }
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster(names: &[&str]) -> Roster {
        Roster {
            participants: names
                .iter()
                .enumerate()
                .map(|(i, name)| Participant {
                    pid: format!("p{i}"),
                    name: (*name).to_owned(),
                    phone: String::new(),
                    role: "guest",
                    hand: false,
                    mute: false,
                    video: false,
                    state: 0,
                })
                .collect(),
        }
    }

    fn names<'a>(found: &[&'a Participant]) -> Vec<&'a str> {
        found.iter().map(|p| p.name.as_str()).collect()
    }

    fn name(text: &str) -> Selector {
        Selector::Name(text.to_owned())
    }

    #[test]
    fn names_match_as_people_type_them() {
        let roster = roster(&["Bob Li", "Dmitri Ørsted-Ñúñez", "José Ruiz", "Jose Ruiz"]);
        assert_eq!(names(&roster.matching(&name("  Bob   Li "))), ["Bob Li"]);
        assert_eq!(
            names(&roster.matching(&name("dmitri orsted-nunez"))),
            ["Dmitri Ørsted-Ñúñez"]
        );
        // An exact match wins over one without accents.
        assert_eq!(names(&roster.matching(&name("jose ruiz"))), ["Jose Ruiz"]);
        assert_eq!(names(&roster.matching(&name("JOSÉ RUIZ"))), ["José Ruiz"]);
        let map = Selector::Match(SelectorMatch {
            name: Some("DMITRI ORSTED-NUNEZ".into()),
            ..Default::default()
        });
        assert_eq!(names(&roster.matching(&map)), ["Dmitri Ørsted-Ñúñez"]);
    }

    #[test]
    fn without_accents_a_name_must_pick_one_person() {
        let roster = roster(&["José Ruiz", "Josè Ruiz"]);
        assert!(roster.matching(&name("Jose Ruiz")).is_empty());
        let why = roster.nobody(&name("Jose Ruiz"));
        assert!(
            why.starts_with("without accents it could be any of José Ruiz, Josè Ruiz"),
            "{why}"
        );
    }

    #[test]
    fn nobody_names_who_is_closest() {
        let roster = roster(&["Bob Li", "Dmitri Ørsted-Ñúñez"]);
        assert!(roster.matching(&name("Dmitri Orsted")).is_empty());
        assert_eq!(
            roster.nobody(&name("Dmitri Orsted")),
            "closest: Dmitri Ørsted-Ñúñez; online: Bob Li, Dmitri Ørsted-Ñúñez"
        );
        // Nobody near: just who is online.
        assert_eq!(
            roster.nobody(&name("Zed Nobody")),
            "online: Bob Li, Dmitri Ørsted-Ñúñez"
        );
    }
}
