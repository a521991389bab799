//! One emulated meeting and the effect of every control call on it. Pure state: no
//! HTTP, no clock reads (times are passed in), so the rules of `docs/api.md` (#rules,
//! #emulator) live in one place and the invariants (one broadcast or roll call at a
//! time, nothing held by someone who left) are kept by construction. The hand rules
//! (`rules.rs`), ringing invitees (`invitations.rs`) and the waiting room
//! (`waiting_room.rs`) extend it from beside it.

use indexmap::IndexMap;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::api_error::ApiError;
use super::ids::Ids;
use super::schedule::ConfState;
pub(super) use crate::meeting::rules::LEFT_BY_THEMSELVES as LEFT;
use crate::meeting::rules::LEFT_HUNG_UP_BY_HOST;
use crate::meeting::wire::{ConfInfo, RealTimeAttendee, RealTimeInfo, RealTimeParticipant};
use crate::meeting::{
    AttendeeSeed, InviteeSeed, MAX_COHOSTS, MeetingRules, MeetingSeed, ParticipantSeed,
    ParticipantState, Role, validate_name,
};

/// Most pids one batch call may carry.
pub(super) const MAX_BATCH_PIDS: usize = 500;
/// Longest manual extension, in minutes.
pub(super) const MAX_EXTEND_MINUTES: i64 = 24 * 60;

#[derive(Debug, Clone)]
pub(super) struct Participant {
    pub pid: String,
    pub name: String,
    pub phone: String,
    pub mute: bool,
    pub hand: bool,
    pub video: bool,
    pub state: ParticipantState,
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct Attendee {
    pub name: String,
    pub phone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_uuid: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Meeting {
    pub id: String,
    pub subject: String,
    pub host_password: String,
    pub guest_password: Option<String>,
    pub state: ConfState,
    /// Which holding of the meeting this is: a meeting reopened after its end is a new
    /// session, and control tokens of an earlier one are refused.
    pub session: u32,
    pub starts_at: Timestamp,
    /// The scheduled end, moved by extensions and auto-prolong.
    pub ends_at: Timestamp,
    pub auto_prolong: bool,
    pub guests_may_start: bool,
    pub locked: bool,
    pub recording: bool,
    pub live: bool,
    pub mute_all: bool,
    pub allow_self_unmute: bool,
    pub broadcast: Option<String>,
    pub roll_call: Option<String>,
    pub host: Option<String>,
    pub cohosts: Vec<String>,
    /// The online list, in joining order.
    pub participants: IndexMap<String, Participant>,
    pub attendees: Vec<Attendee>,
    pub rules: MeetingRules,
    /// How each called number answers ([`super::invitations`]).
    pub invitees: IndexMap<String, InviteeSeed>,
    /// The latest invitation result per number: `"0"` answered, or the failure code.
    pub invite_results: IndexMap<String, String>,
    /// People waiting to be let in: not online, seen only through the push feed.
    pub waiting_room: IndexMap<String, Participant>,
}

/// The full state of a meeting as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct MeetingView {
    pub id: String,
    pub subject: String,
    pub state: ConfState,
    /// The scheduled start and end, RFC 3339.
    pub starts_at: String,
    pub ends_at: String,
    pub auto_prolong: bool,
    pub guests_may_start: bool,
    pub locked: bool,
    pub recording: bool,
    pub live: bool,
    pub mute_all: bool,
    pub allow_self_unmute: bool,
    pub broadcast: Option<String>,
    pub roll_call: Option<String>,
    pub host: Option<String>,
    pub cohosts: Vec<String>,
    pub participants: Vec<ParticipantView>,
    pub attendees: Vec<AttendeeView>,
    pub rules: MeetingRules,
    pub invitees: IndexMap<String, InviteeSeed>,
    pub invite_results: IndexMap<String, String>,
    /// Who is in the waiting room, in arrival order.
    #[serde(default)]
    pub waiting: Vec<ParticipantView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ParticipantView {
    pub pid: String,
    pub name: String,
    pub phone: String,
    pub role: Role,
    pub mute: bool,
    pub hand: bool,
    pub video: bool,
    pub state: ParticipantState,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct AttendeeView {
    pub name: String,
    pub phone: String,
}

impl Meeting {
    /// Builds a meeting from its seed, without its participants: the emulator state adds
    /// them, at once or when they are due. The seed must have passed `validate`; times
    /// written as durations count from `now`.
    pub(super) fn from_seed(
        seed: &MeetingSeed,
        id: String,
        now: Timestamp,
    ) -> Result<Meeting, ApiError> {
        let (starts_at, ends_at) = super::schedule::schedule(seed, now)?;
        Ok(Meeting {
            id,
            subject: seed.subject.clone(),
            host_password: seed.host_password.clone().unwrap_or_default(),
            guest_password: seed.guest_password.clone(),
            state: ConfState::from(seed.status),
            session: 0,
            starts_at,
            ends_at,
            auto_prolong: seed.auto_prolong,
            guests_may_start: seed.guests_may_start,
            locked: seed.locked,
            recording: seed.recording,
            live: seed.live,
            mute_all: seed.mute_all,
            allow_self_unmute: seed.allow_self_unmute,
            broadcast: None,
            roll_call: None,
            host: None,
            cohosts: Vec::new(),
            participants: IndexMap::new(),
            attendees: seed.attendees.iter().map(Attendee::from).collect(),
            rules: seed.rules,
            invitees: seed.invitees.clone(),
            invite_results: IndexMap::new(),
            waiting_room: IndexMap::new(),
        })
    }

    pub(super) fn is_ended(&self) -> bool {
        self.state == ConfState::Destroyed
    }

    pub(super) fn role_of(&self, pid: &str) -> Role {
        if self.host.as_deref() == Some(pid) {
            Role::Host
        } else if self.cohosts.iter().any(|c| c == pid) {
            Role::Cohost
        } else {
            Role::Guest
        }
    }

    /// Adds a participant to the online list, as the service does on a join.
    pub(super) fn add(
        &mut self,
        spec: &ParticipantSeed,
        ids: &mut Ids,
    ) -> Result<String, ApiError> {
        spec.validate().map_err(ApiError::sim_bad_request)?;
        match spec.role {
            Role::Host if self.host.is_some() => {
                return Err(ApiError::sim_conflict(
                    "the meeting already has a host; join as a guest and use set_host",
                ));
            }
            Role::Cohost if self.cohosts.len() >= MAX_COHOSTS => {
                return Err(ApiError::sim_conflict(format!(
                    "the meeting already has {MAX_COHOSTS} co-hosts"
                )));
            }
            _ => {}
        }
        let pid = ids.pid();
        let phone = spec.phone.clone().unwrap_or_else(|| ids.phone());
        match spec.role {
            Role::Host => self.host = Some(pid.clone()),
            Role::Cohost => self.cohosts.push(pid.clone()),
            Role::Guest => {}
        }
        self.participants.insert(
            pid.clone(),
            Participant {
                pid: pid.clone(),
                name: spec.name.clone(),
                phone,
                // Muting everyone also holds for people who join later.
                mute: spec.mute || (self.mute_all && spec.role == Role::Guest),
                hand: spec.hand.0,
                video: spec.video,
                state: spec.state,
            },
        );
        Ok(pid)
    }

    /// Removes a participant; whatever they held (broadcast, roll call, host or co-host
    /// role, a raised hand) goes with them.
    pub(super) fn leave(&mut self, pid: &str) -> Result<(), ApiError> {
        if self.participants.shift_remove(pid).is_none() {
            return Err(ApiError::participant_not_found());
        }
        if self.broadcast.as_deref() == Some(pid) {
            self.broadcast = None;
        }
        if self.roll_call.as_deref() == Some(pid) {
            self.roll_call = None;
        }
        if self.host.as_deref() == Some(pid) {
            self.host = None;
        }
        self.cohosts.retain(|c| c != pid);
        Ok(())
    }

    pub(super) fn online(&mut self, pid: &str) -> Result<&mut Participant, ApiError> {
        self.participants
            .get_mut(pid)
            .ok_or_else(ApiError::participant_not_found)
    }

    /// Checks a list of pids before a batch call, so that a batch with an unknown pid
    /// changes nothing.
    pub(super) fn all_online(&self, pids: &[String]) -> Result<(), ApiError> {
        if pids.iter().all(|pid| self.participants.contains_key(pid)) {
            Ok(())
        } else {
            Err(ApiError::participant_not_found())
        }
    }

    pub(super) fn broadcast(&mut self, pid: &str) -> Result<(), ApiError> {
        self.online(pid)?;
        self.broadcast = Some(pid.to_owned());
        self.roll_call = None;
        Ok(())
    }

    pub(super) fn cancel_broadcast(&mut self) {
        self.broadcast = None;
        self.roll_call = None;
    }

    /// Gives `pid` the floor: they and the host are unmuted, everyone else muted.
    pub(super) fn roll_call(&mut self, pid: &str) -> Result<(), ApiError> {
        self.online(pid)?;
        self.roll_call = Some(pid.to_owned());
        self.broadcast = None;
        let host = self.host.clone();
        for participant in self.participants.values_mut() {
            let speaks =
                participant.pid == pid || host.as_deref() == Some(participant.pid.as_str());
            participant.mute = !speaks;
        }
        Ok(())
    }

    pub(super) fn set_hand(&mut self, pid: &str, raised: bool) -> Result<(), ApiError> {
        self.online(pid)?.hand = raised;
        Ok(())
    }

    pub(super) fn batch_hands(&mut self, pids: &[String], raised: bool) -> Result<(), ApiError> {
        if pids.is_empty() {
            return Err(ApiError::bad_request(
                "invalid parameter pids: must not be empty",
            ));
        }
        if pids.len() > MAX_BATCH_PIDS {
            return Err(ApiError::bad_request(format!(
                "invalid parameter pids: at most {MAX_BATCH_PIDS} pids per call, got {}",
                pids.len()
            )));
        }
        self.all_online(pids)?;
        self.check_raise(pids.iter().map(String::as_str), raised, false)?;
        for pid in pids {
            if let Some(participant) = self.participants.get_mut(pid) {
                participant.hand = raised;
            }
        }
        Ok(())
    }

    pub(super) fn mute(&mut self, pid: &str, mute: bool) -> Result<(), ApiError> {
        self.online(pid)?.mute = mute;
        Ok(())
    }

    /// Mutes or unmutes everyone but the host.
    pub(super) fn mute_all(&mut self, mute: bool, allow_self_unmute: Option<bool>) {
        self.mute_all = mute;
        if mute {
            self.allow_self_unmute = allow_self_unmute.unwrap_or(true);
        }
        let host = self.host.clone();
        for participant in self.participants.values_mut() {
            if host.as_deref() != Some(participant.pid.as_str()) {
                participant.mute = mute;
            }
        }
    }

    pub(super) fn allow_self_unmute(&mut self, allow: bool) {
        self.allow_self_unmute = allow;
    }

    pub(super) fn set_chair(
        &mut self,
        pid: &str,
        apply: bool,
        chairman_password: Option<&str>,
    ) -> Result<(), ApiError> {
        // Applying needs the host password; releasing needs none (docs/api.md#rules).
        if apply && chairman_password.is_none() {
            return Err(ApiError::bad_request(
                "invalid parameter chairmanPwd: required when applyChair is 1",
            ));
        }
        self.online(pid)?;
        if apply && chairman_password != Some(self.host_password.as_str()) {
            return Err(ApiError::chairman_password_wrong());
        }
        if apply {
            self.host = Some(pid.to_owned());
            self.cohosts.retain(|c| c != pid);
        } else if self.host.as_deref() == Some(pid) {
            self.host = None;
        }
        Ok(())
    }

    pub(super) fn set_cohost(&mut self, pid: &str, cohost: bool) -> Result<(), ApiError> {
        self.online(pid)?;
        let already = self.cohosts.iter().any(|c| c == pid);
        if !cohost {
            self.cohosts.retain(|c| c != pid);
            return Ok(());
        }
        if already {
            return Ok(());
        }
        if self.host.as_deref() == Some(pid) {
            return Err(ApiError::chair_cannot_be_cohost());
        }
        if self.cohosts.len() >= MAX_COHOSTS {
            return Err(ApiError::bad_request(format!(
                "invalid parameter isCohost: the meeting already has {MAX_COHOSTS} co-hosts"
            )));
        }
        self.cohosts.push(pid.to_owned());
        Ok(())
    }

    pub(super) fn hang_up(&mut self, pids: &[String]) -> Result<(), ApiError> {
        if pids.is_empty() {
            return Err(ApiError::bad_request(
                "invalid parameter bulkHangUpParticipants: must not be empty",
            ));
        }
        self.all_online(pids)?;
        for pid in pids {
            // Duplicates in the list are harmless: the second removal finds nobody.
            let _ = self.depart(pid, LEFT_HUNG_UP_BY_HOST);
        }
        Ok(())
    }

    /// Someone leaves for a reason the push feed reports as the latest result for
    /// their number (`InviteResultNotify`).
    pub(super) fn depart(&mut self, pid: &str, reason: &str) -> Result<(), ApiError> {
        let phone = self.participants.get(pid).map(|p| p.phone.clone());
        self.leave(pid)?;
        if let Some(phone) = phone {
            self.invite_results.insert(phone, reason.to_owned());
        }
        Ok(())
    }

    pub(super) fn rename(
        &mut self,
        pid: Option<&str>,
        number: &str,
        new_name: &str,
    ) -> Result<(), ApiError> {
        validate_name(new_name)
            .map_err(|e| ApiError::bad_request(format!("invalid parameter newName: {e}")))?;
        if number.trim().is_empty() {
            return Err(ApiError::bad_request(
                "invalid parameter number: must not be empty",
            ));
        }
        let attendee = self.attendees.iter().position(|a| a.phone == number);
        match pid {
            Some(pid) => self.online(pid)?.name = new_name.to_owned(),
            None if attendee.is_none() => return Err(ApiError::participant_not_found()),
            None => {}
        }
        if let Some(index) = attendee {
            self.attendees[index].name = new_name.to_owned();
        }
        Ok(())
    }

    pub(super) fn extend(&mut self, auto: bool, minutes: Option<i64>) -> Result<(), ApiError> {
        if auto {
            self.auto_prolong = true;
            return Ok(());
        }
        let minutes = minutes.unwrap_or(15);
        if !(1..=MAX_EXTEND_MINUTES).contains(&minutes) {
            return Err(ApiError::bad_request(format!(
                "invalid parameter duration: must be 1 to {MAX_EXTEND_MINUTES} minutes, got {minutes}"
            )));
        }
        self.ends_at = self
            .ends_at
            .checked_add(SignedDuration::from_mins(minutes))
            .unwrap_or(Timestamp::MAX);
        Ok(())
    }

    /// Ends the meeting: everyone is disconnected and recording and live stop.
    pub(super) fn stop(&mut self) {
        self.state = ConfState::Destroyed;
        self.participants.clear();
        self.waiting_room.clear();
        self.broadcast = None;
        self.roll_call = None;
        self.host = None;
        self.cohosts.clear();
        self.recording = false;
        self.live = false;
    }

    pub(super) fn real_time_info(&self) -> RealTimeInfo {
        RealTimeInfo {
            attendees: self
                .attendees
                .iter()
                .map(|a| RealTimeAttendee {
                    account_id: a.account_id.clone(),
                    user_uuid: a.user_uuid.clone(),
                    name: a.name.clone(),
                    phone: a.phone.clone(),
                })
                .collect(),
            participants: self
                .participants
                .values()
                .map(|p| RealTimeParticipant {
                    pid: p.pid.clone(),
                    name: p.name.clone(),
                    phone: p.phone.clone(),
                    state: p.state.code(),
                    video: u8::from(p.video),
                    mute: u8::from(p.mute),
                    hand: u8::from(p.hand),
                })
                .collect(),
            conf_info: ConfInfo {
                chair_id: self.host.clone(),
                co_hosts: self.cohosts.clone(),
            },
        }
    }

    pub(super) fn participant_view(&self, participant: &Participant) -> ParticipantView {
        ParticipantView {
            pid: participant.pid.clone(),
            name: participant.name.clone(),
            phone: participant.phone.clone(),
            role: self.role_of(&participant.pid),
            mute: participant.mute,
            hand: participant.hand,
            video: participant.video,
            state: participant.state,
        }
    }

    pub(super) fn view(&self) -> MeetingView {
        MeetingView {
            id: self.id.clone(),
            subject: self.subject.clone(),
            state: self.state,
            starts_at: self.starts_at.to_string(),
            ends_at: self.ends_at.to_string(),
            auto_prolong: self.auto_prolong,
            guests_may_start: self.guests_may_start,
            locked: self.locked,
            recording: self.recording,
            live: self.live,
            mute_all: self.mute_all,
            allow_self_unmute: self.allow_self_unmute,
            broadcast: self.broadcast.clone(),
            roll_call: self.roll_call.clone(),
            host: self.host.clone(),
            cohosts: self.cohosts.clone(),
            participants: self
                .participants
                .values()
                .map(|p| self.participant_view(p))
                .collect(),
            attendees: self
                .attendees
                .iter()
                .map(|a| AttendeeView {
                    name: a.name.clone(),
                    phone: a.phone.clone(),
                })
                .collect(),
            rules: self.rules,
            invitees: self.invitees.clone(),
            invite_results: self.invite_results.clone(),
            waiting: self
                .waiting_room
                .values()
                .map(|p| self.participant_view(p))
                .collect(),
        }
    }
}

impl From<&AttendeeSeed> for Attendee {
    fn from(seed: &AttendeeSeed) -> Self {
        Attendee {
            name: seed.name.clone(),
            phone: seed.phone.clone(),
            account_id: None,
            user_uuid: None,
        }
    }
}
