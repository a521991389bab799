//! `emcee watch PLAYBOOK` or `emcee watch --meeting ID`: the meeting's changes as they
//! happen, from its push feed, one line (or JSON object) per change, until Ctrl-C or
//! the meeting's end (exit 0). A feed lost is opened again (a line when it is lost,
//! one when it is back; what changed meanwhile is told as events). Read only: the
//! token call, a look at the meeting, a socket token per connection, the feed.

mod events;

use crate::error::{Error, ExitCode};
use crate::meeting::feed::key;
use crate::mmc::live::{Health, Live};
use crate::mmc::picture::{Keys, Picture, is_on, value};
use crate::secrets::Secrets;
use crate::session::live::Look;

pub(crate) use super::status::{StatusFormat as WatchFormat, Which};
use super::status::{StatusOptions, looker, print};
use events::{Event, Tracker, in_meeting};

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
        print(&status, &id, &look, None, &secrets, false)?;
        return Ok(ExitCode::Success);
    }
    let live = looker.live();
    // A feed that cannot be opened at all is the meeting out of reach; once it has
    // been open, losing it only means opening it again.
    live.opened(OPEN_WITHIN)
        .await
        .map_err(|why| Error::Unreachable(secrets.redact(&format!("meeting {id}: {why}"))))?;
    let result = follow(&options, &id, &secrets, &live).await;
    if live.skipped() > 0 {
        tracing::warn!(
            "{} push frame(s) were malformed or of an unknown type and skipped",
            live.skipped()
        );
    }
    result
}

/// How long the feed may take to open the first time.
const OPEN_WITHIN: std::time::Duration = std::time::Duration::from_secs(30);

/// Shows the meeting's changes until the end, Ctrl-C or `--count`, and the feed's
/// losses and returns, once per episode.
async fn follow(
    options: &WatchOptions,
    id: &str,
    secrets: &Secrets,
    live: &Live,
) -> Result<ExitCode, Error> {
    let mut signals = crate::signals::Signals::new()?;
    let show = |event: &Event| {
        let text = match options.format {
            WatchFormat::Human => event.human() + "\n",
            WatchFormat::Json => line(secrets, event),
        };
        let text = crate::printable::printable_lines(&secrets.redact(&text));
        crate::output::print_out(&text)
    };
    let mut changes = live.subscribe();
    let mut tracker = Tracker::default();
    let mut shown: u32 = 0;
    // The episode of the loss last told, until the feed is back.
    let mut told_down: Option<u32> = None;
    loop {
        let state = changes.borrow_and_update().clone();
        let now = jiff::Timestamp::now();
        match &state.health {
            Health::Connecting => {}
            Health::Down { why, episode } => {
                if told_down != Some(*episode) {
                    show(&Event::feed_down(now, why))?;
                    told_down = Some(*episode);
                }
            }
            Health::Up => {
                if told_down.take().is_some() {
                    show(&Event::feed_up(now))?;
                }
                let first = !tracker.started();
                let events = tracker.update(&state.picture, now);
                if first {
                    match options.format {
                        WatchFormat::Human => {
                            let text = summary(id, &state.picture);
                            crate::output::print_out(&crate::printable::printable_lines(
                                &secrets.redact(&text),
                            ))?;
                        }
                        WatchFormat::Json => show(&Tracker::snapshot(&state.picture, now))?,
                    }
                }
                for event in events {
                    show(&event)?;
                    if event.event == "ended" {
                        return Ok(ExitCode::Success);
                    }
                    shown += u32::from(!event.is_feed());
                    if options.count.is_some_and(|n| shown >= n) {
                        return Ok(ExitCode::Success);
                    }
                }
            }
        }
        tokio::select! {
            _ = signals.recv() => return Ok(ExitCode::Success),
            changed = changes.changed() => if changed.is_err() {
                return Err(Error::Failed(format!("meeting {id}: the feed stopped")));
            },
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
fn summary(id: &str, picture: &Picture) -> String {
    let title = picture.basic().map(|b| b.title.as_str()).unwrap_or("");
    let mut text = format!("meeting {id} {}\n", crate::printable::printable(title));
    let mut flags = Vec::new();
    if picture.locked() == Some(true) {
        flags.push("locked");
    }
    if picture.recording() == Some(true) {
        flags.push("recording");
    }
    if picture.dynamic().is_some_and(|d| d.mute == 1) {
        flags.push("muted on entry");
    }
    if !flags.is_empty() {
        text += &format!("  {}\n", flags.join(", "));
    }
    let here: Vec<&Keys> = in_meeting(picture).collect();
    text += &format!("  {} in the meeting\n", here.len());
    for keys in here {
        let mut marks = Vec::new();
        if value(keys, key::ROLE) == key::HOST_ROLE {
            marks.push("host");
        }
        for (flag, mark) in [
            (key::IS_COHOST, "co-host"),
            (key::HAND, "hand raised"),
            (key::MUTE, "muted"),
        ] {
            if is_on(keys, flag) {
                marks.push(mark);
            }
        }
        let marks = if marks.is_empty() {
            String::new()
        } else {
            format!(" ({})", marks.join(", "))
        };
        text += &format!(
            "    {}{marks}\n",
            crate::printable::printable(value(keys, key::NAME))
        );
    }
    text
}
