//! The meeting vocabulary and the API contract, at the ground of the crate: what a
//! meeting, a participant and a role are, and every call of the meeting-control API
//! with its method, path, typed body and answer. The client (`mmc`), the emulator
//! (`sim`), the playbook and the plan all speak these types; this module imports
//! nothing of emcee above the duration type.

pub(crate) mod api;
pub(crate) mod feed;
pub(crate) mod path;
pub(crate) mod roster;
pub(crate) mod rules;
pub(crate) mod seed;
pub(crate) mod seed_time;
pub(crate) mod wire;

pub(crate) use api::{Api, Method};
pub(crate) use path::ApiPath;
pub(crate) use roster::{Participant, Roster};
pub(crate) use rules::{HandRule, InviteOutcome, InviteeSeed, MeetingRules};
pub(crate) use seed::{
    AttendeeSeed, MAX_COHOSTS, MeetingId, MeetingSeed, MeetingStatus, ParticipantSeed,
    ParticipantState, Role, validate_name,
};
