//! What `emcee watch` makes of the live picture: the changes between the picture last
//! shown and the next one as events, one per change, and the feed's own comings and
//! goings. Pure: no socket, no output.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;

use crate::meeting::feed::key;
use crate::mmc::picture::{Keys, Picture, value};

/// One change, as `--format json` prints it (one object a line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Event {
    /// RFC 3339, on the service's clock (the feed's own events: on ours).
    pub at: String,
    /// `joined`, `left`, `hand_raised`, `hand_lowered`, `muted`, `unmuted`, `host`,
    /// `cohost`, `broadcasting`, `locked`, `unlocked`, `recording_started`,
    /// `recording_stopped`, `invite_result`, `waiting`, `ended`; and the feed's own
    /// `feed_down` (with `why`) and `feed_up`.
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
    /// `feed_down`: why the feed was lost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl Event {
    pub(crate) fn new(at: String, event: &'static str) -> Event {
        Event {
            at,
            event,
            name: None,
            code: None,
            result: None,
            present: None,
            why: None,
        }
    }

    /// The feed was lost (`why`); it is being opened again.
    pub(crate) fn feed_down(at: Timestamp, why: &str) -> Event {
        Event {
            why: Some(why.to_owned()),
            ..Event::new(format!("{at:.0}"), "feed_down")
        }
    }

    /// The feed is open again.
    pub(crate) fn feed_up(at: Timestamp) -> Event {
        Event::new(format!("{at:.0}"), "feed_up")
    }

    /// Whether this is about the feed rather than the meeting (not counted by
    /// `--count`).
    pub(crate) fn is_feed(&self) -> bool {
        matches!(self.event, "feed_down" | "feed_up")
    }

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
            "feed_down" => format!(
                "feed lost ({}); reconnecting",
                self.why.as_deref().unwrap_or("?")
            ),
            "feed_up" => "feed back".into(),
            other => other.to_owned(),
        };
        format!("{time} {what}")
    }
}

/// What an invitation's result code means (`docs/api.md` §11); leave reasons come with
/// 8 or 9 digits.
fn invite_result(code: &str) -> &'static str {
    let full = match code.len() {
        8 => format!("1{code}"),
        _ => code.to_owned(),
    };
    match full.as_str() {
        "0" => "connected",
        "111076002" => "removed by the host",
        "111076010" => "left",
        "111076016" => "removed by an administrator",
        "111111001" | "111111002" | "111111003" | "111111004" => "connection lost",
        // An invitation's own outcome: named where the invite call's refusals are.
        other => crate::mmc::invite_outcome(other).unwrap_or("failed"),
    }
}

/// What has been shown of the meeting: the picture last shown, to tell the next one's
/// changes as events, and names by number (kept after people leave: an invitation's
/// result names them by number, and one that says why someone left comes after they
/// are gone).
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    shown: Option<Arc<Picture>>,
    names: BTreeMap<String, String>,
}

impl Tracker {
    /// Whether a picture has been shown yet: the first one is the snapshot.
    pub(crate) fn started(&self) -> bool {
        self.shown.is_some()
    }

    /// The events between the picture last shown and `now` (none for the first one,
    /// the snapshot, except that the meeting has ended), each at `now`'s time, or
    /// `fallback` when the service gave none. After the feed was lost, `now` is the
    /// new connection's picture: what changed meanwhile is told once, as events.
    pub(crate) fn update(&mut self, now: &Arc<Picture>, fallback: Timestamp) -> Vec<Event> {
        let at = now.at().unwrap_or(fallback);
        let mut out = Emitter {
            at: format!("{at:.0}"),
            events: Vec::new(),
        };
        match self.shown.take() {
            Some(before) => {
                people(&before, now, &mut out);
                waiting(&before, now, &mut out);
                self.invites(&before, now, &mut out);
                status(&before, now, &mut out);
            }
            // The snapshot of a meeting already over says so.
            None if now.ended() => out.event("ended"),
            None => {}
        }
        for (_, keys) in now.people() {
            let tel = value(keys, key::TEL);
            if !tel.is_empty() {
                self.names
                    .insert(tel.to_owned(), value(keys, key::NAME).to_owned());
            }
        }
        self.shown = Some(Arc::clone(now));
        out.events
    }

    /// The first JSON object: the meeting's title and who is in it, once the snapshot
    /// is in.
    pub(crate) fn snapshot(picture: &Picture, now: Timestamp) -> Event {
        Event {
            name: picture.basic().map(|b| b.title.clone()),
            present: Some(
                in_meeting(picture)
                    .map(|keys| value(keys, key::NAME).to_owned())
                    .collect(),
            ),
            ..Event::new(format!("{now:.0}"), "snapshot")
        }
    }

    /// New invitation results. "Left of their own accord" repeats the online list's
    /// departure, already an event; other reasons (removed by the host…) say
    /// something new.
    fn invites(&self, before: &Picture, now: &Picture, out: &mut Emitter) {
        let old: BTreeMap<&str, &str> = before.invites().collect();
        for (number, code) in now.invites() {
            if old.get(number) == Some(&code) || invite_result(code) == "left" {
                continue;
            }
            let name = self
                .names
                .get(number)
                .cloned()
                .unwrap_or_else(|| number.to_owned());
            out.push(Event {
                name: Some(name),
                result: Some(invite_result(code)),
                code: Some(code.to_owned()),
                ..Event::new(String::new(), "invite_result")
            });
        }
    }
}

/// Joins, leaves, and changes of hand, sound, role and broadcast.
fn people(before: &Picture, now: &Picture, out: &mut Emitter) {
    for (pid, keys) in now.people() {
        let was = before.person(pid);
        let was_in = was.is_some_and(|k| value(k, key::STATE) == key::IN_MEETING);
        if value(keys, key::STATE) == key::IN_MEETING && !was_in {
            out.named("joined", keys);
            // A join carries every key: its hand or role is news only if it changes.
            continue;
        }
        let Some(was) = was else {
            continue;
        };
        for (name, to, event) in [
            (key::HAND, "1", "hand_raised"),
            (key::HAND, "0", "hand_lowered"),
            (key::MUTE, "1", "muted"),
            (key::MUTE, "0", "unmuted"),
            (key::ROLE, key::HOST_ROLE, "host"),
            (key::IS_COHOST, "1", "cohost"),
            (key::BROADCAST, "1", "broadcasting"),
        ] {
            if value(keys, name) == to && value(was, name) != to {
                out.named(event, keys);
            }
        }
    }
    for (pid, keys) in before.people() {
        if now.person(pid).is_none() {
            out.named("left", keys);
        }
    }
}

/// Arrivals in the waiting room.
fn waiting(before: &Picture, now: &Picture, out: &mut Emitter) {
    let known: Vec<&str> = before.waiting_list().map(|(pid, _)| pid).collect();
    for (pid, keys) in now.waiting_list() {
        if !known.contains(&pid) && value(keys, key::WAITINGSTATE) == key::WAITING {
            out.named("waiting", keys);
        }
    }
}

/// Lock and recording changes, and the end.
fn status(before: &Picture, now: &Picture, out: &mut Emitter) {
    if let (Some(was), Some(is)) = (before.locked(), now.locked())
        && was != is
    {
        out.event(if is { "locked" } else { "unlocked" });
    }
    if let (Some(was), Some(is)) = (before.recording(), now.recording())
        && was != is
    {
        out.event(if is {
            "recording_started"
        } else {
            "recording_stopped"
        });
    }
    if now.ended() && !before.ended() {
        out.event("ended");
    }
}

/// Those in the meeting (not ringing), with their keys.
pub(crate) fn in_meeting(picture: &Picture) -> impl Iterator<Item = &Keys> {
    picture
        .people()
        .map(|(_, keys)| keys)
        .filter(|keys| value(keys, key::STATE) == key::IN_MEETING)
}

struct Emitter {
    at: String,
    events: Vec<Event>,
}

impl Emitter {
    fn push(&mut self, mut event: Event) {
        event.at.clone_from(&self.at);
        self.events.push(event);
    }

    fn event(&mut self, event: &'static str) {
        self.push(Event::new(String::new(), event));
    }

    fn named(&mut self, event: &'static str, keys: &Keys) {
        self.push(Event {
            name: Some(value(keys, key::NAME).to_owned()),
            ..Event::new(String::new(), event)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meeting::feed::{InviteResult, NotifyType, PersonChange};
    use crate::mmc::feed::{Body, Frame};

    type Change<'a> = (&'a str, u8, &'a [(&'a str, &'a str)]);

    fn people(full: bool, changes: &[Change<'_>]) -> Frame {
        Frame {
            kind: NotifyType::Participants,
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

    /// The meeting as the feed shows it, and what has been shown of it.
    #[derive(Default)]
    struct Watching {
        picture: Picture,
        tracker: Tracker,
    }

    impl Watching {
        /// Applies `frame`, then shows the picture: the lines it makes.
        fn lines(&mut self, frame: Frame) -> Vec<String> {
            self.picture.apply(&frame);
            self.show()
        }

        fn show(&mut self) -> Vec<String> {
            self.tracker
                .update(&Arc::new(self.picture.clone()), Timestamp::UNIX_EPOCH)
                .iter()
                .map(Event::human)
                .collect()
        }
    }

    #[test]
    fn the_snapshot_makes_no_events_and_changes_do() {
        let mut w = Watching::default();
        let bob: &[(&str, &str)] = &[("NAME", "Bob Li"), ("STATE", "0"), ("HAND", "0")];
        assert!(w.lines(people(true, &[("p1", 0, bob)])).is_empty());
        assert!(w.tracker.started());
        assert_eq!(
            w.lines(people(false, &[("p1", 0, &[("HAND", "1")])])),
            ["12:00:03 Bob Li raised a hand"]
        );
        let eve: &[(&str, &str)] = &[("NAME", "Eve"), ("STATE", "0"), ("HAND", "1")];
        assert_eq!(
            w.lines(people(false, &[("p2", 0, eve)])),
            ["12:00:03 Eve joined"]
        );
        assert_eq!(
            w.lines(people(false, &[("p1", 1, &[])])),
            ["12:00:03 Bob Li left"]
        );
        // A full list later replaces what was known: those missing have left.
        assert_eq!(w.lines(people(true, &[])), ["12:00:03 Eve left"]);
    }

    #[test]
    fn a_new_connection_tells_what_changed_meanwhile_and_nothing_twice() {
        let mut w = Watching::default();
        let bob: &[(&str, &str)] = &[("NAME", "Bob Li"), ("STATE", "0"), ("HAND", "0")];
        let cy: &[(&str, &str)] = &[("NAME", "Cy"), ("STATE", "0"), ("HAND", "0")];
        w.lines(people(true, &[("p1", 0, bob), ("p2", 0, cy)]));
        assert_eq!(
            w.lines(people(false, &[("p1", 0, &[("HAND", "1")])])),
            ["12:00:03 Bob Li raised a hand"]
        );
        // The feed is lost; the new connection's snapshot replaces the picture.
        let mut next = w.picture.successor();
        let bob_up: &[(&str, &str)] = &[("NAME", "Bob Li"), ("STATE", "0"), ("HAND", "1")];
        let dan: &[(&str, &str)] = &[("NAME", "Dan"), ("STATE", "0"), ("HAND", "0")];
        next.apply(&people(true, &[("p1", 0, bob_up), ("p3", 0, dan)]));
        w.picture = next;
        assert_eq!(w.show(), ["12:00:03 Dan joined", "12:00:03 Cy left"]);
        assert!(w.show().is_empty(), "nothing is told twice");
    }

    #[test]
    fn the_feed_has_its_own_lines() {
        let at = Timestamp::from_second(1_767_268_803).unwrap();
        let down = Event::feed_down(at, "the feed broke: reset");
        assert_eq!(
            down.human(),
            "12:00:03 feed lost (the feed broke: reset); reconnecting"
        );
        assert!(down.is_feed() && Event::feed_up(at).is_feed());
        assert_eq!(Event::feed_up(at).human(), "12:00:03 feed back");
        assert_eq!(
            serde_json::to_value(&down).unwrap(),
            serde_json::json!({"at": "2026-01-01T12:00:03Z", "event": "feed_down", "why": "the feed broke: reset"})
        );
    }

    #[test]
    fn a_departure_is_said_once() {
        let mut w = Watching::default();
        let bob: &[(&str, &str)] = &[("NAME", "Bob Li"), ("TEL", "+1"), ("STATE", "0")];
        assert!(w.lines(people(true, &[("p1", 0, bob)])).is_empty());
        assert_eq!(
            w.lines(people(false, &[("p1", 1, &[])])),
            ["12:00:03 Bob Li left"]
        );
        let said = |code: &str| Frame {
            kind: NotifyType::InviteResult,
            version: None,
            at: Timestamp::from_second(1_767_268_804).ok(),
            full: false,
            body: Body::Invites(vec![InviteResult {
                call_number: "+1".into(),
                result_code: code.into(),
            }]),
        };
        assert!(w.lines(said("111076010")).is_empty(), "left: already said");
        assert_eq!(
            w.lines(said("111076002")),
            ["12:00:04 Bob Li: removed by the host"]
        );
    }

    #[test]
    fn the_end_is_said_even_in_the_snapshot() {
        let mut w = Watching::default();
        let ended = Frame {
            kind: NotifyType::ConfDynamicInfo,
            version: None,
            at: Timestamp::from_second(1_767_268_805).ok(),
            full: true,
            body: Body::Dynamic(Box::new(crate::meeting::feed::DynamicInfo {
                state: "Destroyed".into(),
                ..Default::default()
            })),
        };
        assert_eq!(w.lines(ended), ["12:00:05 the meeting has ended"]);
    }

    #[test]
    fn invite_codes_read_with_eight_or_nine_digits() {
        assert_eq!(invite_result("111076008"), "busy");
        assert_eq!(invite_result("11076010"), "left");
        assert_eq!(invite_result("0"), "connected");
        assert_eq!(invite_result("42"), "failed");
    }
}
