//! Calls about the meeting as a whole: its settings (lock, recording, live, mute,
//! self-unmute, length), inviting people, ending it, and the raw `http` call.

use reqwest::Method;
use serde_json::json;

use super::{ActionResult, Performed, Room};
use crate::meeting::Api;
use crate::meeting::wire::{
    AttendeeBody, AttendeeType, DurationBody, GuestUnmuteBody, InviteBody, LiveBody, LockBody,
    MuteMeetingBody, RecordBody,
};
use crate::mmc::Request;
use crate::playbook::action::{DeviceType, Extend, Http, HttpMethod, Invite, InviteWait};
use crate::run::step::StepFailure;

/// A change to a meeting-wide setting, whose detail line says what it now is.
async fn meeting_setting(room: &mut Room<'_>, request: Request, detail: &str) -> ActionResult {
    room.call(request).await?;
    Ok(Performed::said(json!({}), detail))
}

pub(super) async fn unmute_all(room: &mut Room<'_>) -> ActionResult {
    let body = MuteMeetingBody {
        is_mute: false.into(),
        allow_unmute_by_oneself: None,
    };
    let request = Request::call(Api::MuteMeeting, &body);
    meeting_setting(room, request, "everyone unmuted").await
}

pub(super) async fn allow_self_unmute(room: &mut Room<'_>, allow: bool) -> ActionResult {
    let body = GuestUnmuteBody {
        allow_unmute_by_oneself: allow.into(),
    };
    let detail = if allow {
        "self-unmute allowed"
    } else {
        "self-unmute not allowed"
    };
    meeting_setting(room, Request::call(Api::GuestUnmute, &body), detail).await
}

pub(super) async fn lock(room: &mut Room<'_>, lock: bool) -> ActionResult {
    let body = LockBody {
        is_lock: lock.into(),
    };
    let detail = if lock { "locked" } else { "unlocked" };
    meeting_setting(room, Request::call(Api::Lock, &body), detail).await
}

pub(super) async fn record(room: &mut Room<'_>, record: bool) -> ActionResult {
    let body = RecordBody {
        is_record: record.into(),
    };
    let detail = if record {
        "recording"
    } else {
        "recording stopped"
    };
    meeting_setting(room, Request::call(Api::Record, &body), detail).await
}

pub(super) async fn live(room: &mut Room<'_>, live: bool) -> ActionResult {
    let body = LiveBody {
        is_live: live.into(),
    };
    let detail = if live { "live" } else { "live stopped" };
    meeting_setting(room, Request::call(Api::Live, &body), detail).await
}

pub(super) async fn extend(room: &mut Room<'_>, extend: &Extend) -> ActionResult {
    let body = DurationBody {
        auto: extend.auto.into(),
        duration: (!extend.auto).then_some(i64::from(extend.minutes)),
    };
    let detail = if extend.auto {
        "automatic extension on".to_owned()
    } else {
        format!("extended by {} minutes", extend.minutes)
    };
    meeting_setting(room, Request::call(Api::Duration, &body), &detail).await
}

pub(super) async fn cancel_broadcast(room: &mut Room<'_>) -> ActionResult {
    room.call(Request::to(Api::CancelBroadcast)).await?;
    Ok(Performed::said(json!({}), "broadcast cancelled"))
}

pub(super) async fn end(room: &mut Room<'_>) -> ActionResult {
    room.call(Request::to(Api::Stop)).await?;
    Ok(Performed::said(json!({}), "meeting ended"))
}

pub(super) async fn invite(room: &mut Room<'_>, invite: &Invite) -> ActionResult {
    let attendees = invite
        .people
        .iter()
        .map(|p| AttendeeBody::new(p.name.clone(), p.phone.clone(), attendee_type(p.kind)))
        .collect();
    let names: Vec<&str> = invite.people.iter().map(|p| p.name.as_str()).collect();
    room.call(Request::call(Api::Invite, &InviteBody { attendees }))
        .await?;
    if invite.wait == Some(InviteWait::Answered) {
        return super::waits::answered(room, invite).await;
    }
    Ok(Performed::said(
        json!({"invited": names}),
        format!("invited {}", names.join(", ")),
    ))
}

/// The raw call: what the playbook writes is sent as it is, and an `expect`ed status
/// is checked.
pub(super) async fn http(room: &mut Room<'_>, http: Http) -> ActionResult {
    let method = match http.method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Post => Method::POST,
        HttpMethod::Delete => Method::DELETE,
    };
    let request = Request {
        method,
        path: http.path,
        query: http.query.into_iter().collect(),
        body: http.body,
    };
    let response = room.call(request).await?;
    if let Some(expected) = http.expect
        && response.status != expected
    {
        return Err(StepFailure::new(format!(
            "expected HTTP {expected}, got {}",
            response.status
        )));
    }
    Ok(Performed::said(
        json!({"status": response.status, "body": response.body}),
        format!("HTTP {}", response.status),
    ))
}

/// The invite call's type of what the playbook says is called.
fn attendee_type(kind: DeviceType) -> AttendeeType {
    match kind {
        DeviceType::Normal => AttendeeType::Normal,
        DeviceType::Terminal => AttendeeType::Terminal,
        DeviceType::Outside => AttendeeType::Outside,
        DeviceType::Mobile => AttendeeType::Mobile,
        DeviceType::Ideahub => AttendeeType::Ideahub,
        DeviceType::Board => AttendeeType::Board,
    }
}
