//! `emcee status --watch`: the meeting drawn again as it changes. Once it runs, its
//! push feed is opened: each change is drawn from the live picture (at most once a
//! second, and only when what is shown changes), which also tells broadcast, roll
//! call, lock and recording. When the feed cannot be opened the meeting is looked at
//! over REST every interval instead, said once; while an open feed is down it is
//! looked at the same way until the feed is back, said once per episode.

use std::io::IsTerminal;
use std::time::Duration;

use tokio::time::Instant;

use super::render::{self, Facts};
use super::{StatusOptions, print};
use crate::error::{Error, ExitCode};
use crate::meeting::Roster;
use crate::mmc::live::{Health, Live};
use crate::mmc::picture::Picture;
use crate::secrets::Secrets;
use crate::session::live::{Invitee, Lineup, Look, Looker};
use crate::signals::Signals;

/// How long the feed may take to open.
const OPEN_WITHIN: Duration = Duration::from_secs(10);
/// The shortest time between two draws from the feed.
const REDRAW_EVERY: Duration = Duration::from_secs(1);

/// What ended a stretch of following the feed.
enum FeedEnd {
    /// Ctrl-C, or `--count` reached.
    Stop,
    /// The meeting ended: looking goes on over REST, which says so.
    Ended,
}

/// What has been drawn.
struct Drawing<'a> {
    options: &'a StatusOptions,
    meeting: &'a str,
    secrets: &'a Secrets,
    /// Whether a draw clears the terminal first.
    redraw: bool,
    draws: u32,
    /// The last draw, as text without its time, and when it was made.
    last: Option<(String, Instant)>,
}

impl Drawing<'_> {
    fn draw(&mut self, look: &Look, facts: Option<&Facts>) -> Result<(), Error> {
        let again = self.redraw || self.draws > 0;
        print(self.options, self.meeting, look, facts, self.secrets, again)?;
        self.draws += 1;
        self.last = Some((render::human(self.meeting, look, facts, ""), Instant::now()));
        Ok(())
    }

    /// Draws unless it would show the same as the last draw.
    fn draw_if_new(&mut self, look: &Look, facts: Option<&Facts>) -> Result<(), Error> {
        let text = render::human(self.meeting, look, facts, "");
        if self.last.as_ref().is_some_and(|(last, _)| *last == text) {
            return Ok(());
        }
        self.draw(look, facts)
    }

    fn done(&self) -> bool {
        self.options.count.is_some_and(|n| self.draws >= n)
    }
}

/// Looks until Ctrl-C or `--count`: over REST every `interval` until the meeting
/// runs, then from its feed if it opens.
pub(super) async fn watch(
    options: &StatusOptions,
    meeting: &str,
    looker: &Looker,
    secrets: &Secrets,
    interval: Duration,
) -> Result<ExitCode, Error> {
    let mut drawing = Drawing {
        options,
        meeting,
        secrets,
        redraw: std::io::stdout().is_terminal(),
        draws: 0,
        last: None,
    };
    let mut signals = Signals::new()?;
    let mut feed_tried = false;
    loop {
        let look = tokio::select! {
            _ = signals.recv() => break,
            look = looker.look() => look,
        };
        match look {
            Ok(Look::Running(lineup)) if !feed_tried => {
                feed_tried = true;
                let live = looker.live();
                let opened = tokio::select! {
                    _ = signals.recv() => break,
                    opened = live.opened(OPEN_WITHIN) => opened,
                };
                match opened {
                    Ok(()) => {
                        let end = follow(
                            &mut drawing,
                            &live,
                            &lineup.invited,
                            looker,
                            interval,
                            &mut signals,
                        )
                        .await?;
                        match end {
                            FeedEnd::Stop => break,
                            FeedEnd::Ended => continue,
                        }
                    }
                    Err(why) => {
                        eprintln!(
                            "{}",
                            secrets.redact(&format!(
                                "the meeting's feed cannot be opened ({why}); looking every {} instead",
                                every(options)
                            ))
                        );
                        drawing.draw(&Look::Running(lineup), None)?;
                    }
                }
            }
            Ok(look) => drawing.draw(&look, None)?,
            // The first look says whether the meeting can be looked at at all.
            Err(error) if drawing.draws == 0 => return Err(error),
            Err(error) => eprintln!("{}", secrets.redact(&format!("refresh failed: {error}"))),
        }
        if drawing.done() {
            break;
        }
        tokio::select! {
            _ = signals.recv() => break,
            () = tokio::time::sleep(interval) => {}
        }
    }
    Ok(ExitCode::Success)
}

/// Draws the meeting from the feed on each change, looking over REST every `interval`
/// while the feed is down.
async fn follow(
    drawing: &mut Drawing<'_>,
    live: &Live,
    invited: &[Invitee],
    looker: &Looker,
    interval: Duration,
    signals: &mut Signals,
) -> Result<FeedEnd, Error> {
    let mut changes = live.subscribe();
    let mut told_down: Option<u32> = None;
    loop {
        let state = changes.borrow_and_update().clone();
        let down = matches!(state.health, Health::Down { .. });
        match &state.health {
            Health::Connecting => {}
            Health::Up => {
                told_down = None;
                if state.picture.ended() {
                    return Ok(FeedEnd::Ended);
                }
                let (look, facts) = from_picture(&state.picture, invited);
                drawing.draw_if_new(&look, Some(&facts))?;
            }
            Health::Down { why, episode } => {
                if told_down != Some(*episode) {
                    eprintln!(
                        "{}",
                        drawing.secrets.redact(&format!(
                            "the meeting's feed is down ({why}); looking every {} until it is back",
                            every(drawing.options)
                        ))
                    );
                    told_down = Some(*episode);
                }
                match looker.look().await {
                    Ok(Look::Ended) => return Ok(FeedEnd::Ended),
                    Ok(look) => drawing.draw_if_new(&look, None)?,
                    Err(error) => eprintln!(
                        "{}",
                        drawing.secrets.redact(&format!("refresh failed: {error}"))
                    ),
                }
            }
        }
        if drawing.done() {
            return Ok(FeedEnd::Stop);
        }
        tokio::select! {
            _ = signals.recv() => return Ok(FeedEnd::Stop),
            changed = changes.changed() => if changed.is_err() {
                return Ok(FeedEnd::Ended);
            },
            () = tokio::time::sleep(interval), if down => {}
        }
        // At most one draw a second: changes meanwhile are drawn together.
        if let Some((_, at)) = &drawing.last {
            tokio::select! {
                _ = signals.recv() => return Ok(FeedEnd::Stop),
                () = tokio::time::sleep_until(*at + REDRAW_EVERY) => {}
            }
        }
    }
}

/// The interval as the user wrote it.
fn every(options: &StatusOptions) -> &str {
    options.watch.as_deref().unwrap_or("5s")
}

/// The look the picture gives, with what the feed tells beyond a REST read. The
/// invitees come from the REST look before (the feed does not list them).
fn from_picture(picture: &Picture, invited: &[Invitee]) -> (Look, Facts) {
    let Roster {
        participants,
        arriving,
    } = picture.roster();
    let look = Look::Running(Lineup {
        roster: Roster {
            participants,
            arriving: Vec::new(),
        },
        arriving,
        invited: invited.to_vec(),
    });
    let facts = Facts {
        broadcast: picture.broadcast(),
        roll_call: picture.roll_call(),
        locked: picture.locked(),
        recording: picture.recording(),
    };
    (look, facts)
}
