//! The JSON bodies of the real service, field for field: the request body of each call
//! of [`Api`](super::Api), with its 0/1 integer flags, and the answers of the token,
//! real-time-info and login calls. The client serializes these and the emulator parses
//! the same types, so a field cannot be spelt two ways. Request bodies reject unknown
//! fields, so a misspelt field fails in rehearsal rather than being ignored in the real
//! meeting; answers tolerate what the client does not read.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// An integer that must be 0 or 1, as the API encodes most booleans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FlagVisitor;
        impl Visitor<'_> for FlagVisitor {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the integer 0 or 1")
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Flag, E> {
                match value {
                    0 => Ok(Flag(false)),
                    1 => Ok(Flag(true)),
                    other => Err(E::invalid_value(de::Unexpected::Unsigned(other), &self)),
                }
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Flag, E> {
                match u64::try_from(value) {
                    Ok(value) => self.visit_u64(value),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Signed(value), &self)),
                }
            }
        }
        deserializer.deserialize_u64(FlagVisitor)
    }
}

impl Serialize for Flag {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(u8::from(self.0))
    }
}

impl From<bool> for Flag {
    fn from(value: bool) -> Flag {
        Flag(value)
    }
}

/// `PUT …/participants/hands?participantID=`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct HandsBody {
    pub hands_state: Flag,
}

/// `PUT …/participants/batch/hands`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct BatchHandsBody {
    pub hands_state: Flag,
    pub pids: Vec<String>,
}

/// `PUT …/participants/mute?participantID=`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct MuteBody {
    pub is_mute: Flag,
}

/// `PUT …/mute`: the whole meeting.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct MuteMeetingBody {
    pub is_mute: Flag,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_unmute_by_oneself: Option<Flag>,
}

/// `PUT …/mute/guestUnMute`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct GuestUnmuteBody {
    pub allow_unmute_by_oneself: Flag,
}

/// `PUT …/participants/role?participantID=`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SetRoleBody {
    pub apply_chair: Flag,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chairman_pwd: Option<String>,
}

/// `PUT …/participants/cohost?participantID=`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct CohostBody {
    pub is_cohost: Flag,
}

/// `PUT …/lock`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct LockBody {
    pub is_lock: Flag,
}

/// `PUT …/record`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RecordBody {
    pub is_record: Flag,
}

/// `PUT …/live`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct LiveBody {
    pub is_live: Flag,
}

/// `POST …/participants/delete`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct HangUpBody {
    pub bulk_hang_up_participants: Vec<String>,
}

/// `POST …/participants`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct InviteBody {
    pub attendees: Vec<AttendeeBody>,
}

/// The `Attendee` object of the invite call. Every field is parsed so that a wrong
/// shape is refused, but the emulator keeps only what `realTimeInfo` shows.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AttendeeBody {
    pub name: String,
    pub phone: String,
    #[serde(rename = "type")]
    pub kind: AttendeeType,
    #[serde(rename = "userUUID", skip_serializing_if = "Option::is_none")]
    pub user_uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Flag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms: Option<String>,
    #[serde(rename = "deptUUID", skip_serializing_if = "Option::is_none")]
    pub dept_uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dept_name: Option<String>,
}

impl AttendeeBody {
    /// Someone to call in by name and number, the other fields left out.
    pub(crate) fn new(name: String, phone: String, kind: AttendeeType) -> AttendeeBody {
        AttendeeBody {
            name,
            phone,
            kind,
            user_uuid: None,
            account_id: None,
            role: None,
            phone2: None,
            phone3: None,
            email: None,
            sms: None,
            dept_uuid: None,
            dept_name: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AttendeeType {
    Normal,
    Terminal,
    Outside,
    Mobile,
    Ideahub,
    Board,
}

/// `PUT …/participants/name`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RenameBody {
    #[serde(rename = "participantID", skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<String>,
    pub number: String,
    pub new_name: String,
}

/// `PUT …/duration`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct DurationBody {
    pub auto: Flag,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
}

/// `PUT …/allowWaitingParticipant`: one person, by the pid the feed's
/// `WaitingListNotify` gave, or everyone waiting. `allowAll` is a JSON boolean here,
/// not a 0/1 flag.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AllowWaitingBody {
    #[serde(rename = "participantID", skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_all: Option<bool>,
}

/// `PUT …/moveToWaitingRoom`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MoveToWaitingRoomBody {
    #[serde(rename = "participantID")]
    pub participant_id: String,
}

/// `PUT …/batchMoveToWaitingRoom`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct BatchMoveToWaitingRoomBody {
    pub batch_participants: Vec<String>,
}

/// The body the official SDKs send to the account-login call. Unknown fields are
/// tolerated here: SDK versions add optional login fields over time.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccountLoginBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// 72 for an API client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_type: Option<u8>,
}

/// What emcee reads of the account login's answer: only the access token, so that
/// fields the service adds or leaves out do not matter.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccessTokenAnswer {
    pub access_token: String,
}

/// The answer of `GET …/token`. Only the token is required of it: the lifetimes are
/// optional, and the rest is what the service adds.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenResponse {
    pub data: TokenData,
    #[serde(default)]
    pub address_token: String,
    /// Misspelt exactly as the real service spells it.
    #[serde(rename = "gloablPublicIP", default)]
    pub gloabl_public_ip: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenData {
    pub token: String,
    #[serde(default)]
    pub tmp_ws_token: String,
    #[serde(rename = "wsURL", default)]
    pub ws_url: String,
    #[serde(default)]
    pub role: u8,
    /// Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_time: Option<i64>,
    #[serde(rename = "userID", default)]
    pub user_id: String,
    #[serde(rename = "orgID", default)]
    pub org_id: String,
    #[serde(rename = "participantID", default)]
    pub participant_id: String,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conf_token_expire_time: Option<i64>,
    #[serde(rename = "vmrCurrentConfID", default)]
    pub vmr_current_conf_id: String,
    #[serde(default)]
    pub support_notify_type: Vec<String>,
}

/// The answer of `GET …/wsToken`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WsTokenResponse {
    pub web_socket_token: String,
}

/// The answer of `GET …/realTimeInfo`: who is invited, who is online, and the roles.
/// Everything but a participant's id may be missing from the service's answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RealTimeInfo {
    #[serde(default)]
    pub attendees: Vec<RealTimeAttendee>,
    #[serde(default)]
    pub participants: Vec<RealTimeParticipant>,
    #[serde(default)]
    pub conf_info: ConfInfo,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RealTimeAttendee {
    #[serde(rename = "accountID", default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(rename = "userUUID", default, skip_serializing_if = "Option::is_none")]
    pub user_uuid: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
}

/// One online participant; every flag is an integer, as the real service sends it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RealTimeParticipant {
    pub pid: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub state: u8,
    #[serde(default)]
    pub video: u8,
    #[serde(default)]
    pub mute: u8,
    #[serde(default)]
    pub hand: u8,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfInfo {
    #[serde(rename = "chairID", default, skip_serializing_if = "Option::is_none")]
    pub chair_id: Option<String>,
    #[serde(default)]
    pub co_hosts: Vec<String>,
}

/// The answer of `POST /v1/usg/acs/auth/account`, named as the SDK's
/// `CheckTokenResponse` names it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccountLoginResponse {
    pub access_token: String,
    /// Seconds.
    pub valid_period: i64,
    /// Unix seconds.
    pub expire_time: i64,
    /// Unix milliseconds.
    pub create_time: i64,
    pub client_type: u8,
    pub token_type: u8,
    pub user: AccountUser,
}

/// The SDK's `UserInfo`, the fields the emulator fills.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccountUser {
    pub user_id: String,
    pub name: String,
    pub company_id: String,
}

/// `POST /v1/mmc/management/conferences/start`: the SDK's `StartRequest`. The password
/// is the host's, or the guest's where guests may start the meeting.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartMeetingBody {
    #[serde(rename = "conferenceID")]
    pub conference_id: String,
    pub password: String,
}

/// The answer of `StartMeeting`: `uuid` (deprecated) and the meeting's region address.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StartMeetingResponse {
    #[serde(default)]
    pub uuid: String,
    #[serde(rename = "regionIP", default)]
    pub region_ip: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_serialize_as_the_service_spells_them() {
        let text = |value: &dyn erased::Body| value.json();
        assert_eq!(
            text(&MuteMeetingBody {
                is_mute: Flag(true),
                allow_unmute_by_oneself: Some(Flag(false)),
            }),
            r#"{"isMute":1,"allowUnmuteByOneself":0}"#
        );
        assert_eq!(
            text(&MuteMeetingBody {
                is_mute: Flag(false),
                allow_unmute_by_oneself: None,
            }),
            r#"{"isMute":0}"#
        );
        assert_eq!(
            text(&DurationBody {
                auto: Flag(false),
                duration: Some(30),
            }),
            r#"{"auto":0,"duration":30}"#
        );
        assert_eq!(
            text(&InviteBody {
                attendees: vec![AttendeeBody::new(
                    "Dan".into(),
                    "+86".into(),
                    AttendeeType::Normal
                )],
            }),
            r#"{"attendees":[{"name":"Dan","phone":"+86","type":"normal"}]}"#
        );
        assert_eq!(
            text(&RenameBody {
                participant_id: Some("p1".into()),
                number: "+86".into(),
                new_name: "B".into(),
            }),
            r#"{"participantID":"p1","number":"+86","newName":"B"}"#
        );
        assert_eq!(
            text(&AllowWaitingBody {
                participant_id: None,
                allow_all: Some(true),
            }),
            r#"{"allowAll":true}"#
        );
        assert_eq!(
            text(&AllowWaitingBody {
                participant_id: Some("p1".into()),
                allow_all: None,
            }),
            r#"{"participantID":"p1"}"#
        );
        assert_eq!(
            text(&MoveToWaitingRoomBody {
                participant_id: "p1".into(),
            }),
            r#"{"participantID":"p1"}"#
        );
        assert_eq!(
            text(&BatchMoveToWaitingRoomBody {
                batch_participants: vec!["p1".into(), "p2".into()],
            }),
            r#"{"batchParticipants":["p1","p2"]}"#
        );
    }

    #[test]
    fn answers_need_only_what_the_client_reads() {
        let token: TokenResponse =
            serde_json::from_str(r#"{"data":{"token":"t","confTokenExpireTime":3600}}"#).unwrap();
        assert_eq!(token.data.token, "t");
        assert_eq!(token.data.conf_token_expire_time, Some(3600));
        assert_eq!(token.data.expire_time, None);
        let info: RealTimeInfo = serde_json::from_str(r#"{"participants":[{"pid":"1"}]}"#).unwrap();
        assert_eq!(info.participants[0].pid, "1");
        assert!(info.conf_info.chair_id.is_none());
    }

    /// Serialized text of any body, for the assertions above.
    mod erased {
        pub(super) trait Body {
            fn json(&self) -> String;
        }
        impl<T: serde::Serialize> Body for T {
            fn json(&self) -> String {
                serde_json::to_string(self).unwrap()
            }
        }
    }
}
