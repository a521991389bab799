//! The meeting vocabulary and the API contract, at the ground of the crate: what a
//! meeting, a participant and a role are, and every call of the meeting-control API
//! with its method, path, typed body and answer. The client (`mmc`), the emulator
//! (`sim`), the playbook and the plan all speak these types; this module imports
//! nothing of emcee above the duration type.

pub mod api;
pub mod path;
pub mod roster;
pub mod seed;
pub mod wire;

pub use api::{Api, Method};
pub use path::ApiPath;
pub use roster::{Participant, Roster};
pub use seed::{
    AttendeeSeed, Hand, MAX_COHOSTS, MAX_NAME_CHARS, MeetingId, MeetingSeed, MeetingStatus,
    ParticipantSeed, ParticipantState, Role, validate_name,
};
