//! The online participant list (`realTimeInfo`), and matching selectors against it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::playbook::{RoleMatch, Selector, SelectorMatch};

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

    /// Everyone the selector matches.
    pub fn matching(&self, selector: &Selector) -> Vec<&Participant> {
        self.participants
            .iter()
            .filter(|p| matches(p, selector))
            .collect()
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

fn matches(participant: &Participant, selector: &Selector) -> bool {
    match selector {
        Selector::Name(name) => participant.name.to_lowercase() == name.to_lowercase(),
        Selector::Match(SelectorMatch {
            name,
            id,
            phone,
            role,
            ..
        }) => {
            name.as_ref()
                .is_none_or(|n| participant.name.to_lowercase() == n.to_lowercase())
                && id.as_ref().is_none_or(|i| &participant.pid == i)
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
