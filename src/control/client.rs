//! The client's end of the control channel: finding the socket of the one live run of
//! a meeting, opening a connection to it (its Hello checked), and sending commands.
//! `emcee cue` and the console both come through here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

use super::protocol::{
    ClientMessage, Command, MAX_STATE_LINE, Reply, RunInfo, ServerMessage, VERSION, Via,
};
use crate::error::Error;

/// How long a run has to say Hello.
const HELLO_WITHIN: Duration = Duration::from_secs(3);

/// How long a run that is alive may take between making its socket and listening.
const STARTING: Duration = Duration::from_millis(200);

/// Which run a client wants.
#[derive(Debug, Clone, Default)]
pub(crate) struct Target {
    pub meeting: String,
    /// Only runs against this endpoint (as their journals show it).
    pub endpoint: Option<String>,
    /// Where runs keep their sockets; the caller resolves the default
    /// (`run::lock::state_dir`), this module does not know it.
    pub state_dir: Option<PathBuf>,
    /// Only the run with this id.
    pub run: Option<String>,
}

/// The socket of the one live run that matches; refuses (and lists them) when several
/// match, says so clearly when none does, reports and removes stale sockets.
pub(crate) async fn find(target: &Target) -> Result<PathBuf, Error> {
    let Some(state_dir) = &target.state_dir else {
        return Err(Error::Usage(
            "no state directory to look for runs in".into(),
        ));
    };
    let dir = state_dir.join("control");
    let mut sockets = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "sock"))
            .collect::<Vec<_>>(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(unlisted(&dir, e)),
    };
    sockets.sort();
    let mut found = Vec::new();
    for socket in sockets {
        let named = named(&socket);
        // Another meeting's run is left alone: not even a connection it must serve.
        if named.is_some_and(|(meeting, _)| meeting != target.meeting) {
            continue;
        }
        let Some(stream) = connect(&socket, named.map(|(_, pid)| pid)).await else {
            continue;
        };
        match opened(stream, &socket).await {
            Ok(opened) => found.push((socket, opened.1)),
            Err(Unusable { meeting, error }) => {
                match meeting.as_deref().or(named.map(|(meeting, _)| meeting)) {
                    Some(meeting) if meeting == target.meeting => return Err(error),
                    Some(_) => {}
                    // Whose it is cannot be told: it may not keep the others from use.
                    None => eprintln!("skipped {}: {error}", socket.display()),
                }
            }
        }
    }
    found.retain(|(_, run)| matches(target, run));
    let looked = dir.display();
    match found.len() {
        0 => Err(Error::Unreachable(match &target.run {
            Some(id) => format!(
                "no run {id} of meeting {} is listening (looked in {looked})",
                target.meeting
            ),
            None => format!(
                "no run of meeting {} is listening (looked in {looked})",
                target.meeting
            ),
        })),
        1 => Ok(found.remove(0).0),
        _ => {
            let list = found
                .iter()
                .map(|(_, run)| {
                    format!(
                        "  {}  {}  pid {}  started {}",
                        run.run_id,
                        run.playbook,
                        run.pid,
                        started(&run.run_id)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Err(Error::Usage(format!(
                "{} runs of meeting {} are listening; pick one with --run ID:\n{list}",
                found.len(),
                target.meeting
            )))
        }
    }
}

/// Why the sockets in `dir` cannot be listed.
fn unlisted(dir: &Path, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        // The directory is its user's alone: whatever runs there are not this user's.
        Error::Unreachable(format!(
            "cannot look in {}: it belongs to another user, and only the user a run \
             belongs to may command it",
            dir.display()
        ))
    } else {
        Error::io(format!("cannot list {}", dir.display()), e)
    }
}

/// Whether the run is one the target asks for.
fn matches(target: &Target, run: &RunInfo) -> bool {
    let same_endpoint =
        |wanted: &str| wanted.trim_end_matches('/') == run.endpoint.trim_end_matches('/');
    run.meeting == target.meeting
        && target.endpoint.as_deref().is_none_or(same_endpoint)
        && target.run.as_deref().is_none_or(|id| id == run.run_id)
}

/// When a run started, from its id (`20261202T141500Z-meeting-pid`).
fn started(run_id: &str) -> &str {
    run_id.split('-').next().unwrap_or(run_id)
}

/// The meeting and the pid a socket's name says its run has
/// (`20261202T141500Z-914044873-4711.sock`), when it is named so.
fn named(socket: &Path) -> Option<(&str, u32)> {
    let stem = socket.file_stem()?.to_str()?;
    let (_, rest) = stem.split_once('-')?;
    let (meeting, pid) = rest.rsplit_once('-')?;
    Some((meeting, pid.parse().ok()?))
}

/// Whether process `pid` is alive and this user's: a run of ours may be starting.
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 sends nothing: kill only says whether the process exists and
    // may be signalled by this user.
    pid > 0 && unsafe { libc::kill(pid, 0) } == 0
}

/// A connection to `socket`, or `None` (said why) for a socket no run listens on. One
/// whose run is gone is stale and removed. One whose run is alive is not: a run
/// starting makes its socket a moment before it listens, so it is tried once more.
async fn connect(socket: &Path, pid: Option<u32>) -> Option<UnixStream> {
    let refused = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
        )
    };
    match UnixStream::connect(socket).await {
        Ok(stream) => return Some(stream),
        Err(e) if !refused(&e) => {
            eprintln!("skipped {}: {e}", socket.display());
            return None;
        }
        Err(_) => {}
    }
    if let Some(pid) = pid.filter(|pid| alive(*pid)) {
        tokio::time::sleep(STARTING).await;
        return match UnixStream::connect(socket).await {
            Ok(stream) => Some(stream),
            Err(e) => {
                eprintln!(
                    "skipped {}: its run (pid {pid}) is alive but does not listen ({e})",
                    socket.display()
                );
                None
            }
        };
    }
    // Only a socket is removed: any other file in the directory is none of ours.
    let is_socket = std::fs::symlink_metadata(socket)
        .is_ok_and(|meta| std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()));
    if !is_socket {
        eprintln!("skipped {}: not a socket", socket.display());
        return None;
    }
    // Its run ended without removing it (killed, or the machine went down).
    if std::fs::remove_file(socket).is_ok() {
        eprintln!(
            "removed a stale control socket: {} (its run is gone)",
            socket.display()
        );
    }
    None
}

/// A run that cannot be used, and its meeting when it said which it runs.
struct Unusable {
    meeting: Option<String>,
    error: Error,
}

async fn opened(stream: UnixStream, socket: &Path) -> Result<(Connection, RunInfo), Unusable> {
    let (read, write) = stream.into_split();
    let mut receiver = Receiver {
        read: BufReader::new(read),
    };
    let other = |error| Unusable {
        meeting: None,
        error,
    };
    let line = match tokio::time::timeout(HELLO_WITHIN, receiver.line()).await {
        Ok(line) => line.map_err(other)?,
        Err(_) => {
            return Err(other(Error::Failed(format!(
                "the run at {} does not answer",
                socket.display()
            ))));
        }
    };
    let Some(line) = line else {
        return Err(other(Error::Failed(format!(
            "the run at {} closed the connection at once",
            socket.display()
        ))));
    };
    let value: serde_json::Value = serde_json::from_slice(&line).map_err(|e| {
        other(Error::Failed(format!(
            "{} does not speak the control protocol: {e}",
            socket.display()
        )))
    })?;
    let version = value.get("version").and_then(serde_json::Value::as_u64);
    if value.get("type").and_then(serde_json::Value::as_str) == Some("hello")
        && version != Some(u64::from(VERSION))
    {
        return Err(Unusable {
            meeting: value
                .pointer("/run/meeting")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
            error: Error::Failed(format!(
                "the run at {} speaks version {} of the control protocol, and this emcee \
                 version {VERSION}: use the emcee that started the run",
                socket.display(),
                version.map_or_else(|| "?".to_owned(), |v| v.to_string()),
            )),
        });
    }
    match serde_json::from_value::<ServerMessage>(value) {
        Ok(ServerMessage::Hello { run, .. }) => Ok((
            Connection {
                sender: Sender { write },
                receiver,
            },
            run,
        )),
        Ok(ServerMessage::Reply(reply)) => Err(other(Error::Failed(reply.message))),
        Ok(ServerMessage::State(_)) | Err(_) => Err(other(Error::Failed(format!(
            "{} did not say which run it is",
            socket.display()
        )))),
    }
}

/// An open connection to a run.
pub(crate) struct Connection {
    sender: Sender,
    receiver: Receiver,
}

impl Connection {
    /// Connects and reads the run's Hello: which run it is.
    pub(crate) async fn open(socket: &Path) -> Result<(Connection, RunInfo), Error> {
        let stream = UnixStream::connect(socket).await.map_err(|e| {
            Error::Unreachable(format!("cannot connect to {}: {e}", socket.display()))
        })?;
        opened(stream, socket)
            .await
            .map_err(|unusable| unusable.error)
    }

    pub(crate) fn split(self) -> (Sender, Receiver) {
        (self.sender, self.receiver)
    }
}

/// What a client writes to the run.
pub(crate) struct Sender {
    write: OwnedWriteHalf,
}

impl Sender {
    pub(crate) async fn send(&mut self, message: &ClientMessage) -> Result<(), Error> {
        let mut line = serde_json::to_vec(message)
            .map_err(|e| Error::Failed(format!("cannot encode a message: {e}")))?;
        line.push(b'\n');
        self.write
            .write_all(&line)
            .await
            .map_err(|e| Error::io("the run closed the connection", e))
    }
}

/// What a client reads from the run.
pub(crate) struct Receiver {
    read: BufReader<OwnedReadHalf>,
}

impl Receiver {
    /// The next message; `None` once the run has closed the connection.
    pub(crate) async fn recv(&mut self) -> Result<Option<ServerMessage>, Error> {
        let Some(line) = self.line().await? else {
            return Ok(None);
        };
        serde_json::from_slice(&line).map(Some).map_err(|e| {
            Error::Failed(format!(
                "the run sent a message this emcee cannot read: {e}"
            ))
        })
    }

    async fn line(&mut self) -> Result<Option<Vec<u8>>, Error> {
        super::server::read_line(&mut self.read, MAX_STATE_LINE)
            .await
            .map_err(|reply| Error::Failed(reply.message.replacen("refused: ", "", 1)))
    }
}

/// Sends one command and waits for its reply.
pub(crate) async fn request(socket: &Path, command: Command, via: Via) -> Result<Reply, Error> {
    let (connection, _) = Connection::open(socket).await?;
    let (mut sender, mut receiver) = connection.split();
    sender
        .send(&ClientMessage::Command { command, via })
        .await?;
    loop {
        // A run that ends as the command comes (an abort just after its last step)
        // resets the connection rather than closing it: either way, no answer.
        let message = receiver.recv().await.map_err(|e| {
            Error::Failed(format!(
                "the run closed the connection before answering ({e}); it may have ended"
            ))
        })?;
        match message {
            Some(ServerMessage::Reply(reply)) => return Ok(reply),
            Some(ServerMessage::State(_) | ServerMessage::Hello { .. }) => {}
            None => {
                return Err(Error::Failed(
                    "the run closed the connection before answering".into(),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::protocol::ShowState;

    #[test]
    fn another_users_directory_is_said_to_be_theirs() {
        let dir = Path::new("/home/ana/.local/state/emcee/control");
        let denied = unlisted(dir, std::io::ErrorKind::PermissionDenied.into());
        assert_eq!(denied.exit_code(), crate::error::ExitCode::Unreachable);
        assert!(
            denied.to_string().contains("belongs to another user"),
            "{denied}"
        );
        let other = unlisted(dir, std::io::ErrorKind::InvalidData.into());
        assert!(other.to_string().starts_with("cannot list "), "{other}");
    }

    #[test]
    fn a_socket_name_says_its_runs_meeting_and_pid() {
        let named = |name: &str| named(Path::new(name)).map(|(m, p)| (m.to_owned(), p));
        assert_eq!(
            named("/s/control/20261202T141500Z-914044873-4711.sock"),
            Some(("914044873".to_owned(), 4711))
        );
        assert_eq!(named("/s/control/odd.sock"), None);
        assert_eq!(named("/s/control/a-b-notapid.sock"), None);
    }

    fn run(meeting: &str, endpoint: &str, id: &str) -> RunInfo {
        RunInfo {
            run_id: id.into(),
            playbook: "Town hall".into(),
            file: "town-hall.yaml".into(),
            meeting: meeting.into(),
            endpoint: endpoint.into(),
            pid: 7,
            user: "ana".into(),
            rehearsal: false,
        }
    }

    #[test]
    fn a_target_picks_by_meeting_endpoint_and_run() {
        let target = Target {
            meeting: "914".into(),
            ..Target::default()
        };
        assert!(matches(&target, &run("914", "https://a/", "r1")));
        assert!(!matches(&target, &run("915", "https://a/", "r1")));
        let at = Target {
            endpoint: Some("https://a".into()),
            ..target.clone()
        };
        assert!(matches(&at, &run("914", "https://a/", "r1")));
        assert!(!matches(&at, &run("914", "https://b", "r1")));
        let one = Target {
            run: Some("r2".into()),
            ..target
        };
        assert!(!matches(&one, &run("914", "https://a", "r1")));
        assert!(matches(&one, &run("914", "https://a", "r2")));
        assert_eq!(started("20261202T141500Z-914-7"), "20261202T141500Z");
    }

    #[tokio::test]
    async fn a_run_that_goes_before_answering_is_said_to_have_gone() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("r1.sock");
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let run_info = run("914", "https://a", "r1");
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut hello = serde_json::to_vec(&ServerMessage::Hello {
                version: VERSION,
                run: run_info,
            })
            .unwrap();
            hello.push(b'\n');
            tokio::io::AsyncWriteExt::write_all(&mut stream, &hello)
                .await
                .unwrap();
            // Gone with the command half read: the client's next read is reset.
            let mut first = [0_u8; 1];
            tokio::io::AsyncReadExt::read_exact(&mut stream, &mut first)
                .await
                .unwrap();
        });
        let error = request(&socket, Command::Abort, Via::Cue)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("before answering"), "{error}");
    }

    #[tokio::test]
    async fn a_state_longer_than_any_command_reaches_the_client() {
        let (client, mut server) = UnixStream::pair().unwrap();
        let roster = (0..12_000)
            .map(|i| crate::control::protocol::Person {
                id: format!("p{i}"),
                name: format!("Participant number {i} of a very large meeting"),
                role: "attendee".into(),
                muted: true,
                hand: None,
                broadcast: false,
                roll_call: false,
            })
            .collect();
        let state = ShowState {
            roster,
            ..ShowState::default()
        };
        let mut lines = serde_json::to_vec(&ServerMessage::Hello {
            version: VERSION,
            run: run("914", "https://a", "r1"),
        })
        .unwrap();
        lines.push(b'\n');
        let message = ServerMessage::State(Box::new(state));
        let state_line = serde_json::to_vec(&message).unwrap();
        assert!(state_line.len() > crate::control::protocol::MAX_LINE);
        lines.extend_from_slice(&state_line);
        lines.push(b'\n');
        let writer = tokio::spawn(async move {
            tokio::io::AsyncWriteExt::write_all(&mut server, &lines)
                .await
                .unwrap();
            server
        });
        let (connection, _) = opened(client, Path::new("test.sock")).await.ok().unwrap();
        let (_sender, mut receiver) = connection.split();
        assert_eq!(receiver.recv().await.unwrap(), Some(message));
        drop(writer.await.unwrap());
    }
}
