//! The words of a meeting's life, below the state that lives it: its states as the
//! service names them, what a start did, who waits for the start, and the schedule a
//! seed gives. [`super::lifecycle`] applies them to meetings and the emulator's state.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::api_error::ApiError;
use crate::meeting::{MeetingSeed, MeetingStatus, ParticipantSeed};

/// How long one automatic prolongation adds.
pub(super) const PROLONG_STEP: SignedDuration = SignedDuration::from_mins(15);
/// A meeting's scheduled length when the seed gives neither `ends_at` nor `duration`.
const DEFAULT_LENGTH: SignedDuration = SignedDuration::from_hours(2);

/// The meeting's state, named as the service's `conferenceState` and push feed name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfState {
    /// Scheduled, not held yet.
    Schedule,
    /// Being held.
    Created,
    /// Ended.
    Destroyed,
}

impl From<MeetingStatus> for ConfState {
    fn from(status: MeetingStatus) -> Self {
        match status {
            MeetingStatus::Scheduled => ConfState::Schedule,
            MeetingStatus::Active => ConfState::Created,
            MeetingStatus::Ended => ConfState::Destroyed,
        }
    }
}

/// What a start did to the meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// From `Schedule`: those waiting for the start join.
    Started,
    AlreadyRunning,
    /// Ended before its scheduled end, held again as a new session.
    Reopened,
}

/// A seeded participant of a scheduled meeting, who joins when it starts.
#[derive(Debug, Clone)]
pub(super) struct Waiting {
    pub meeting: String,
    pub who: u64,
    pub spec: ParticipantSeed,
}

/// The scheduled start and end of a seeded meeting, durations counting from `now`.
pub(super) fn schedule(
    seed: &MeetingSeed,
    now: Timestamp,
) -> Result<(Timestamp, Timestamp), ApiError> {
    let starts_at = seed.starts_at.map_or(now, |t| t.resolve(now));
    let ends_at = match seed.ends_at {
        Some(ends_at) => ends_at.resolve(now),
        None => starts_at
            .checked_add(seed.duration.map_or(DEFAULT_LENGTH, |d| d.signed()))
            .unwrap_or(Timestamp::MAX),
    };
    if ends_at <= starts_at {
        return Err(ApiError::sim_bad_request(format!(
            "the scheduled end ({ends_at}) must come after the start ({starts_at})"
        )));
    }
    Ok((starts_at, ends_at))
}
