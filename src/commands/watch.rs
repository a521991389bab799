//! `emcee watch PLAYBOOK` or `emcee watch --meeting ID`: the meeting's changes as they
//! happen, from its push feed, one line (or JSON object) per change, until Ctrl-C, the
//! meeting's end (exit 0) or the feed closing (exit 1; no reconnect). Read only: the
//! token call, a look at the meeting, the socket token, the feed.

mod events;

use crate::error::{Error, ExitCode};
use crate::secrets::Secrets;
use crate::session::live::Look;

pub(crate) use super::status::{StatusFormat as WatchFormat, Which};
use super::status::{StatusOptions, looker, print};
use events::{Event, Tracker};

/// `emcee watch`, as plain options.
#[derive(Debug, Clone)]
pub(crate) struct WatchOptions {
    pub which: Which,
    pub endpoint: Option<String>,
    pub allow_insecure_http: bool,
    pub format: WatchFormat,
    /// Stop after this many events.
    pub count: Option<u32>,
}

pub(crate) async fn run(options: WatchOptions) -> Result<ExitCode, Error> {
    let secrets = Secrets::new(false);
    let (id, looker) = looker(
        &options.which,
        options.endpoint.as_deref(),
        options.allow_insecure_http,
        &secrets,
    )?;
    let look = looker.look().await?;
    if !matches!(look, Look::Running(_)) {
        // Nothing to watch: say so as `status` does.
        let status = StatusOptions {
            which: options.which.clone(),
            endpoint: None,
            allow_insecure_http: false,
            format: options.format,
            watch: None,
            count: None,
        };
        print(&status, &id, &look, &secrets, false)?;
        return Ok(ExitCode::Success);
    }
    let mut feed = looker.open_feed().await?;
    let mut tracker = Tracker::default();
    let mut shown: u32 = 0;
    let result = follow(&options, &id, &secrets, &mut feed, &mut tracker, &mut shown).await;
    if feed.skipped > 0 {
        tracing::warn!(
            "{} push frame(s) were malformed or of an unknown type and skipped",
            feed.skipped
        );
    }
    result
}

/// Shows the feed's changes until the end, Ctrl-C or `--count`.
async fn follow(
    options: &WatchOptions,
    id: &str,
    secrets: &Secrets,
    feed: &mut crate::mmc::feed::Feed,
    tracker: &mut Tracker,
    shown: &mut u32,
) -> Result<ExitCode, Error> {
    let mut signals = crate::signals::Signals::new()?;
    let show = |text: String| {
        let text = crate::printable::printable_lines(&secrets.redact(&text));
        crate::output::print_out(&text)
    };
    loop {
        if options.count.is_some_and(|n| *shown >= n) {
            return Ok(ExitCode::Success);
        }
        let frame = tokio::select! {
            _ = signals.recv() => return Ok(ExitCode::Success),
            frame = feed.next() => frame,
        };
        let frame = match frame {
            Ok(frame) => frame,
            Err(closed) => {
                let why = match closed {
                    crate::mmc::feed::Closed::ByServer(reason) if reason.is_empty() => {
                        "the service closed the feed".to_owned()
                    }
                    crate::mmc::feed::Closed::ByServer(reason) => {
                        format!("the service closed the feed: {reason}")
                    }
                    crate::mmc::feed::Closed::Broken(why) => format!("the feed broke: {why}"),
                };
                return Err(Error::Failed(
                    secrets.redact(&format!("meeting {id}: {why}")),
                ));
            }
        };
        let was_started = tracker.started;
        let at = frame.at.unwrap_or_else(jiff::Timestamp::now);
        let events = tracker.apply(frame, at);
        if !was_started && tracker.started {
            match options.format {
                WatchFormat::Human => show(summary(id, tracker))?,
                WatchFormat::Json => show(line(secrets, &tracker.snapshot(at)))?,
            }
        }
        for event in events {
            let ended = event.event == "ended";
            match options.format {
                WatchFormat::Human => show(event.human() + "\n")?,
                WatchFormat::Json => show(line(secrets, &event))?,
            }
            *shown += 1;
            if ended {
                return Ok(ExitCode::Success);
            }
            if options.count.is_some_and(|n| *shown >= n) {
                break;
            }
        }
    }
}

/// One event as a JSON line; names escaped as in the human lines.
fn line(secrets: &Secrets, event: &Event) -> String {
    let mut event = event.clone();
    let shown = |n: String| crate::printable::printable(&n).into_owned();
    event.name = event.name.map(shown);
    event.present = event
        .present
        .map(|names| names.into_iter().map(shown).collect());
    secrets.to_json(&event, false) + "\n"
}

/// The block shown once the snapshot is in: the meeting and who is there.
fn summary(id: &str, tracker: &Tracker) -> String {
    let title = tracker
        .basic
        .as_ref()
        .map(|b| b.title.as_str())
        .unwrap_or("");
    let mut text = format!("meeting {id} {}\n", crate::printable::printable(title));
    if let Some(dynamic) = &tracker.dynamic {
        let mut flags = Vec::new();
        if dynamic.lock == 1 {
            flags.push("locked");
        }
        if dynamic.rec_state == 1 {
            flags.push("recording");
        }
        if dynamic.mute == 1 {
            flags.push("muted on entry");
        }
        if !flags.is_empty() {
            text += &format!("  {}\n", flags.join(", "));
        }
    }
    let here: Vec<_> = tracker
        .participants
        .values()
        .filter(|k| k.get("STATE").map(String::as_str) == Some("0"))
        .collect();
    text += &format!("  {} in the meeting\n", here.len());
    for keys in here {
        let get = |k: &str| keys.get(k).map(String::as_str).unwrap_or("");
        let mut marks = Vec::new();
        if get("ROLE") == "1" {
            marks.push("host");
        }
        if get("IS_COHOST") == "1" {
            marks.push("co-host");
        }
        if get("HAND") == "1" {
            marks.push("hand raised");
        }
        if get("MUTE") == "1" {
            marks.push("muted");
        }
        let marks = if marks.is_empty() {
            String::new()
        } else {
            format!(" ({})", marks.join(", "))
        };
        text += &format!("    {}{marks}\n", crate::printable::printable(get("NAME")));
    }
    text
}
