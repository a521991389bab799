//! The online participant list as the client reads it from `realTimeInfo`: who is
//! online, with their role worked out from the meeting's chair and co-hosts. Matching
//! selectors against it belongs to the playbook's selector language, not here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::wire::RealTimeInfo;

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

impl Participant {
    /// Someone known only by id, as a selector by id alone names them: the API answers
    /// for an unknown id, so nothing is read to find them.
    pub fn by_id(pid: &str) -> Participant {
        Participant {
            pid: pid.to_owned(),
            name: pid.to_owned(),
            phone: String::new(),
            role: "guest",
            hand: false,
            mute: false,
            video: false,
            state: 0,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Roster {
    pub participants: Vec<Participant>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_the_chair_and_the_co_hosts() {
        let roster = Roster::parse(&serde_json::json!({
            "participants": [
                {"pid": "1", "name": "Alice", "hand": 1},
                {"pid": "2", "name": "Bob"},
                {"pid": "3", "name": "Carol", "mute": 1}
            ],
            "confInfo": {"chairID": "1", "coHosts": ["3"]}
        }))
        .unwrap();
        let roles: Vec<&str> = roster.participants.iter().map(|p| p.role).collect();
        assert_eq!(roles, ["host", "guest", "cohost"]);
        assert!(roster.participants[0].hand && roster.participants[2].mute);
        assert_eq!(
            roster.describe(),
            "online: Alice (host), Bob, Carol (cohost)"
        );
        assert!(Roster::parse(&serde_json::json!({"participants": [{}]})).is_err());
    }
}
