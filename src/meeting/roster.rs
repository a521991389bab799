//! The online participant list as the client reads it from `realTimeInfo`: who is
//! online, with their role worked out from the meeting's chair and co-hosts. Matching
//! selectors against it belongs to the playbook's selector language, not here.
//!
//! The service's list also holds people being called (`state` 1) and joining (2), who
//! cannot be acted on yet: they are set apart here, once, so that every selector,
//! count and wait sees only those in the meeting.

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

/// `realTimeInfo`'s `state` of someone in the meeting; 1 is being called, 2 joining.
pub(crate) const IN_MEETING: u8 = 0;

#[derive(Debug, Clone, Default)]
pub struct Roster {
    /// Who is in the meeting (`state` 0): what selectors, counts and waits see.
    pub participants: Vec<Participant>,
    /// Who is listed but not in yet: being called or joining.
    pub arriving: Vec<Participant>,
}

impl Roster {
    pub fn parse(body: &Value) -> Result<Roster, String> {
        let info = RealTimeInfo::deserialize(body)
            .map_err(|e| format!("unexpected realTimeInfo answer: {e}"))?;
        let chair = info.conf_info.chair_id.unwrap_or_default();
        let (participants, arriving) = info
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
            .partition(|p| p.state == IN_MEETING);
        Ok(Roster {
            participants,
            arriving,
        })
    }

    /// Everyone listed, in the meeting or not yet: what an invitation's own wait reads.
    pub fn everyone(&self) -> impl Iterator<Item = &Participant> {
        self.participants.iter().chain(&self.arriving)
    }

    /// Who is online, for error messages: `Alice Zhang (host), Bob Li`.
    /// Those not in yet are named after them: `online: Bob Li; not in yet: Eve Sun
    /// (being called)`.
    pub fn describe(&self) -> String {
        let mut said = if self.participants.is_empty() {
            "nobody is online".to_owned()
        } else {
            let names: Vec<String> = self
                .participants
                .iter()
                .map(|p| match p.role {
                    "guest" => p.name.clone(),
                    role => format!("{} ({role})", p.name),
                })
                .collect();
            format!("online: {}", names.join(", "))
        };
        if !self.arriving.is_empty() {
            let names: Vec<String> = self
                .arriving
                .iter()
                .map(|p| format!("{} ({})", p.name, arrival(p.state)))
                .collect();
            said.push_str(&format!("; not in yet: {}", names.join(", ")));
        }
        said
    }

    pub fn as_json(&self) -> Value {
        serde_json::to_value(&self.participants).unwrap_or(Value::Null)
    }
}

/// What a `state` other than in the meeting means.
fn arrival(state: u8) -> &'static str {
    match state {
        1 => "being called",
        2 => "joining",
        _ => "not in the meeting",
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

    #[test]
    fn only_those_in_the_meeting_are_online() {
        let roster = Roster::parse(&serde_json::json!({
            "participants": [
                {"pid": "1", "name": "Alice", "state": 0},
                {"pid": "2", "name": "Bob", "state": 1},
                {"pid": "3", "name": "Carol", "state": 2},
                {"pid": "4", "name": "Dan"}
            ],
            "confInfo": {"chairID": "1"}
        }))
        .unwrap();
        let online: Vec<&str> = roster
            .participants
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(online, ["Alice", "Dan"]);
        assert_eq!(roster.everyone().count(), 4);
        assert_eq!(
            roster.describe(),
            "online: Alice (host), Dan; not in yet: Bob (being called), Carol (joining)"
        );
    }
}
