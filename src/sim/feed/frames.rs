//! The feed's messages built from the meeting, and what changed between two looks at
//! it: pure functions, no sockets. A connection keeps the last [`Picture`] it sent and
//! pushes the difference, so every change reaches it once, in the form the service
//! uses (a join with every key, a change with the changed keys, a leave as `mode` 1).

use std::collections::BTreeMap;

use indexmap::IndexMap;

use super::super::meeting::{Meeting, Participant};
use super::super::schedule::ConfState;
use crate::meeting::Role;
use crate::meeting::feed::{
    BasicInfo, DynamicInfo, InviteResult, NotifyType, Password, Payload, PersonChange, key,
};

pub(super) type PinfoMap = BTreeMap<String, String>;

/// What a connection last told its client, per type.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Picture {
    pub participants: IndexMap<String, PinfoMap>,
    pub dynamic: Option<DynamicInfo>,
    pub invites: IndexMap<String, String>,
    pub waiting: IndexMap<String, PinfoMap>,
}

/// The meeting as the feed shows it. `added` gives a participant's join time (ms).
pub(super) fn picture(meeting: &Meeting, mut added: impl FnMut(&str) -> i64) -> Picture {
    Picture {
        participants: meeting
            .participants
            .values()
            .map(|p| (p.pid.clone(), participant_map(meeting, p, added(&p.pid))))
            .collect(),
        dynamic: Some(dynamic_info(meeting)),
        invites: meeting.invite_results.clone(),
        waiting: meeting
            .waiting_room
            .values()
            .map(|p| (p.pid.clone(), waiting_map(p, added(&p.pid))))
            .collect(),
    }
}

fn flag(on: bool) -> String {
    if on { "1" } else { "0" }.to_owned()
}

/// Every key of a participant, as a join carries them.
pub(super) fn participant_map(meeting: &Meeting, p: &Participant, added_ms: i64) -> PinfoMap {
    let role = meeting.role_of(&p.pid);
    [
        (key::NAME, p.name.clone()),
        (key::TEL, p.phone.clone()),
        (key::ROLE, flag(role == Role::Host)),
        (key::STATE, p.state.code().to_string()),
        (key::HAND, flag(p.hand)),
        (
            key::BROADCAST,
            flag(meeting.broadcast.as_deref() == Some(&p.pid)),
        ),
        (
            key::ROLLCALL,
            flag(meeting.roll_call.as_deref() == Some(&p.pid)),
        ),
        (key::SHARE, flag(false)),
        (key::ADDTIME, added_ms.to_string()),
        (key::MUTE, flag(p.mute)),
        (key::VIDEO, flag(p.video)),
        (key::IS_COHOST, flag(role == Role::Cohost)),
        (key::CLIENT_LOGIN_TYPE, "Desktop".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Every key of someone in the waiting room.
fn waiting_map(p: &Participant, added_ms: i64) -> PinfoMap {
    [
        (key::NAME, p.name.clone()),
        (key::TEL, p.phone.clone()),
        (key::ADDTIME, added_ms.to_string()),
        (key::ANONYMOUS, flag(false)),
        (key::CLIENT_LOGIN_TYPE, "Desktop".to_owned()),
        (key::WAITINGSTATE, key::WAITING.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

pub(super) fn dynamic_info(meeting: &Meeting) -> DynamicInfo {
    let state = match meeting.state {
        ConfState::Schedule => "Schedule",
        ConfState::Created => "Created",
        ConfState::Destroyed => crate::meeting::feed::DESTROYED,
    };
    let mode = if meeting.broadcast.is_some() {
        "BROADCAST"
    } else if meeting.roll_call.is_some() {
        "ROLLCALL"
    } else {
        "FREE"
    };
    DynamicInfo {
        state: state.to_owned(),
        mode: mode.to_owned(),
        lock: u8::from(meeting.locked),
        mute: u8::from(meeting.mute_all),
        can_unmute: u8::from(meeting.allow_self_unmute),
        lock_sharing: 0,
        rec_state: u8::from(meeting.recording),
        vas: 0,
        chair_view: 0,
        forbidden_chat: 0,
        rec_occurred: 0,
        real_time_subtitle: 0,
        end_time: meeting.ends_at.as_millisecond().to_string(),
        pic_num: 1,
        part_view_num: 0,
        max_part_view_num: 0,
        call_in_restriction: 0,
        waiting_room_state: 0,
        pause: false,
    }
}

/// The basic info, passwords in clear as the service sends them.
pub(super) fn basic_info(meeting: &Meeting) -> BasicInfo {
    let start = meeting.starts_at.as_millisecond().to_string();
    let mut pwds = vec![Password {
        role: "chair".into(),
        pwd: meeting.host_password.clone(),
    }];
    if let Some(guest) = &meeting.guest_password {
        pwds.push(Password {
            role: "general".into(),
            pwd: guest.clone(),
        });
    }
    BasicInfo {
        display_id: meeting.id.clone(),
        title: meeting.subject.clone(),
        start_time: start.clone(),
        scheduled_start_time: start,
        pwds,
        rec_type: 0,
        media: 2,
        owner: "emcee-sim-user".into(),
        owner_id: "emcee-sim-user".into(),
        user_type: 2,
        guest_join_uri: String::new(),
        call_in_restriction: 0,
        conf_mode: "COMMON".into(),
    }
}

/// The full message of a type: the whole picture (basic info from the meeting).
pub(super) fn snapshot(kind: NotifyType, meeting: &Meeting, now: &Picture) -> Payload {
    match kind {
        NotifyType::ConfBasicInfo => Payload::Basic(basic_info(meeting)),
        NotifyType::ConfDynamicInfo => Payload::Dynamic(dynamic_info(meeting)),
        NotifyType::Participants => Payload::People {
            data: people_changes(&IndexMap::new(), &now.participants),
        },
        NotifyType::InviteResult => Payload::Invites {
            data: invite_changes(&IndexMap::new(), &now.invites),
        },
        NotifyType::SpeakerChange => Payload::Nothing {},
        NotifyType::WaitingList => Payload::People {
            data: people_changes(&IndexMap::new(), &now.waiting),
        },
    }
}

/// The incremental messages from `before` to `after`, by type; none for a type
/// with nothing new.
/// Someone let in from the waiting room is first marked admitted (`WAITINGSTATE`
/// `"1"`, joining), then joins the online list, then leaves the waiting list: the
/// order the service's states suggest.
pub(super) fn increments(before: &Picture, after: &Picture) -> Vec<(NotifyType, Payload)> {
    let mut out = Vec::new();
    let admitted: Vec<PersonChange> = before
        .waiting
        .keys()
        .filter(|pid| !after.waiting.contains_key(*pid) && after.participants.contains_key(*pid))
        .map(|pid| PersonChange {
            pid: pid.clone(),
            mode: 0,
            pinfo_map: [("WAITINGSTATE".to_owned(), flag(true))].into(),
        })
        .collect();
    if !admitted.is_empty() {
        out.push((NotifyType::WaitingList, Payload::People { data: admitted }));
    }
    let people = people_changes(&before.participants, &after.participants);
    if !people.is_empty() {
        out.push((NotifyType::Participants, Payload::People { data: people }));
    }
    let invites = invite_changes(&before.invites, &after.invites);
    if !invites.is_empty() {
        out.push((NotifyType::InviteResult, Payload::Invites { data: invites }));
    }
    let waiting = people_changes(&before.waiting, &after.waiting);
    if !waiting.is_empty() {
        out.push((NotifyType::WaitingList, Payload::People { data: waiting }));
    }
    // The status last: when the meeting ends, `Destroyed` is the final word.
    if let Some(dynamic) = &after.dynamic
        && before.dynamic.as_ref() != Some(dynamic)
    {
        out.push((
            NotifyType::ConfDynamicInfo,
            Payload::Dynamic(dynamic.clone()),
        ));
    }
    out
}

/// Joins with every key, changes with the changed keys, leaves as `mode` 1 `{}`.
pub(super) fn people_changes(
    before: &IndexMap<String, PinfoMap>,
    after: &IndexMap<String, PinfoMap>,
) -> Vec<PersonChange> {
    let mut out = Vec::new();
    for (pid, map) in after {
        let changed: PinfoMap = match before.get(pid) {
            None => map.clone(),
            Some(old) => map
                .iter()
                .filter(|(key, value)| old.get(*key) != Some(*value))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        if !changed.is_empty() {
            out.push(PersonChange {
                pid: pid.clone(),
                mode: 0,
                pinfo_map: changed,
            });
        }
    }
    for pid in before.keys().filter(|pid| !after.contains_key(*pid)) {
        out.push(PersonChange {
            pid: pid.clone(),
            mode: 1,
            pinfo_map: PinfoMap::new(),
        });
    }
    out
}

/// The latest result of every number whose result is new.
fn invite_changes(
    before: &IndexMap<String, String>,
    after: &IndexMap<String, String>,
) -> Vec<InviteResult> {
    after
        .iter()
        .filter(|(number, code)| before.get(*number) != Some(*code))
        .map(|(number, code)| InviteResult {
            call_number: number.clone(),
            result_code: code.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> PinfoMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_join_carries_every_key_a_change_only_the_changed_and_a_leave_none() {
        let mut before = IndexMap::new();
        before.insert("a".to_owned(), map(&[("NAME", "Ann"), ("HAND", "0")]));
        before.insert("b".to_owned(), map(&[("NAME", "Bob")]));
        let mut after = IndexMap::new();
        after.insert("a".to_owned(), map(&[("NAME", "Ann"), ("HAND", "1")]));
        after.insert("c".to_owned(), map(&[("NAME", "Cy"), ("HAND", "0")]));
        let changes = people_changes(&before, &after);
        assert_eq!(
            changes,
            vec![
                PersonChange {
                    pid: "a".into(),
                    mode: 0,
                    pinfo_map: map(&[("HAND", "1")])
                },
                PersonChange {
                    pid: "c".into(),
                    mode: 0,
                    pinfo_map: map(&[("NAME", "Cy"), ("HAND", "0")])
                },
                PersonChange {
                    pid: "b".into(),
                    mode: 1,
                    pinfo_map: PinfoMap::new()
                },
            ]
        );
        assert!(people_changes(&after, &after).is_empty());
    }

    #[test]
    fn an_admission_is_marked_then_joins_then_leaves_the_waiting_list() {
        let mut before = Picture::default();
        before.waiting.insert(
            "w".to_owned(),
            map(&[("NAME", "Hana"), ("WAITINGSTATE", "0")]),
        );
        let mut after = Picture::default();
        after
            .participants
            .insert("w".to_owned(), map(&[("NAME", "Hana")]));
        let frames = increments(&before, &after);
        let kinds: Vec<NotifyType> = frames.iter().map(|(kind, _)| *kind).collect();
        assert_eq!(
            kinds,
            [
                NotifyType::WaitingList,
                NotifyType::Participants,
                NotifyType::WaitingList
            ]
        );
        let Payload::People { data } = &frames[0].1 else {
            panic!("{frames:?}");
        };
        assert_eq!(data[0].pinfo_map, map(&[("WAITINGSTATE", "1")]));
        let Payload::People { data } = &frames[2].1 else {
            panic!("{frames:?}");
        };
        assert_eq!(data[0].mode, 1);
        // Moved back: a leave from the online list and an arrival in the waiting list.
        let frames = increments(&after, &before);
        let kinds: Vec<NotifyType> = frames.iter().map(|(kind, _)| *kind).collect();
        assert_eq!(kinds, [NotifyType::Participants, NotifyType::WaitingList]);
    }

    #[test]
    fn only_new_invite_results_are_sent() {
        let mut before = IndexMap::new();
        before.insert("+1".to_owned(), "0".to_owned());
        let mut after = before.clone();
        after.insert("+2".to_owned(), "111076008".to_owned());
        assert_eq!(
            invite_changes(&before, &after),
            vec![InviteResult {
                call_number: "+2".into(),
                result_code: "111076008".into()
            }]
        );
    }
}
