//! A meeting's life in the emulator: `Schedule` until its host joins or someone starts
//! it, `Created` while it is held, `Destroyed` once ended; reopened by a start before
//! its scheduled end (as a new session, so old control tokens are refused), closed for
//! good after it. At the scheduled end it prolongs itself while someone is online.
//! The rules of `docs/api.md#emulator`, in pure state: the clock's instant is passed in.

use jiff::Timestamp;

use super::api_error::ApiError;
use super::meeting::Meeting;
use super::schedule::{ConfState, PROLONG_STEP, Start, Waiting};
use super::state::SimState;
use crate::meeting::{ParticipantSeed, Role};

impl Meeting {
    /// Token and control calls are answered only while the meeting is held.
    pub(super) fn check_running(&self) -> Result<(), ApiError> {
        match self.state {
            ConfState::Schedule => Err(ApiError::not_started()),
            ConfState::Created => Ok(()),
            ConfState::Destroyed => Err(ApiError::meeting_ended()),
        }
    }

    /// Starts, or reopens, the meeting; refused once it is closed (ended, and past its
    /// scheduled end).
    pub(super) fn start(&mut self, now: Timestamp) -> Result<Start, ApiError> {
        match self.state {
            ConfState::Created => Ok(Start::AlreadyRunning),
            ConfState::Schedule => {
                self.state = ConfState::Created;
                Ok(Start::Started)
            }
            ConfState::Destroyed if now < self.ends_at => {
                self.state = ConfState::Created;
                self.session += 1;
                Ok(Start::Reopened)
            }
            ConfState::Destroyed => Err(ApiError::meeting_ended()),
        }
    }

    /// The scheduled end has come, and nothing else happens before `until` (exclusive
    /// when `until_exclusive`): prolonged 15 minutes at a time past it while someone is
    /// online and auto-prolong is on, ended otherwise.
    fn reach_end(&mut self, until: Timestamp, until_exclusive: bool) {
        if !self.auto_prolong || self.participants.is_empty() {
            self.stop();
            return;
        }
        let due = |ends_at: Timestamp| {
            if until_exclusive {
                ends_at < until
            } else {
                ends_at <= until
            }
        };
        while due(self.ends_at) {
            match self.ends_at.checked_add(PROLONG_STEP) {
                Ok(later) => self.ends_at = later,
                Err(_) => {
                    self.ends_at = Timestamp::MAX;
                    break;
                }
            }
        }
    }
}

impl SimState {
    /// Starts a meeting as `StartMeeting` or the admin API does, admitting whoever was
    /// waiting for the start.
    pub(super) fn start_meeting(&mut self, id: &str, now: Timestamp) -> Result<Start, ApiError> {
        let start = self.meeting_mut(id)?.start(now)?;
        if start == Start::Started {
            self.admit_waiting(id);
        }
        Ok(start)
    }

    /// Ends a meeting as `StopMeeting` does; one not started yet is called off.
    pub(super) fn end_meeting(&mut self, id: &str) -> Result<(), ApiError> {
        let meeting = self.meeting_mut(id)?;
        if !meeting.is_ended() {
            meeting.stop();
        }
        self.waiting.retain(|w| w.meeting != id);
        Ok(())
    }

    /// Seeded participants of a meeting that has just started join, in seed order.
    fn admit_waiting(&mut self, id: &str) {
        let (due, rest) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|w| w.meeting == id);
        self.waiting = rest;
        let Some(meeting) = self.meetings.get_mut(id) else {
            return;
        };
        for Waiting { who, spec, .. } in due {
            match meeting.add(&spec, &mut self.ids) {
                Ok(pid) => {
                    self.arrived.insert(who, pid);
                }
                Err(error) => tracing::info!(
                    target: "emcee::sim",
                    "{} does not join meeting {id} at its start: {}",
                    spec.name,
                    error.msg
                ),
            }
        }
    }

    /// Someone joins now, by the service's rules: not into an ended meeting; into one
    /// not started only as its host (which starts it) or where guests may start it;
    /// guests not into a locked one.
    pub(super) fn join_now(
        &mut self,
        id: &str,
        who: u64,
        spec: &ParticipantSeed,
        now: Timestamp,
    ) -> Result<String, ApiError> {
        let meeting = self
            .meetings
            .get_mut(id)
            .ok_or_else(|| ApiError::sim_not_found(format!("no meeting {id}")))?;
        let starts = match meeting.state {
            ConfState::Destroyed => {
                return Err(ApiError::sim_conflict(format!("meeting {id} has ended")));
            }
            ConfState::Created => false,
            ConfState::Schedule if spec.role == Role::Host || meeting.guests_may_start => true,
            ConfState::Schedule => return Err(ApiError::only_host_starts()),
        };
        if meeting.locked && spec.role == Role::Guest {
            return Err(ApiError::meeting_locked());
        }
        let pid = meeting.add(spec, &mut self.ids)?;
        self.arrived.insert(who, pid.clone());
        if starts {
            self.start_meeting(id, now)?;
        }
        Ok(pid)
    }

    /// The earliest scheduled end of a held meeting that has come by `now`.
    pub(super) fn next_end(&self, now: Timestamp) -> Option<(Timestamp, String)> {
        self.meetings
            .values()
            .filter(|m| m.state == ConfState::Created && m.ends_at <= now)
            .map(|m| (m.ends_at, m.id.clone()))
            .min()
    }

    /// A meeting's scheduled end, with the next scripted happening (if one is due by
    /// `now`) at `next`: prolonging stops short of it, so it sees the meeting as it is.
    pub(super) fn apply_end(&mut self, id: &str, next: Option<Timestamp>, now: Timestamp) {
        if let Some(meeting) = self.meetings.get_mut(id) {
            match next {
                Some(next) => meeting.reach_end(next, true),
                None => meeting.reach_end(now, false),
            }
            if meeting.is_ended() {
                self.waiting.retain(|w| w.meeting != id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meeting::MeetingSeed;
    use crate::sim::ids::Ids;
    use crate::sim::schedule::schedule;

    fn seed(json: serde_json::Value) -> MeetingSeed {
        serde_json::from_value(json).unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn meeting(json: serde_json::Value) -> Meeting {
        Meeting::from_seed(&seed(json), "914044873".into(), at("2026-12-02T09:00:00Z")).unwrap()
    }

    #[test]
    fn the_schedule_defaults_to_two_hours_from_now() {
        let now = at("2026-12-02T09:00:00Z");
        let plain = seed(serde_json::json!({"host_password": "x"}));
        assert_eq!(
            schedule(&plain, now).unwrap(),
            (now, at("2026-12-02T11:00:00Z"))
        );
        let later = seed(serde_json::json!({
            "host_password": "x", "starts_at": "10m", "duration": "45m"
        }));
        assert_eq!(
            schedule(&later, now).unwrap(),
            (at("2026-12-02T09:10:00Z"), at("2026-12-02T09:55:00Z"))
        );
        let fixed = seed(serde_json::json!({
            "host_password": "x", "starts_at": "30m", "ends_at": "2026-12-02T09:20:00Z"
        }));
        let error = schedule(&fixed, now).unwrap_err();
        assert!(error.msg.contains("must come after the start"), "{error:?}");
    }

    #[test]
    fn starting_reopening_and_closing() {
        let mut m = meeting(serde_json::json!({"host_password": "x", "status": "scheduled"}));
        assert_eq!(m.check_running(), Err(ApiError::not_started()));
        let now = at("2026-12-02T09:30:00Z");
        assert_eq!(m.start(now), Ok(Start::Started));
        assert_eq!(m.start(now), Ok(Start::AlreadyRunning));
        assert_eq!(m.check_running(), Ok(()));
        m.stop();
        assert_eq!(m.check_running(), Err(ApiError::meeting_ended()));
        assert_eq!(m.start(now), Ok(Start::Reopened));
        assert_eq!(m.session, 1);
        m.stop();
        assert_eq!(
            m.start(at("2026-12-02T11:00:00Z")),
            Err(ApiError::meeting_ended()),
            "closed at its scheduled end"
        );
    }

    #[test]
    fn the_scheduled_end_prolongs_while_someone_is_online() {
        let mut m = meeting(serde_json::json!({"host_password": "x"}));
        let mut ids = Ids::new(0);
        let alice: ParticipantSeed =
            serde_json::from_value(serde_json::json!({"name": "Alice", "role": "host"})).unwrap();
        m.add(&alice, &mut ids).unwrap();
        m.reach_end(at("2026-12-02T11:20:00Z"), false);
        assert_eq!(m.state, ConfState::Created);
        assert_eq!(m.ends_at, at("2026-12-02T11:30:00Z"));
        m.reach_end(at("2026-12-02T11:45:00Z"), true);
        assert_eq!(
            m.ends_at,
            at("2026-12-02T11:45:00Z"),
            "stops short of what comes next"
        );
        m.auto_prolong = false;
        m.reach_end(at("2026-12-02T11:45:00Z"), false);
        assert_eq!(m.state, ConfState::Destroyed);

        let mut empty = meeting(serde_json::json!({"host_password": "x"}));
        empty.reach_end(at("2026-12-02T11:00:00Z"), false);
        assert_eq!(empty.state, ConfState::Destroyed, "nobody online: it ends");
    }
}
