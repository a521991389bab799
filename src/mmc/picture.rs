//! The meeting as its push feed shows it: the last full message of each type, patched
//! by the incremental ones, and what a caller asks of it — the online list as the REST
//! read would give it, raised hands in the order they went up, the waiting room, the
//! meeting's status. Pure: frames in, answers out, no socket and no clock.
//!
//! An incremental frame is applied only when its `version` follows the last one of its
//! type: anything else means a message was lost (or came twice), and the picture says
//! so instead of guessing; the feed's owner then rebuilds it from a new connection's
//! snapshot ([`Picture::successor`]).

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;
use jiff::Timestamp;

use super::feed::{Body, Frame};
use crate::meeting::feed::{BasicInfo, DESTROYED, DynamicInfo, NotifyType, PersonChange, key};
use crate::meeting::{Participant, Roster};

/// One person's `pinfoMap`, every key pushed so far.
pub(crate) type Keys = BTreeMap<String, String>;

/// A key's value, or "" when it was never pushed.
pub(crate) fn value<'a>(keys: &'a Keys, name: &str) -> &'a str {
    keys.get(name).map(String::as_str).unwrap_or("")
}

/// Whether a flag key is on (`"1"`).
pub(crate) fn is_on(keys: &Keys, name: &str) -> bool {
    value(keys, name) == key::ON
}

/// Someone with a hand up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(dead_code, reason = "the runner's")]
pub(crate) struct RaisedHand {
    pub pid: String,
    pub name: String,
    /// False for hands already up when the online list's snapshot came: their order
    /// among themselves is the snapshot's, not the order they went up.
    pub order_known: bool,
}

/// Someone in the waiting room, not yet admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(dead_code, reason = "the runner's")]
pub(crate) struct Waiting {
    pub pid: String,
    pub name: String,
    /// `TEL`, "" when not pushed.
    pub phone: String,
}

/// What applying a frame did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Applied {
    Changed,
    Unchanged,
    /// An incremental frame out of sequence: not applied. What is known of `kind` can
    /// no longer be trusted to be whole.
    Gap {
        kind: NotifyType,
        expected: i64,
        got: i64,
    },
}

/// The meeting as the feed showed it. `Default` knows nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Picture {
    /// Per type, the `version` the next incremental frame must carry.
    next: BTreeMap<NotifyType, i64>,
    /// Types whose full message has come.
    full: BTreeSet<NotifyType>,
    basic: Option<BasicInfo>,
    dynamic: Option<DynamicInfo>,
    /// The online list, ringing invitees included, in the order people appeared.
    participants: IndexMap<String, Keys>,
    /// Raised hands, earliest first: pid and whether its place is known.
    hands: Vec<(String, bool)>,
    waiting: IndexMap<String, Keys>,
    /// The latest invitation result per number.
    invites: IndexMap<String, String>,
    speakers: Vec<String>,
    /// When the last change was made, on the service's clock (its frame's
    /// `createTime`).
    at: Option<Timestamp>,
}

impl Picture {
    /// An empty picture for a new connection that remembers the order of the hands
    /// this one knew: those still up in the new snapshot keep their places ahead of
    /// hands raised meanwhile (whose order is then unknown).
    pub(crate) fn successor(&self) -> Picture {
        Picture {
            hands: self.hands.clone(),
            ..Picture::default()
        }
    }

    /// Applies one frame. `msgMode` 0 replaces what is known for its type; `msgMode` 1
    /// patches it. An incremental frame whose version is not the last one's plus one
    /// for its type is not applied: [`Applied::Gap`].
    pub(crate) fn apply(&mut self, frame: &Frame) -> Applied {
        let kind = frame.kind;
        if !frame.full
            && let (Some(got), Some(&expected)) = (frame.version, self.next.get(&kind))
            && got != expected
        {
            return Applied::Gap {
                kind,
                expected,
                got,
            };
        }
        match (frame.full, frame.version) {
            // Incrementals count from 1 after each full message.
            (true, _) => {
                self.next.insert(kind, 1);
            }
            (false, Some(version)) => {
                self.next.insert(kind, version.saturating_add(1));
            }
            // Without a version nothing can be checked until the next one.
            (false, None) => {
                self.next.remove(&kind);
            }
        }
        let first = frame.full && self.full.insert(kind);
        let changed = match &frame.body {
            Body::Basic(basic) => replace(&mut self.basic, basic),
            Body::Dynamic(dynamic) => replace(&mut self.dynamic, dynamic),
            Body::Participants(changes) if frame.full => self.replace_participants(changes),
            Body::Participants(changes) => {
                let mut any = false;
                for change in changes {
                    any |= self.patch_participant(change);
                }
                any
            }
            Body::WaitingList(changes) => {
                patch_people(&mut self.waiting, changes, frame.full) || first
            }
            Body::Invites(results) => {
                let before = frame.full.then(|| std::mem::take(&mut self.invites));
                let mut any = false;
                for result in results {
                    let old = self
                        .invites
                        .insert(result.call_number.clone(), result.result_code.clone());
                    any |= old.as_deref() != Some(result.result_code.as_str());
                }
                match before {
                    Some(before) => before != self.invites,
                    None => any,
                }
            }
            Body::Speakers(names) => {
                let changed = self.speakers != *names;
                self.speakers.clone_from(names);
                changed
            }
        };
        if changed || first {
            self.at = frame.at.or(self.at);
            Applied::Changed
        } else {
            Applied::Unchanged
        }
    }

    /// The whole online list from a full message. Hands still up keep the places
    /// this picture knew; hands it did not know go after them, in list order, their
    /// order unknown.
    fn replace_participants(&mut self, changes: &[PersonChange]) -> bool {
        let listed: IndexMap<String, Keys> = changes
            .iter()
            .filter(|c| c.mode == 0)
            .map(|c| (c.pid.clone(), c.pinfo_map.clone()))
            .collect();
        let raised = |pid: &str| listed.get(pid).is_some_and(|k| is_on(k, key::HAND));
        let mut hands: Vec<(String, bool)> = std::mem::take(&mut self.hands)
            .into_iter()
            .filter(|(pid, _)| raised(pid))
            .collect();
        for pid in listed.keys() {
            if raised(pid) && !hands.iter().any(|(p, _)| p == pid) {
                hands.push((pid.clone(), false));
            }
        }
        self.hands = hands;
        let changed = listed != self.participants;
        self.participants = listed;
        changed
    }

    /// One entry of an incremental online list: a join, a change or a leave.
    fn patch_participant(&mut self, change: &PersonChange) -> bool {
        if change.mode != 0 {
            self.hands.retain(|(pid, _)| *pid != change.pid);
            return self.participants.shift_remove(&change.pid).is_some();
        }
        let keys = self.participants.entry(change.pid.clone()).or_default();
        let was_up = is_on(keys, key::HAND);
        let mut changed = false;
        for (name, new) in &change.pinfo_map {
            if keys.get(name) != Some(new) {
                keys.insert(name.clone(), new.clone());
                changed = true;
            }
        }
        let is_up = is_on(keys, key::HAND);
        if is_up && !was_up {
            self.hands.push((change.pid.clone(), true));
        } else if was_up && !is_up {
            self.hands.retain(|(pid, _)| *pid != change.pid);
        }
        changed
    }

    /// How many people and numbers it lists: online, waiting, and with an invitation
    /// result.
    pub(crate) fn listed(&self) -> usize {
        self.participants.len() + self.waiting.len() + self.invites.len()
    }

    /// Whether the full message of the online list has come: until then the picture
    /// cannot stand in for a read.
    pub(crate) fn is_complete(&self) -> bool {
        self.full.contains(&NotifyType::Participants)
    }

    /// Whether the full message of `kind` has come.
    #[allow(dead_code, reason = "the runner's")]
    pub(crate) fn knows(&self, kind: NotifyType) -> bool {
        self.full.contains(&kind)
    }

    /// The online list as the REST read would give it (`Roster::parse` of
    /// `realTimeInfo`): `STATE` 0 in the meeting, anything else arriving; the role from
    /// `ROLE` and `IS_COHOST`.
    pub(crate) fn roster(&self) -> Roster {
        let (participants, arriving) = self
            .participants
            .iter()
            .map(|(pid, keys)| participant(pid, keys))
            .partition(|p| p.state == crate::meeting::roster::IN_MEETING);
        Roster {
            participants,
            arriving,
        }
    }

    /// Raised hands, earliest first: hands already up at the snapshot first (in its
    /// order, `order_known` false), then in the order the raises were pushed. A hand
    /// lowered and raised again goes to the back.
    #[allow(dead_code, reason = "the runner's")]
    pub(crate) fn hands(&self) -> Vec<RaisedHand> {
        self.hands
            .iter()
            .map(|(pid, order_known)| RaisedHand {
                pid: pid.clone(),
                name: self.name(pid).to_owned(),
                order_known: *order_known,
            })
            .collect()
    }

    /// The waiting room: those not yet admitted (`WAITINGSTATE` "0"), in the order they
    /// arrived.
    #[allow(dead_code, reason = "the runner's")]
    pub(crate) fn waiting(&self) -> Vec<Waiting> {
        self.waiting
            .iter()
            .filter(|(_, keys)| value(keys, key::WAITINGSTATE) == key::WAITING)
            .map(|(pid, keys)| Waiting {
                pid: pid.clone(),
                name: value(keys, key::NAME).to_owned(),
                phone: value(keys, key::TEL).to_owned(),
            })
            .collect()
    }

    /// Whether the status said `Destroyed`: the meeting is over.
    pub(crate) fn ended(&self) -> bool {
        self.dynamic.as_ref().is_some_and(|d| d.state == DESTROYED)
    }

    pub(crate) fn locked(&self) -> Option<bool> {
        self.dynamic.as_ref().map(|d| d.lock == 1)
    }

    pub(crate) fn recording(&self) -> Option<bool> {
        self.dynamic.as_ref().map(|d| d.rec_state == 1)
    }

    /// The pid of the participant broadcast, if any.
    pub(crate) fn broadcast(&self) -> Option<String> {
        self.flagged(key::BROADCAST)
    }

    /// The pid of the participant given the floor (roll call), if any.
    pub(crate) fn roll_call(&self) -> Option<String> {
        self.flagged(key::ROLLCALL)
    }

    fn flagged(&self, flag: &str) -> Option<String> {
        self.participants
            .iter()
            .find(|(_, keys)| is_on(keys, flag))
            .map(|(pid, _)| pid.clone())
    }

    /// Everyone on the online list (ringing invitees included) with every key pushed.
    pub(crate) fn people(&self) -> impl Iterator<Item = (&str, &Keys)> {
        self.participants.iter().map(|(p, k)| (p.as_str(), k))
    }

    /// Everyone on the waiting list, admitted or not, with every key pushed.
    pub(crate) fn waiting_list(&self) -> impl Iterator<Item = (&str, &Keys)> {
        self.waiting.iter().map(|(p, k)| (p.as_str(), k))
    }

    /// One person's keys.
    pub(crate) fn person(&self, pid: &str) -> Option<&Keys> {
        self.participants.get(pid)
    }

    /// The latest invitation result per number.
    pub(crate) fn invites(&self) -> impl Iterator<Item = (&str, &str)> {
        self.invites.iter().map(|(n, c)| (n.as_str(), c.as_str()))
    }

    /// When the last change was made, on the service's clock, if its frame said.
    pub(crate) fn at(&self) -> Option<Timestamp> {
        self.at
    }

    pub(crate) fn basic(&self) -> Option<&BasicInfo> {
        self.basic.as_ref()
    }

    pub(crate) fn dynamic(&self) -> Option<&DynamicInfo> {
        self.dynamic.as_ref()
    }

    /// A listed person's name; "" for a pid not listed.
    #[allow(dead_code, reason = "the runner's")]
    fn name(&self, pid: &str) -> &str {
        self.participants
            .get(pid)
            .map(|k| value(k, key::NAME))
            .unwrap_or("")
    }
}

/// Sets `slot` to `new`; whether that changed it.
fn replace<T: Clone + PartialEq>(slot: &mut Option<T>, new: &T) -> bool {
    if slot.as_ref() == Some(new) {
        return false;
    }
    *slot = Some(new.clone());
    true
}

/// Applies a waiting list message: a full one replaces the list.
fn patch_people(list: &mut IndexMap<String, Keys>, changes: &[PersonChange], full: bool) -> bool {
    let before = full.then(|| std::mem::take(list));
    let mut any = false;
    for change in changes {
        if change.mode != 0 {
            any |= list.shift_remove(&change.pid).is_some();
            continue;
        }
        let keys = list.entry(change.pid.clone()).or_default();
        for (name, new) in &change.pinfo_map {
            if keys.get(name) != Some(new) {
                keys.insert(name.clone(), new.clone());
                any = true;
            }
        }
    }
    match before {
        Some(before) => before != *list,
        None => any,
    }
}

/// A listed person as the REST read describes them.
fn participant(pid: &str, keys: &Keys) -> Participant {
    let state = match keys.get(key::STATE) {
        None => crate::meeting::roster::IN_MEETING,
        // A state the API does not define: listed, but not someone to act on.
        Some(state) => state.parse().unwrap_or(u8::MAX),
    };
    Participant {
        pid: pid.to_owned(),
        name: value(keys, key::NAME).to_owned(),
        phone: value(keys, key::TEL).to_owned(),
        role: if value(keys, key::ROLE) == key::HOST_ROLE {
            "host"
        } else if is_on(keys, key::IS_COHOST) {
            "cohost"
        } else {
            "guest"
        },
        hand: is_on(keys, key::HAND),
        mute: is_on(keys, key::MUTE),
        video: is_on(keys, key::VIDEO),
        state,
    }
}

#[cfg(test)]
mod tests;
