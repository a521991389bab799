//! The push feed's frames (`docs/api.md` §11): what a client sends over the meeting's
//! WebSocket (`Subscribe`, `HeartBeat`) and what the server pushes (the `*Notify`
//! messages), as the service spells them. Shared by the emulator, which writes them,
//! and any client, which reads them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `Subscribe`'s action name.
pub(crate) const SUBSCRIBE: &str = "Subscribe";
/// `HeartBeat`'s action name.
pub(crate) const HEART_BEAT: &str = "HeartBeat";

/// `returnCode` of a refused `Subscribe` (bad `confToken`, or another meeting).
pub(crate) const FORBIDDEN_SUBSCRIBE: u64 = 111_070_121;

/// The `pinfoMap` keys of `ParticipantsNotify` and `WaitingListNotify` that are read or
/// written here (`docs/api.md` §11): every value is a string, flags are `"1"`/`"0"`.
pub(crate) mod key {
    pub(crate) const NAME: &str = "NAME";
    pub(crate) const TEL: &str = "TEL";
    /// `"1"` host, `"0"` ordinary, `"2"` audience.
    pub(crate) const ROLE: &str = "ROLE";
    /// `"0"` in the meeting, `"1"` being called.
    pub(crate) const STATE: &str = "STATE";
    pub(crate) const HAND: &str = "HAND";
    pub(crate) const BROADCAST: &str = "BROADCAST";
    pub(crate) const ROLLCALL: &str = "ROLLCALL";
    pub(crate) const MUTE: &str = "MUTE";
    pub(crate) const VIDEO: &str = "VIDEO";
    pub(crate) const IS_COHOST: &str = "IS_COHOST";
    /// Waiting list only: `"0"` waiting, `"1"` admitted and joining.
    pub(crate) const WAITINGSTATE: &str = "WAITINGSTATE";
    /// A flag's value when on.
    pub(crate) const ON: &str = "1";
    /// `STATE` of someone in the meeting (not being called).
    pub(crate) const IN_MEETING: &str = "0";
    /// `ROLE` of the host.
    pub(crate) const HOST_ROLE: &str = "1";
    /// `WAITINGSTATE` of someone still waiting to be admitted.
    pub(crate) const WAITING: &str = "0";
}

/// `ConfDynamicInfoNotify`'s `state` once the meeting has ended.
pub(crate) const DESTROYED: &str = "Destroyed";

/// The message types the emulator models, in the order it sends their snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum NotifyType {
    ConfBasicInfo,
    ConfDynamicInfo,
    Participants,
    InviteResult,
    SpeakerChange,
    WaitingList,
}

impl NotifyType {
    pub(crate) const ALL: [NotifyType; 6] = [
        NotifyType::ConfBasicInfo,
        NotifyType::ConfDynamicInfo,
        NotifyType::Participants,
        NotifyType::InviteResult,
        NotifyType::SpeakerChange,
        NotifyType::WaitingList,
    ];

    pub(crate) fn action(self) -> &'static str {
        match self {
            NotifyType::ConfBasicInfo => "ConfBasicInfoNotify",
            NotifyType::ConfDynamicInfo => "ConfDynamicInfoNotify",
            NotifyType::Participants => "ParticipantsNotify",
            NotifyType::InviteResult => "InviteResultNotify",
            NotifyType::SpeakerChange => "SpeakerChangeNotify",
            NotifyType::WaitingList => "WaitingListNotify",
        }
    }

    /// The type with this name; `None` for names the emulator does not model.
    pub(crate) fn from_action(action: &str) -> Option<NotifyType> {
        NotifyType::ALL.into_iter().find(|t| t.action() == action)
    }
}

/// Any client frame: only `action` is read first, the rest by action.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ClientFrame {
    pub action: String,
    #[serde(default)]
    pub sequence: Option<String>,
    /// `Subscribe` puts a JSON *string* here.
    #[serde(default)]
    pub data: Option<serde_json::Value>,
}

/// What `Subscribe`'s `data` string holds.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubscribeData {
    #[serde(
        rename = "conferenceID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub conference_id: Option<String>,
    #[serde(default)]
    pub subscribe_type: Vec<String>,
    /// The control token, raw or `Basic base64(token)`.
    #[serde(default)]
    pub conf_token: Option<String>,
}

/// The answer to `Subscribe`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct SubscribeReply {
    pub action: String,
    pub sequence: String,
    pub data: ReturnData,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReturnData {
    pub return_code: u64,
    #[serde(default)]
    pub return_desc: String,
}

/// A pushed message: the envelope, with the type's fields beside it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Notify {
    pub action: &'static str,
    /// Full message: its creation time (ms); incremental: counts from 1.
    pub version: i64,
    pub create_time: i64,
    #[serde(rename = "msgID")]
    pub msg_id: String,
    /// 0 full, 1 incremental.
    pub msg_mode: u8,
    #[serde(rename = "confID")]
    pub conf_id: String,
    #[serde(flatten)]
    pub payload: Payload,
}

/// The per-type part of a pushed message. Status and basic info put their fields at
/// the top level; the list types under `data`; `SpeakerChangeNotify` has none here.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum Payload {
    Dynamic(DynamicInfo),
    Basic(BasicInfo),
    People { data: Vec<PersonChange> },
    Invites { data: Vec<InviteResult> },
    Nothing {},
}

/// One entry of `ParticipantsNotify` or `WaitingListNotify`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PersonChange {
    pub pid: String,
    /// 0 refresh (add or update), 1 delete.
    pub mode: u8,
    /// Only the keys that changed; all values strings.
    #[serde(default)]
    pub pinfo_map: BTreeMap<String, String>,
}

/// One entry of `InviteResultNotify`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InviteResult {
    pub call_number: String,
    /// The field table calls it `errorCode`; examples and clients `resultCode`.
    #[serde(alias = "errorCode")]
    pub result_code: String,
}

/// `ConfDynamicInfoNotify`: the whole status each time. A client reads it leniently:
/// fields the service leaves out take their defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct DynamicInfo {
    /// `Schedule`, `Created` or `Destroyed`.
    pub state: String,
    /// `FREE`, `ROLLCALL` or `BROADCAST`.
    pub mode: String,
    pub lock: u8,
    /// Mute on entry (mute-all).
    pub mute: u8,
    pub can_unmute: u8,
    pub lock_sharing: u8,
    pub rec_state: u8,
    pub vas: u8,
    pub chair_view: u8,
    pub forbidden_chat: u8,
    pub rec_occurred: u8,
    pub real_time_subtitle: u8,
    /// Milliseconds since the epoch, as a string.
    pub end_time: String,
    pub pic_num: u32,
    pub part_view_num: u32,
    pub max_part_view_num: u32,
    pub call_in_restriction: u8,
    pub waiting_room_state: u8,
    pub pause: bool,
}

/// `ConfBasicInfoNotify`, always full. `pwds` holds the passwords in clear (a client
/// takes them out before parsing). Read leniently, as the status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct BasicInfo {
    #[serde(rename = "displayID")]
    pub display_id: String,
    pub title: String,
    /// Milliseconds since the epoch, as a string.
    pub start_time: String,
    pub scheduled_start_time: String,
    pub pwds: Vec<Password>,
    pub rec_type: u8,
    pub media: u8,
    pub owner: String,
    #[serde(rename = "ownerID")]
    pub owner_id: String,
    pub user_type: u8,
    pub guest_join_uri: String,
    pub call_in_restriction: u8,
    pub conf_mode: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct Password {
    /// `chair` or `general`.
    pub role: String,
    pub pwd: String,
}
