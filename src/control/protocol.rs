//! What travels on the control channel: one JSON object per line each way. A client
//! sends [`ClientMessage`]s; the run answers each command with one
//! [`ServerMessage::Reply`], in order, and streams [`ServerMessage::State`] to clients
//! that subscribed, interleaved with the replies. The first line from the run on every
//! connection is [`ServerMessage::Hello`]. Every field is plain data so that the
//! console can be drawn (and snapshot-tested) from a [`ShowState`] alone.

use serde::{Deserialize, Serialize};

/// Bumped when a message changes shape; a client refuses a run that speaks another.
pub(crate) const VERSION: u32 = 1;

/// The longest line a run accepts from a client; a longer one closes the connection.
/// A command is a few names: even a selector at [`MAX_SELECTOR`], every byte escaped,
/// fits.
pub(crate) const MAX_LINE: usize = 64 << 10;

/// The longest name a command may carry (a scene, a step id, an action, a participant
/// id), in bytes. Refusing longer ones before anything looks at them keeps a hostile
/// client from making the run compare megabytes against every name it knows.
pub(crate) const MAX_NAME: usize = 256;

/// The longest selector a `do` may carry, in bytes.
pub(crate) const MAX_SELECTOR: usize = 4096;

/// The longest line a client accepts from a run: a state lists everyone online, so a
/// meeting of tens of thousands needs more than a command ever does.
pub(crate) const MAX_STATE_LINE: usize = 32 << 20;

/// From a client (`emcee cue`, a console) to the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ClientMessage {
    /// An operator command; answered by one [`ServerMessage::Reply`].
    Command {
        command: Command,
        /// Which kind of client sent it, for the journal.
        via: Via,
    },
    /// Send [`ServerMessage::State`] now and whenever it changes.
    Subscribe,
}

/// What an operator can ask of a running show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Command {
    /// No new step starts until `resume`; waits keep counting.
    Hold,
    Resume,
    /// End the current wait, `wait_for` or cue countdown and start the next step now;
    /// while held, run that one step and stay held.
    Go,
    /// Skip the next top-level step not yet started, or the step with this id.
    Skip {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
    },
    /// Stop as SIGTERM does: `always` steps run, and the run exits 5.
    Abort,
    /// Play a named scene now, between steps.
    Scene {
        name: String,
    },
    /// One action now, on an optional selector: `do mute "Bob Li"`.
    Do {
        action: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selector: Option<String>,
        /// Exactly this participant (the id the service gave), instead of a selector:
        /// what the console sends, so that a display name, which anyone joining
        /// chooses, is never read as a selector or a template.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<String>,
    },
    /// Where the run is; answered with the reply's `state`.
    Status,
}

impl Command {
    /// The command's first word, as typed: `skip`, `do`.
    pub(crate) fn word(&self) -> &'static str {
        match self {
            Command::Hold => "hold",
            Command::Resume => "resume",
            Command::Go => "go",
            Command::Skip { .. } => "skip",
            Command::Abort => "abort",
            Command::Scene { .. } => "scene",
            Command::Do { .. } => "do",
            Command::Status => "status",
        }
    }

    /// Why the command is too long to be taken, without repeating it: a field longer
    /// than [`MAX_NAME`] (a selector: [`MAX_SELECTOR`]).
    pub(crate) fn oversized(&self) -> Option<String> {
        let fields: Vec<(&str, Option<&String>, usize)> = match self {
            Command::Skip { step } => vec![("a step id", step.as_ref(), MAX_NAME)],
            Command::Scene { name } => vec![("a scene name", Some(name), MAX_NAME)],
            Command::Do {
                action,
                selector,
                participant,
            } => vec![
                ("an action", Some(action), MAX_NAME),
                ("a selector", selector.as_ref(), MAX_SELECTOR),
                ("a participant id", participant.as_ref(), MAX_NAME),
            ],
            _ => Vec::new(),
        };
        fields.into_iter().find_map(|(what, value, limit)| {
            let length = value?.len();
            (length > limit).then(|| format!("{what} of {length} bytes; at most {limit} are taken"))
        })
    }
}

/// The kind of client a command came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Via {
    Cue,
    Console,
}

/// Who sent a command, as the run saw it: the user of the peer's uid (never what a
/// client claims), and the kind of client. Not on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Who {
    pub user: String,
    pub uid: u32,
    pub via: Via,
}

/// From the run to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ServerMessage {
    /// The first line on every connection: which run this is.
    Hello { version: u32, run: RunInfo },
    /// The answer to one command, in the order the commands came.
    Reply(Reply),
    /// The show as it is now (to subscribers, on every change, coalesced).
    State(Box<ShowState>),
}

/// Which run a socket belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RunInfo {
    pub run_id: String,
    /// The playbook's `name`.
    pub playbook: String,
    /// The playbook file, as given to `run`.
    pub file: String,
    pub meeting: String,
    /// The endpoint as journals show it ("the built-in emulator" for a rehearsal).
    pub endpoint: String,
    pub pid: u32,
    /// The local user the run belongs to.
    pub user: String,
    /// Whether this is a rehearsal (`--sim`).
    pub rehearsal: bool,
}

/// The answer to a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Reply {
    /// False when the command was refused; the run is then unaffected.
    pub ok: bool,
    /// One line for the operator: "held before step 4", "no scene named `qa`; did you
    /// mean `qa_open`?".
    pub message: String,
    /// For `status` (and any command that has it at hand): the show now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Box<ShowState>>,
}

/// Everything a console shows, as of `now`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct ShowState {
    pub run: Option<RunInfo>,
    /// The run's clock (RFC 3339 with milliseconds, in the playbook's time zone).
    pub now: String,
    pub held: bool,
    /// The top-level steps, in order.
    pub steps: Vec<StepView>,
    /// What the run is doing: a step, a wait or a countdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Current>,
    /// The next step with a cue still to come.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cue: Option<NextCue>,
    pub meeting: MeetingView,
    /// The people online, as the feed (or the last read) shows them.
    pub roster: Vec<Person>,
    /// The playbook's scenes, in the order written.
    pub scenes: Vec<String>,
    /// The scene the panic key plays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panic_scene: Option<String>,
    /// The last lines of the run's log, oldest first (bounded).
    pub log: Vec<LogLine>,
    /// Set once the run is over: "ok", "failed", "aborted"…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
}

/// One top-level step on the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StepView {
    pub id: String,
    pub name: String,
    /// The step's cue as planned (RFC 3339), when it has one the run can tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned: Option<String>,
    /// When it started and finished, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    pub state: StepState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum StepState {
    Pending,
    /// Counting down to its cue.
    Waiting,
    Running,
    Ok,
    Failed,
    Skipped,
}

/// What the run is doing now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Current {
    pub id: String,
    pub name: String,
    /// "running", "waiting for its cue", "waiting", "waiting for hand_raised"…
    pub doing: String,
    /// When the wait ends, if it is one (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_ms: Option<u64>,
}

/// The next cue and its countdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NextCue {
    pub id: String,
    pub name: String,
    /// RFC 3339.
    pub at: String,
    pub left_ms: u64,
}

/// The meeting's state as the run knows it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct MeetingView {
    /// "running", "not started", "ended", "unknown".
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<bool>,
    /// The push feed: "up", "down", "off".
    pub feed: String,
    /// How many are in the waiting room.
    pub waiting: usize,
}

/// Someone online.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Person {
    /// The participant id the service gave.
    pub id: String,
    /// As the service gave it; a console shows it made printable.
    pub name: String,
    /// "host", "cohost", "attendee"…
    pub role: String,
    pub muted: bool,
    /// Place among the raised hands, from 1 (earliest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hand: Option<u32>,
    pub broadcast: bool,
    #[serde(default)]
    pub roll_call: bool,
}

/// A line of the run's log, as the plain display would print it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LogLine {
    /// RFC 3339.
    pub at: String,
    /// "info", "warn", "error", "operator".
    pub level: String,
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_read_as_written_on_the_wire() {
        let line = r#"{"type":"command","command":{"op":"do","action":"mute","selector":"Bob Li"},"via":"cue"}"#;
        let message: ClientMessage = serde_json::from_str(line).unwrap();
        assert_eq!(
            message,
            ClientMessage::Command {
                command: Command::Do {
                    action: "mute".into(),
                    selector: Some("Bob Li".into()),
                    participant: None,
                },
                via: Via::Cue,
            }
        );
        assert_eq!(serde_json::to_string(&message).unwrap(), line);
        let skip: ClientMessage =
            serde_json::from_str(r#"{"type":"command","command":{"op":"skip"},"via":"console"}"#)
                .unwrap();
        assert!(matches!(
            skip,
            ClientMessage::Command {
                command: Command::Skip { step: None },
                ..
            }
        ));
    }

    #[test]
    fn a_state_survives_the_wire() {
        let state = ShowState {
            now: "2026-12-02T14:30:00.000+08:00".into(),
            held: true,
            roster: vec![Person {
                id: "p1".into(),
                name: "Bob Li".into(),
                role: "attendee".into(),
                muted: false,
                hand: Some(1),
                broadcast: false,
                roll_call: false,
            }],
            ..ShowState::default()
        };
        let line = serde_json::to_string(&ServerMessage::State(Box::new(state.clone()))).unwrap();
        let back: ServerMessage = serde_json::from_str(&line).unwrap();
        assert_eq!(back, ServerMessage::State(Box::new(state)));
    }
}
