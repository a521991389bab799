//! `--sim`: the built-in emulator, seeded with the playbook's rehearsal meeting under
//! the playbook's own id and credentials; after the run, its request log and the
//! meeting as it ended, for people to compare with what they meant.

use std::path::Path;
use std::sync::Arc;

use secrecy::ExposeSecret;
use serde::Deserialize;

use super::listeners::{DisplayOptions, LogFormat};
use super::prepare::Meeting;
use crate::clock::SharedClock;
use crate::error::Error;
use crate::meeting::{MeetingId, MeetingSeed};
use crate::mmc::Credentials;
use crate::playbook::PlaybookDoc;
use crate::secrets::Secrets;
use crate::sim::{self, MeetingView, Seed, SimHandle};

/// The host password of a rehearsal whose playbook brings a token instead: the
/// emulator's meeting needs one, and nobody logs in with it.
const TOKEN_REHEARSAL_PASSWORD: &str = "rehearsal-host-password";

/// The meeting a rehearsal starts with: the playbook's `rehearsal:`, or without one the
/// meeting that section describes when it gives only `subject:` (the playbook's name),
/// so that a rehearsal meeting's defaults are written once, in its seed type. Its id
/// and host password are the playbook's meeting's.
pub(super) fn meeting_seed(doc: &PlaybookDoc, meeting: &Meeting) -> Result<MeetingSeed, Error> {
    let mut seed = match &doc.rehearsal {
        Some(rehearsal) => rehearsal.value.clone(),
        None => MeetingSeed::deserialize(serde_json::json!({ "subject": doc.name.value }))
            .map_err(|e| Error::Failed(format!("cannot seed the rehearsal meeting: {e}")))?,
    };
    seed.id = Some(MeetingId(meeting.id.clone()));
    seed.host_password = Some(match &meeting.credentials {
        Credentials::Password(password) => password.expose_secret().to_owned(),
        Credentials::Token(_) => TOKEN_REHEARSAL_PASSWORD.to_owned(),
    });
    Ok(seed)
}

/// Starts the emulator on `clock` with the rehearsal meeting, accepting the playbook's
/// token when it brings one.
pub(super) async fn start(
    doc: &PlaybookDoc,
    meeting: &Meeting,
    clock: &SharedClock,
) -> Result<SimHandle, Error> {
    // The account that starts the meeting (`not_started: start`) is one the emulator
    // knows, as the service knows it.
    let accounts = meeting
        .account
        .iter()
        .map(|account| sim::AccountSeed {
            account: account.name.expose_secret().to_owned(),
            password: account.password.expose_secret().to_owned(),
        })
        .collect();
    let seed = Seed {
        meetings: vec![meeting_seed(doc, meeting)?],
        accounts,
        ..Seed::default()
    };
    let handle = sim::start_with(
        seed,
        sim::SimOptions {
            clock: Arc::clone(clock),
            ..Default::default()
        },
    )
    .await?;
    if let Credentials::Token(token) = &meeting.credentials {
        handle.grant_token(&meeting.id, token.expose_secret());
    }
    Ok(handle)
}

/// After the run: the request log to `requests` when asked for, the meeting's final
/// state on standard output unless quiet; then the emulator stops.
pub(super) async fn finish(
    handle: SimHandle,
    meeting_id: &str,
    requests: Option<&Path>,
    display: &DisplayOptions,
    secrets: &Secrets,
) -> Result<(), Error> {
    if let Some(path) = requests {
        let mut log = serde_json::to_value(handle.requests()).unwrap_or_default();
        crate::determinism::varying_instants(&mut log, &["received"]);
        let text = secrets.to_json(&log, true);
        crate::report::atomic::write(path, &(text + "\n"))
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    }
    if let Some(meeting) = handle.meeting(meeting_id).filter(|_| !display.quiet) {
        let text = match display.log_format {
            // JSON lines stay JSON lines: the final state is one more object.
            LogFormat::Json => {
                let mut event =
                    serde_json::json!({"event": "rehearsal_finished", "meeting": meeting});
                crate::determinism::varying_instants(&mut event, &["starts_at", "ends_at"]);
                secrets.to_json(&event, false) + "\n"
            }
            LogFormat::Text => {
                crate::printable::printable_lines(&secrets.redact(&final_state(&meeting)))
            }
        };
        // The terminal may be gone (a hangup stopped the run): the run's own exit
        // code, not a failed summary, is what it ends with.
        if let Err(error) = crate::output::print_out(&text) {
            tracing::debug!("the rehearsal's summary: {error}");
        }
    }
    handle.stop().await;
    Ok(())
}

/// A participant's name as the summary prints it: whatever they called themselves,
/// one line of it, so that no name can make a line of its own.
fn shown(name: &str) -> String {
    crate::printable::printable(name).into_owned()
}

/// The rehearsal meeting at the end, for people to compare with what they meant.
fn final_state(meeting: &MeetingView) -> String {
    let name = |pid: &Option<String>| {
        pid.as_ref()
            .and_then(|pid| meeting.participants.iter().find(|p| &p.pid == pid))
            .map_or("nobody".to_owned(), |p| shown(&p.name))
    };
    let list = |pick: &dyn Fn(&sim::ParticipantView) -> bool| {
        let names: Vec<String> = meeting
            .participants
            .iter()
            .filter(|p| pick(p))
            .map(|p| shown(&p.name))
            .collect();
        if names.is_empty() {
            "nobody".to_owned()
        } else {
            names.join(", ")
        }
    };
    let yes = |b: bool| if b { "yes" } else { "no" };
    format!(
        "\nRehearsal meeting {} at the end ({}):\n  host: {}\n  broadcast: {}\n  roll call: {}\n  hands up: {}\n  muted: {}\n  locked: {}, recording: {}, live: {}, everyone muted: {}\n  online: {}\n",
        meeting.id,
        match meeting.state {
            sim::ConfState::Schedule => "not started",
            sim::ConfState::Created => "in progress",
            sim::ConfState::Destroyed => "ended",
        },
        name(&meeting.host),
        name(&meeting.broadcast),
        name(&meeting.roll_call),
        list(&|p| p.hand),
        list(&|p| p.mute),
        yes(meeting.locked),
        yes(meeting.recording),
        yes(meeting.live),
        yes(meeting.mute_all),
        meeting.participants.len(),
    )
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::playbook::Playbook;
    use crate::source::SourceFile;

    fn doc(text: &str) -> PlaybookDoc {
        Playbook::parse(SourceFile::new("p.yaml", text))
            .unwrap()
            .doc
    }

    fn meeting(credentials: Credentials) -> Meeting {
        Meeting {
            id: "914044873".into(),
            credentials,
            account: None,
        }
    }

    #[test]
    fn without_a_rehearsal_section_the_meeting_is_the_sections_defaults() {
        let doc = doc("name: Town hall\nmeeting: { id: \"914044873\", token: t }\nsteps: []\n");
        let seed = meeting_seed(
            &doc,
            &meeting(Credentials::Password(SecretString::from("pw-123456"))),
        )
        .unwrap();
        assert_eq!(seed.subject, "Town hall");
        assert_eq!(seed.id, Some(MeetingId("914044873".into())));
        assert_eq!(seed.host_password.as_deref(), Some("pw-123456"));
        assert!(seed.participants.is_empty() && seed.attendees.is_empty());
        assert!(!seed.locked && !seed.recording && !seed.live && !seed.mute_all);
        assert!(seed.allow_self_unmute, "people may unmute themselves");
        assert!(seed.guest_password.is_none() && seed.duration.is_none());
    }

    #[test]
    fn the_rehearsal_section_is_kept_under_the_playbooks_id_and_password() {
        let doc = doc(
            "name: p\nmeeting: { id: \"914044873\", token: t }\nsteps: []\nrehearsal:\n  id: \"111111111\"\n  subject: Dress rehearsal\n  locked: true\n",
        );
        let seed = meeting_seed(
            &doc,
            &meeting(Credentials::Token(SecretString::from("tok-123456"))),
        )
        .unwrap();
        assert_eq!(seed.subject, "Dress rehearsal");
        assert!(seed.locked);
        assert_eq!(seed.id, Some(MeetingId("914044873".into())));
        assert_eq!(
            seed.host_password.as_deref(),
            Some(TOKEN_REHEARSAL_PASSWORD)
        );
    }
}
