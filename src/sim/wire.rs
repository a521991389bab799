//! The JSON bodies of the real service, field for field: request bodies with their
//! 0/1 integer flags, and the response shapes of the token and real-time-info calls.
//! Request bodies reject unknown fields, so a misspelt field fails in rehearsal
//! rather than being ignored in the real meeting.

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// An integer that must be 0 or 1, as the API encodes most booleans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

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

/// Parses a JSON body, naming the offending field in the message.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("request body is required".into());
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." || path == "?" {
            format!("invalid body: {inner}")
        } else {
            format!("invalid parameter {path}: {inner}")
        }
    })?;
    deserializer
        .end()
        .map_err(|error| format!("invalid body: {error}"))?;
    Ok(value)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HandsBody {
    pub hands_state: Flag,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BatchHandsBody {
    pub hands_state: Flag,
    pub pids: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MuteBody {
    pub is_mute: Flag,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MuteMeetingBody {
    pub is_mute: Flag,
    pub allow_unmute_by_oneself: Option<Flag>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GuestUnmuteBody {
    pub allow_unmute_by_oneself: Flag,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SetRoleBody {
    pub apply_chair: Flag,
    pub chairman_pwd: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CohostBody {
    pub is_cohost: Flag,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LockBody {
    pub is_lock: Flag,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RecordBody {
    pub is_record: Flag,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LiveBody {
    pub is_live: Flag,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HangUpBody {
    pub bulk_hang_up_participants: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InviteBody {
    pub attendees: Vec<AttendeeBody>,
}

/// The `Attendee` object of the invite call. Every field is parsed so that a wrong
/// shape is refused, but the emulator keeps only what `realTimeInfo` shows.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AttendeeBody {
    pub name: String,
    pub phone: String,
    #[serde(rename = "type")]
    pub kind: AttendeeType,
    #[serde(rename = "userUUID")]
    pub user_uuid: Option<String>,
    pub account_id: Option<String>,
    pub role: Option<Flag>,
    pub phone2: Option<String>,
    pub phone3: Option<String>,
    pub email: Option<String>,
    pub sms: Option<String>,
    #[serde(rename = "deptUUID")]
    pub dept_uuid: Option<String>,
    pub dept_name: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttendeeType {
    Normal,
    Terminal,
    Outside,
    Mobile,
    Ideahub,
    Board,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RenameBody {
    #[serde(rename = "participantID")]
    pub participant_id: Option<String>,
    pub number: String,
    pub new_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DurationBody {
    pub auto: Flag,
    pub duration: Option<i64>,
}

/// The body the official SDKs send to the account-login call. Unknown fields are
/// tolerated here: SDK versions add optional login fields over time.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountLoginBody {
    pub account: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub data: TokenData,
    pub address_token: String,
    /// Misspelt exactly as the real service spells it.
    #[serde(rename = "gloablPublicIP")]
    pub gloabl_public_ip: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenData {
    pub token: String,
    pub tmp_ws_token: String,
    #[serde(rename = "wsURL")]
    pub ws_url: String,
    pub role: u8,
    /// Unix milliseconds.
    pub expire_time: i64,
    #[serde(rename = "userID")]
    pub user_id: String,
    #[serde(rename = "orgID")]
    pub org_id: String,
    #[serde(rename = "participantID")]
    pub participant_id: String,
    /// Seconds.
    pub conf_token_expire_time: i64,
    #[serde(rename = "vmrCurrentConfID")]
    pub vmr_current_conf_id: String,
    pub support_notify_type: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WsTokenResponse {
    pub web_socket_token: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RealTimeInfo {
    pub attendees: Vec<RealTimeAttendee>,
    pub participants: Vec<RealTimeParticipant>,
    pub conf_info: ConfInfo,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RealTimeAttendee {
    #[serde(rename = "accountID", skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(rename = "userUUID", skip_serializing_if = "Option::is_none")]
    pub user_uuid: Option<String>,
    pub name: String,
    pub phone: String,
}

/// One online participant; every flag is an integer, as the real service sends it.
#[derive(Debug, Serialize)]
pub struct RealTimeParticipant {
    pub pid: String,
    pub name: String,
    pub phone: String,
    pub state: u8,
    pub video: u8,
    pub mute: u8,
    pub hand: u8,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfInfo {
    #[serde(rename = "chairID", skip_serializing_if = "Option::is_none")]
    pub chair_id: Option<String>,
    pub co_hosts: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountLoginResponse {
    pub access_token: String,
    /// Seconds.
    pub valid_period: i64,
    /// Unix milliseconds.
    pub expire_time: i64,
    /// Unix milliseconds.
    pub create_time: i64,
    pub token_type: u8,
    pub user: AccountUser,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountUser {
    pub user_id: String,
    pub user_name: String,
    pub corp_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_accept_only_zero_and_one() {
        assert_eq!(
            parse_body::<MuteBody>(br#"{"isMute":1}"#).unwrap().is_mute,
            Flag(true)
        );
        let error = parse_body::<MuteBody>(br#"{"isMute":2}"#).unwrap_err();
        assert!(error.starts_with("invalid parameter isMute:"), "{error}");
        assert!(
            parse_body::<MuteBody>(br#"{"isMute":true}"#)
                .unwrap_err()
                .contains("isMute")
        );
        assert!(parse_body::<MuteBody>(br#"{"isMute":"1"}"#).is_err());
        assert!(
            parse_body::<MuteBody>(br#"{"isMute":1,"x":0}"#)
                .unwrap_err()
                .contains("unknown field")
        );
        assert!(
            parse_body::<MuteBody>(b"{}")
                .unwrap_err()
                .contains("missing field `isMute`")
        );
        assert!(
            parse_body::<MuteBody>(b"")
                .unwrap_err()
                .contains("required")
        );
        assert!(parse_body::<MuteBody>(br#"{"isMute":1} x"#).is_err());
    }
}
