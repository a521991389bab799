//! What `emcee watch` makes of the feed's frames: the meeting as last pushed, and the
//! changes between one frame and the next as events, one per change. Pure: no socket,
//! no output.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use jiff::Timestamp;
use serde::Serialize;

use crate::meeting::feed::{BasicInfo, DynamicInfo, PersonChange};
use crate::mmc::feed::{Body, Frame};

type Keys = BTreeMap<String, String>;

/// One change, as `--format json` prints it (one object a line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Event {
    /// RFC 3339, on the service's clock.
    pub at: String,
    /// `joined`, `left`, `hand_raised`, `hand_lowered`, `muted`, `unmuted`, `host`,
    /// `cohost`, `broadcasting`, `locked`, `unlocked`, `recording_started`,
    /// `recording_stopped`, `invite_result`, `waiting`, `ended`.
    pub event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `invite_result`: the service's code and what it means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
    /// `snapshot` (the first object, not counted by `--count`): who is in the meeting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub present: Option<Vec<String>>,
}

impl Event {
    /// The human line, the time as `HH:MM:SS`.
    pub(crate) fn human(&self) -> String {
        let time = self.at.get(11..19).unwrap_or(&self.at);
        let name = self.name.as_deref().unwrap_or("");
        let what = match self.event {
            "joined" => format!("{name} joined"),
            "left" => format!("{name} left"),
            "hand_raised" => format!("{name} raised a hand"),
            "hand_lowered" => format!("{name} lowered a hand"),
            "muted" => format!("{name} was muted"),
            "unmuted" => format!("{name} was unmuted"),
            "host" => format!("{name} is now host"),
            "cohost" => format!("{name} is now co-host"),
            "broadcasting" => format!("broadcasting {name}"),
            "locked" => "meeting locked".into(),
            "unlocked" => "meeting unlocked".into(),
            "recording_started" => "recording started".into(),
            "recording_stopped" => "recording stopped".into(),
            "invite_result" => format!("{name}: {}", self.result.unwrap_or("?")),
            "waiting" => format!("waiting room: {name}"),
            "ended" => "the meeting has ended".into(),
            other => other.to_owned(),
        };
        format!("{time} {what}")
    }
}

/// What an invitation's result code means (`docs/api.md` §11); leave reasons come with
/// 8 or 9 digits.
fn invite_result(code: &str) -> &'static str {
    match code
        .strip_prefix('1')
        .filter(|_| code.len() == 9)
        .unwrap_or(code)
    {
        "0" => "connected",
        "11076005" => "no answer",
        "11076008" => "busy",
        "11076009" => "rejected",
        "11076002" => "removed by the host",
        "11076010" => "left",
        "11076016" => "removed by an administrator",
        "11111001" | "11111002" | "11111003" | "11111004" => "connection lost",
        _ => "failed",
    }
}

/// The meeting as the feed last showed it.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    pub basic: Option<BasicInfo>,
    pub dynamic: Option<DynamicInfo>,
    pub participants: IndexMap<String, Keys>,
    waiting: IndexMap<String, Keys>,
    /// Names by number, kept after people leave: an invitation's result names them by
    /// number, and one that says why someone left comes after they are gone.
    names: BTreeMap<String, String>,
    /// Whether the first online list has come: until then frames are the snapshot.
    pub started: bool,
}

/// A key's value, or "" when absent.
fn key<'a>(keys: &'a Keys, name: &str) -> &'a str {
    keys.get(name).map(String::as_str).unwrap_or("")
}

impl Tracker {
    /// Applies a frame; the events it makes (none while the snapshot arrives).
    pub(crate) fn apply(&mut self, frame: Frame, now: Timestamp) -> Vec<Event> {
        let at = frame.at.unwrap_or(now);
        let mut out = Emitter {
            at: format!("{at:.0}"),
            events: Vec::new(),
            live: self.started,
        };
        match frame.body {
            Body::Basic(basic) => self.basic = Some(*basic),
            Body::Dynamic(dynamic) => {
                if let Some(before) = &self.dynamic {
                    if before.lock != dynamic.lock {
                        out.push(
                            if dynamic.lock == 1 {
                                "locked"
                            } else {
                                "unlocked"
                            },
                            None,
                        );
                    }
                    if before.rec_state != dynamic.rec_state {
                        let event = if dynamic.rec_state == 1 {
                            "recording_started"
                        } else {
                            "recording_stopped"
                        };
                        out.push(event, None);
                    }
                }
                if dynamic.state == "Destroyed" {
                    out.live = true;
                    out.push("ended", None);
                }
                self.dynamic = Some(*dynamic);
            }
            Body::Participants(changes) => {
                if frame.full {
                    let listed: Vec<&str> = changes.iter().map(|c| c.pid.as_str()).collect();
                    let gone: Vec<String> = self
                        .participants
                        .keys()
                        .filter(|pid| !listed.contains(&pid.as_str()))
                        .cloned()
                        .collect();
                    for pid in gone {
                        if let Some(keys) = self.participants.shift_remove(&pid) {
                            out.named("left", &keys);
                        }
                    }
                }
                for change in changes {
                    self.participant(change, &mut out);
                }
                self.started = true;
            }
            Body::WaitingList(changes) => {
                for change in changes {
                    if change.mode == 1 {
                        self.waiting.shift_remove(&change.pid);
                        continue;
                    }
                    let new = !self.waiting.contains_key(&change.pid);
                    let keys = self.waiting.entry(change.pid).or_default();
                    keys.extend(change.pinfo_map);
                    if new && key(keys, "WAITINGSTATE") != "1" {
                        out.named("waiting", keys);
                    }
                }
            }
            Body::Invites(results) => {
                // "Left of their own accord" repeats the online list's departure, already
                // an event; other reasons (removed by the host…) say something new.
                for result in results
                    .into_iter()
                    .filter(|r| invite_result(&r.result_code) != "left")
                {
                    let name = self
                        .names
                        .get(&result.call_number)
                        .cloned()
                        .unwrap_or(result.call_number);
                    out.push_full(Event {
                        at: String::new(),
                        event: "invite_result",
                        name: Some(name),
                        result: Some(invite_result(&result.result_code)),
                        code: Some(result.result_code),
                        present: None,
                    });
                }
            }
            Body::Speakers(_) => {}
        }
        out.events
    }

    /// The first JSON object: the meeting's title and who is in it, once the snapshot
    /// is in.
    pub(crate) fn snapshot(&self, now: Timestamp) -> Event {
        Event {
            at: format!("{now:.0}"),
            event: "snapshot",
            name: self.basic.as_ref().map(|b| b.title.clone()),
            code: None,
            result: None,
            present: Some(
                self.participants
                    .values()
                    .filter(|k| key(k, "STATE") == "0")
                    .map(|k| key(k, "NAME").to_owned())
                    .collect(),
            ),
        }
    }

    fn participant(&mut self, change: PersonChange, out: &mut Emitter) {
        if change.mode == 1 {
            if let Some(keys) = self.participants.shift_remove(&change.pid) {
                out.named("left", &keys);
            }
            return;
        }
        let before = self.participants.get(&change.pid).cloned();
        let keys = self.participants.entry(change.pid).or_default();
        keys.extend(change.pinfo_map);
        if !key(keys, "TEL").is_empty() {
            self.names
                .insert(key(keys, "TEL").to_owned(), key(keys, "NAME").to_owned());
        }
        let was = |name: &str| before.as_ref().map(|b| key(b, name).to_owned());
        let now = |name: &str| key(keys, name).to_owned();
        let changed = |name: &str, to: &str| now(name) == to && was(name).as_deref() != Some(to);
        if now("STATE") == "0" && was("STATE").as_deref() != Some("0") {
            out.named("joined", keys);
            // A join carries every key: its hand or role is news only if it changes.
            return;
        }
        if before.is_none() {
            return;
        }
        for (name, to, event) in [
            ("HAND", "1", "hand_raised"),
            ("HAND", "0", "hand_lowered"),
            ("MUTE", "1", "muted"),
            ("MUTE", "0", "unmuted"),
            ("ROLE", "1", "host"),
            ("IS_COHOST", "1", "cohost"),
            ("BROADCAST", "1", "broadcasting"),
        ] {
            if changed(name, to) {
                out.named(event, keys);
            }
        }
    }
}

struct Emitter {
    at: String,
    events: Vec<Event>,
    /// Whether events are kept: not while the snapshot arrives.
    live: bool,
}

impl Emitter {
    fn push(&mut self, event: &'static str, name: Option<String>) {
        self.push_full(Event {
            at: String::new(),
            event,
            name,
            code: None,
            result: None,
            present: None,
        });
    }

    fn named(&mut self, event: &'static str, keys: &Keys) {
        self.push(event, Some(key(keys, "NAME").to_owned()));
    }

    fn push_full(&mut self, mut event: Event) {
        if self.live {
            event.at = self.at.clone();
            self.events.push(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Change<'a> = (&'a str, u8, &'a [(&'a str, &'a str)]);

    fn people(full: bool, changes: &[Change<'_>]) -> Frame {
        Frame {
            kind: crate::meeting::feed::NotifyType::Participants,
            version: None,
            at: Timestamp::from_second(1_767_268_803).ok(),
            full,
            body: Body::Participants(
                changes
                    .iter()
                    .map(|(pid, mode, keys)| PersonChange {
                        pid: (*pid).into(),
                        mode: *mode,
                        pinfo_map: keys
                            .iter()
                            .map(|(k, v)| ((*k).into(), (*v).into()))
                            .collect(),
                    })
                    .collect(),
            ),
        }
    }

    fn lines(tracker: &mut Tracker, frame: Frame) -> Vec<String> {
        tracker
            .apply(frame, Timestamp::UNIX_EPOCH)
            .iter()
            .map(Event::human)
            .collect()
    }

    #[test]
    fn the_snapshot_makes_no_events_and_changes_do() {
        let mut t = Tracker::default();
        let bob: &[(&str, &str)] = &[("NAME", "Bob Li"), ("STATE", "0"), ("HAND", "0")];
        assert!(lines(&mut t, people(true, &[("p1", 0, bob)])).is_empty());
        assert_eq!(
            lines(&mut t, people(false, &[("p1", 0, &[("HAND", "1")])])),
            ["12:00:03 Bob Li raised a hand"]
        );
        let eve: &[(&str, &str)] = &[("NAME", "Eve"), ("STATE", "0"), ("HAND", "1")];
        assert_eq!(
            lines(&mut t, people(false, &[("p2", 0, eve)])),
            ["12:00:03 Eve joined"]
        );
        assert_eq!(
            lines(&mut t, people(false, &[("p1", 1, &[])])),
            ["12:00:03 Bob Li left"]
        );
        // A full list later replaces what was known: those missing have left.
        assert_eq!(lines(&mut t, people(true, &[])), ["12:00:03 Eve left"]);
    }

    #[test]
    fn a_departure_is_said_once() {
        let mut t = Tracker::default();
        let bob: &[(&str, &str)] = &[("NAME", "Bob Li"), ("TEL", "+1"), ("STATE", "0")];
        assert!(lines(&mut t, people(true, &[("p1", 0, bob)])).is_empty());
        assert_eq!(
            lines(&mut t, people(false, &[("p1", 1, &[])])),
            ["12:00:03 Bob Li left"]
        );
        let said = |code: &str| Frame {
            kind: crate::meeting::feed::NotifyType::InviteResult,
            version: None,
            at: Timestamp::from_second(1_767_268_804).ok(),
            full: false,
            body: Body::Invites(vec![crate::meeting::feed::InviteResult {
                call_number: "+1".into(),
                result_code: code.into(),
            }]),
        };
        assert!(
            lines(&mut t, said("111076010")).is_empty(),
            "left: already said"
        );
        assert_eq!(
            lines(&mut t, said("111076002")),
            ["12:00:04 Bob Li: removed by the host"]
        );
    }

    #[test]
    fn invite_codes_read_with_eight_or_nine_digits() {
        assert_eq!(invite_result("111076008"), "busy");
        assert_eq!(invite_result("11076010"), "left");
        assert_eq!(invite_result("0"), "connected");
        assert_eq!(invite_result("42"), "failed");
    }
}
