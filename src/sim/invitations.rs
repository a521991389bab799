//! Invitations as the service plays them (`docs/api.md#rules`): the invite call answers
//! at once, each callee rings (`state` 1) and, after the delay set for their number,
//! answers (`state` 0) or fails — busy, rejected, no answer — and leaves the online
//! list. The outcome is settled when the emulator's clock reaches it; the latest result
//! per number is kept for the admin view and the event feed.

use jiff::Timestamp;

use super::api_error::ApiError;
use super::ids::Ids;
use super::meeting::{Attendee, Meeting};
use crate::duration::Duration;
use crate::meeting::wire::AttendeeBody;
use crate::meeting::{InviteOutcome, ParticipantSeed, ParticipantState, Role, validate_name};

/// A callee ringing, and what their number will do.
#[derive(Debug, Clone)]
pub(super) struct Ringing {
    pub pid: String,
    pub number: String,
    pub outcome: InviteOutcome,
    pub rings_for: Duration,
}

impl Ringing {
    /// When the outcome is due.
    pub(super) fn due(&self, now: Timestamp) -> Timestamp {
        now.checked_add(self.rings_for.signed())
            .unwrap_or(Timestamp::MAX)
    }
}

impl Meeting {
    /// Calls people in: each is put on the attendee list and rings in the online list
    /// (unless someone with that number already is online). Returns who rings.
    pub(super) fn invite(
        &mut self,
        attendees: &[AttendeeBody],
        ids: &mut Ids,
    ) -> Result<Vec<Ringing>, ApiError> {
        if attendees.is_empty() {
            return Err(ApiError::bad_request(
                "invalid parameter attendees: must not be empty",
            ));
        }
        for (index, attendee) in attendees.iter().enumerate() {
            validate_name(&attendee.name).map_err(|e| {
                ApiError::bad_request(format!("invalid parameter attendees[{index}].name: {e}"))
            })?;
            if attendee.phone.trim().is_empty() {
                return Err(ApiError::bad_request(format!(
                    "invalid parameter attendees[{index}].phone: must not be empty"
                )));
            }
        }
        let mut ringing = Vec::new();
        for attendee in attendees {
            if !self.attendees.iter().any(|a| a.phone == attendee.phone) {
                self.attendees.push(Attendee {
                    name: attendee.name.clone(),
                    phone: attendee.phone.clone(),
                    account_id: attendee.account_id.clone(),
                    user_uuid: attendee.user_uuid.clone(),
                });
            }
            if self
                .participants
                .values()
                .any(|p| p.phone == attendee.phone)
            {
                continue;
            }
            let wants_host = attendee.role.is_some_and(|r| r.0) && self.host.is_none();
            let spec = ParticipantSeed {
                name: attendee.name.clone(),
                phone: Some(attendee.phone.clone()),
                role: if wants_host { Role::Host } else { Role::Guest },
                hand: Default::default(),
                mute: false,
                video: false,
                state: ParticipantState::Calling,
                joins_after: None,
                leaves_after: None,
                raises_hand_after: None,
            };
            let pid = self.add(&spec, ids)?;
            let answer = self
                .invitees
                .get(&attendee.phone)
                .copied()
                .unwrap_or_default();
            ringing.push(Ringing {
                pid,
                number: attendee.phone.clone(),
                outcome: answer.outcome,
                rings_for: answer.rings_for(),
            });
        }
        Ok(ringing)
    }

    /// The call's outcome is due: the callee answers, or leaves the online list with the
    /// failure's code. A callee hung up while ringing has nothing left to settle.
    pub(super) fn settle(&mut self, call: &Ringing) {
        let still_ringing = self
            .participants
            .get(&call.pid)
            .is_some_and(|p| p.state == ParticipantState::Calling);
        if !still_ringing {
            return;
        }
        match call.outcome {
            InviteOutcome::Answers => {
                if let Some(participant) = self.participants.get_mut(&call.pid) {
                    participant.state = ParticipantState::InMeeting;
                }
            }
            _ => {
                let _ = self.leave(&call.pid);
            }
        }
        self.invite_results
            .insert(call.number.clone(), call.outcome.result_code().to_owned());
    }
}
