//! The waiting room (`docs/api.md#emulator`): people who asked to join and wait to be
//! let in. They are not online — `realTimeInfo` does not list them, only the feed's
//! `WaitingListNotify` does — until the host admits them (`allowWaitingParticipant`),
//! and the host can send online participants back there (`moveToWaitingRoom`, one or a
//! batch). A pid keeps its value on the way in and out, so what the feed said about
//! someone stays true of the same person.

use super::api_error::ApiError;
use super::ids::Ids;
use super::meeting::{MAX_BATCH_PIDS, Meeting, Participant};
use crate::meeting::{ParticipantSeed, ParticipantState, Role};

impl Meeting {
    /// Puts someone in the waiting room: not online, seen only through the push feed.
    /// They wait as a guest who has done nothing yet (see `validate_waiting`).
    pub(super) fn add_waiting(
        &mut self,
        spec: &ParticipantSeed,
        ids: &mut Ids,
    ) -> Result<String, ApiError> {
        spec.validate_waiting().map_err(ApiError::sim_bad_request)?;
        let pid = ids.pid();
        let phone = spec.phone.clone().unwrap_or_else(|| ids.phone());
        let person = Participant {
            pid: pid.clone(),
            name: spec.name.clone(),
            phone,
            mute: spec.mute,
            hand: false,
            video: spec.video,
            state: ParticipantState::InMeeting,
        };
        self.waiting_room.insert(pid.clone(), person);
        Ok(pid)
    }

    /// `allowWaitingParticipant`: everyone waiting (`all`), or the one `pid`. Admitted
    /// people join the online list as guests, muted if everyone is; a lock does not
    /// keep out those the host lets in. Nobody waiting and `all`: nothing changes.
    pub(super) fn admit(&mut self, pid: Option<&str>, all: bool) -> Result<(), ApiError> {
        let admitted: Vec<String> = match (all, pid) {
            (true, _) => self.waiting_room.keys().cloned().collect(),
            (false, Some(pid)) if self.waiting_room.contains_key(pid) => vec![pid.to_owned()],
            (false, Some(_)) => return Err(ApiError::participant_not_found()),
            (false, None) => {
                return Err(ApiError::bad_request(
                    "invalid parameter participantID: required unless allowAll is true",
                ));
            }
        };
        for pid in admitted {
            if let Some(mut person) = self.waiting_room.shift_remove(&pid) {
                person.mute |= self.mute_all;
                person.hand = false;
                person.state = ParticipantState::InMeeting;
                self.participants.insert(pid, person);
            }
        }
        Ok(())
    }

    /// `moveToWaitingRoom` and its batch form: every pid must be online and none the
    /// host, or nothing changes. Whatever they held (broadcast, roll call, co-host
    /// role, a raised hand) stays behind, as when leaving. The host stays: refused as
    /// a bad value of the body's `field`, since the service documents no code for it.
    pub(super) fn move_to_waiting_room(
        &mut self,
        pids: &[String],
        field: &str,
    ) -> Result<(), ApiError> {
        if pids.is_empty() {
            return Err(ApiError::bad_request(format!(
                "invalid parameter {field}: must not be empty"
            )));
        }
        if pids.len() > MAX_BATCH_PIDS {
            return Err(ApiError::bad_request(format!(
                "invalid parameter {field}: at most {MAX_BATCH_PIDS} pids per call, got {}",
                pids.len()
            )));
        }
        self.all_online(pids)?;
        if pids.iter().any(|pid| self.role_of(pid) == Role::Host) {
            return Err(ApiError::bad_request(format!(
                "invalid parameter {field}: the host cannot be moved to the waiting room"
            )));
        }
        for pid in pids {
            let Some(mut person) = self.participants.get(pid).cloned() else {
                // A pid given twice has already moved.
                continue;
            };
            let _ = self.leave(pid);
            person.hand = false;
            person.state = ParticipantState::InMeeting;
            self.waiting_room.insert(pid.clone(), person);
        }
        Ok(())
    }
}
