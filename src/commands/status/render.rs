//! What `emcee status` prints of one look: a block of text for people, or one JSON
//! document whose field names are stable (documented with the command):
//!
//! `{"meeting", "state", "read_at", "participants": [{"pid", "name", "phone", "role",
//! "state", "muted", "hand", "video"}], "invited": [{"name", "phone", "online"}],
//! "counts": {"in_meeting", "ringing", "joining", "invited_absent", "hands_raised",
//! "muted"}, "broadcast", "roll_call", "locked", "recording", "unknown"}`.
//!
//! `state` is "running", "not_started" or "ended"; a participant's `state` is
//! "in_meeting", "ringing" or "joining"; `role` is "host", "cohost" or "guest".
//! `participants`, `invited` and `counts` are null unless the meeting is running.
//! `broadcast`, `roll_call`, `locked` and `recording` are null — unknown — when the look
//! is a REST read, which does not carry them; `unknown` lists them. A look from the
//! push feed (`--watch`) knows them: `broadcast` and `roll_call` are the pid of the
//! participant (or null for nobody), `locked` and `recording` true or false, `unknown`
//! lists only what is still unknown (`locked`, `recording` before the
//! status has come).

use serde::Serialize;

use crate::meeting::Participant;
use crate::session::live::{Lineup, Look};

/// The meeting's fields the REST read does not carry.
const UNKNOWN: [&str; 4] = ["broadcast", "roll_call", "locked", "recording"];

/// What the push feed tells beyond the REST read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Facts {
    /// The pid of the participant broadcast, and of the one given the floor.
    pub broadcast: Option<String>,
    pub roll_call: Option<String>,
    /// Unknown until the feed's status message has come.
    pub locked: Option<bool>,
    pub recording: Option<bool>,
}

#[derive(Serialize)]
pub(super) struct Document<'a> {
    meeting: &'a str,
    state: &'static str,
    read_at: String,
    participants: Option<Vec<Person<'a>>>,
    invited: Option<Vec<Invited<'a>>>,
    counts: Option<Counts>,
    broadcast: Option<String>,
    roll_call: Option<String>,
    locked: Option<bool>,
    recording: Option<bool>,
    unknown: Vec<&'static str>,
}

#[derive(Serialize)]
struct Person<'a> {
    pid: &'a str,
    name: &'a str,
    phone: &'a str,
    role: &'static str,
    state: &'static str,
    muted: bool,
    hand: bool,
    video: bool,
}

#[derive(Serialize)]
struct Invited<'a> {
    name: &'a str,
    phone: &'a str,
    online: bool,
}

#[derive(Serialize, Default)]
struct Counts {
    in_meeting: usize,
    ringing: usize,
    joining: usize,
    invited_absent: usize,
    hands_raised: usize,
    muted: usize,
}

/// `realTimeInfo`'s `state` as the JSON document names it.
fn state_name(state: u8) -> &'static str {
    match state {
        0 => "in_meeting",
        1 => "ringing",
        2 => "joining",
        _ => "unknown",
    }
}

fn counts(lineup: &Lineup) -> Counts {
    let in_meeting = || lineup.roster.participants.iter();
    Counts {
        in_meeting: in_meeting().count(),
        ringing: lineup.arriving.iter().filter(|p| p.state == 1).count(),
        joining: lineup.arriving.iter().filter(|p| p.state == 2).count(),
        invited_absent: lineup
            .invited
            .iter()
            .filter(|i| !lineup.is_online(i))
            .count(),
        hands_raised: in_meeting().filter(|p| p.hand).count(),
        muted: in_meeting().filter(|p| p.mute).count(),
    }
}

impl<'a> Document<'a> {
    pub(super) fn new(
        meeting: &'a str,
        look: &'a Look,
        facts: Option<&Facts>,
        read_at: &str,
    ) -> Document<'a> {
        let lineup = match look {
            Look::Running(lineup) => Some(lineup),
            Look::NotStarted | Look::Ended => None,
        };
        Document {
            meeting,
            state: match look {
                Look::Running(_) => "running",
                Look::NotStarted => "not_started",
                Look::Ended => "ended",
            },
            read_at: read_at.to_owned(),
            participants: lineup.map(|l| {
                l.everyone()
                    .map(|p| Person {
                        pid: &p.pid,
                        name: &p.name,
                        phone: &p.phone,
                        role: p.role,
                        state: state_name(p.state),
                        muted: p.mute,
                        hand: p.hand,
                        video: p.video,
                    })
                    .collect()
            }),
            invited: lineup.map(|l| {
                l.invited
                    .iter()
                    .map(|i| Invited {
                        name: &i.name,
                        phone: &i.phone,
                        online: l.is_online(i),
                    })
                    .collect()
            }),
            counts: lineup.map(counts),
            broadcast: facts.and_then(|f| f.broadcast.clone()),
            roll_call: facts.and_then(|f| f.roll_call.clone()),
            locked: facts.and_then(|f| f.locked),
            recording: facts.and_then(|f| f.recording),
            unknown: match facts {
                None => UNKNOWN.to_vec(),
                Some(facts) => [("locked", facts.locked), ("recording", facts.recording)]
                    .into_iter()
                    .filter(|(_, known)| known.is_none())
                    .map(|(name, _)| name)
                    .collect(),
            },
        }
    }
}

/// The block of text for people.
pub(super) fn human(meeting: &str, look: &Look, facts: Option<&Facts>, read_at: &str) -> String {
    let lineup = match look {
        Look::Running(lineup) => lineup,
        Look::NotStarted => {
            return format!(
                "meeting {meeting}: not started (read at {read_at})\nthe meeting has not started yet: the service gives no control token before it starts (MMC.111072005)\n"
            );
        }
        Look::Ended => {
            return format!(
                "meeting {meeting}: ended (read at {read_at})\nthe meeting has ended (MMC.111072006)\n"
            );
        }
    };
    let in_state = |state: u8| -> Vec<&Participant> {
        lineup
            .arriving
            .iter()
            .filter(|p| p.state == state)
            .collect()
    };
    let mut out = format!("meeting {meeting}: running (read at {read_at})\n");
    let here = &lineup.roster.participants;
    out.push_str(&format!("in the meeting ({}):\n", here.len()));
    let rows: Vec<Vec<String>> = here
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                role_word(p.role).to_owned(),
                if p.mute { "muted" } else { "mic open" }.to_owned(),
                if p.video { "video" } else { "audio only" }.to_owned(),
                if p.hand { "hand raised" } else { "" }.to_owned(),
            ]
        })
        .collect();
    out.push_str(&table(&rows));
    for (state, title) in [(1, "ringing"), (2, "joining")] {
        let some = in_state(state);
        if !some.is_empty() {
            out.push_str(&format!("{title} ({}):\n", some.len()));
            let rows: Vec<Vec<String>> = some
                .iter()
                .map(|p| vec![p.name.clone(), p.phone.clone()])
                .collect();
            out.push_str(&table(&rows));
        }
    }
    let absent: Vec<Vec<String>> = lineup
        .invited
        .iter()
        .filter(|i| !lineup.is_online(i))
        .map(|i| vec![i.name.clone(), i.phone.clone()])
        .collect();
    if !absent.is_empty() {
        out.push_str(&format!("invited, not online ({}):\n", absent.len()));
        out.push_str(&table(&absent));
    }
    let counts = counts(lineup);
    out.push_str(&format!(
        "hands raised: {}; muted: {} of {}\n",
        counts.hands_raised, counts.muted, counts.in_meeting
    ));
    match facts {
        None => out.push_str(
            "broadcast, roll call, lock, recording: unknown (the meeting-control read does not report them)\n",
        ),
        Some(facts) => {
            let name = |pid: &Option<String>| match pid {
                None => "nobody".to_owned(),
                Some(pid) => lineup
                    .everyone()
                    .find(|p| p.pid == *pid)
                    .map_or_else(|| pid.clone(), |p| p.name.clone()),
            };
            let yes = |on: Option<bool>| match on {
                Some(true) => "yes",
                Some(false) => "no",
                None => "unknown",
            };
            out.push_str(&format!(
                "broadcast: {}; roll call: {}; locked: {}; recording: {}\n",
                name(&facts.broadcast),
                name(&facts.roll_call),
                yes(facts.locked),
                yes(facts.recording)
            ));
        }
    }
    out
}

fn role_word(role: &str) -> &str {
    match role {
        "cohost" => "co-host",
        other => other,
    }
}

/// Rows indented by two, in columns padded by hand to the widest cell.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                let pad = widths[c].saturating_sub(cell.chars().count());
                format!("{cell}{}", " ".repeat(pad))
            })
            .collect();
        out.push_str(&format!("  {}\n", cells.join("  ").trim_end()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_by_characters() {
        let rows = vec![
            vec!["Zoë".to_owned(), "host".to_owned()],
            vec!["Bob Li".to_owned(), "guest".to_owned(), String::new()],
        ];
        assert_eq!(table(&rows), "  Zoë     host\n  Bob Li  guest\n");
    }
}
