//! The run's end of the control channel: a Unix socket only the run's own user may
//! use. Each connection gets [`ServerMessage::Hello`], then one reply per command, in
//! order; a subscriber also gets the show's state whenever it changes, at most
//! [`STATES_PER_SECOND`] times a second and always the latest. Nothing a client does
//! can block the run: the run only ever replaces the latest state, and each
//! connection is its own task that is dropped when the client misbehaves.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::protocol::{
    ClientMessage, Command, MAX_LINE, Reply, RunInfo, ServerMessage, ShowState, VERSION, Who,
};
use crate::error::Error;

/// How often a subscriber is sent the state at most: a console redraws no faster.
const STATES_PER_SECOND: u32 = 10;

/// A client that takes longer than this to take a line is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections served at once; more are turned away, so that memory stays bounded.
const MAX_CONNECTIONS: usize = 32;

/// How long the end of the run waits for its clients to be told it is over.
const FAREWELL: Duration = Duration::from_secs(1);

/// How long the bytes of a client that was told why it is dropped are still read.
const DRAIN: Duration = Duration::from_secs(1);

/// How far apart the run takes commands, from all its clients together: far faster
/// than anyone types or presses keys, and slow enough that a client sending commands
/// as fast as it can never crowds out the show, which shares the run's one thread.
const COMMAND_GAP: Duration = Duration::from_millis(10);

/// What the run does with an operator command (every one but `status`).
pub(crate) type Handle = Arc<dyn Fn(Command, Who) -> Reply + Send + Sync>;

/// A listening socket. Dropping it stops listening, drops every connection and
/// removes the socket; [`Server::close`] first lets the clients see the final state.
pub(crate) struct Server {
    path: PathBuf,
    accept: tokio::task::JoinHandle<()>,
    connections: Arc<std::sync::Mutex<JoinSet<()>>>,
}

/// `<state dir>/control/<run id>.sock`.
pub(crate) fn socket_path(state_dir: &Path, run_id: &str) -> PathBuf {
    state_dir.join("control").join(format!("{run_id}.sock"))
}

/// Binds the socket at `path` (its directory made 0700, the socket 0600; a stale
/// socket there is replaced), and serves it until the [`Server`] is dropped or closed.
pub(crate) fn listen(
    path: &Path,
    run: RunInfo,
    handle: Handle,
    states: watch::Receiver<ShowState>,
) -> Result<Server, Error> {
    // SAFETY: getuid cannot fail and has no preconditions.
    listen_as(unsafe { libc::getuid() }, path, run, handle, states)
}

/// [`listen`] for a run of the user `uid`.
pub(super) fn listen_as(
    uid: u32,
    path: &Path,
    run: RunInfo,
    handle: Handle,
    states: watch::Receiver<ShowState>,
) -> Result<Server, Error> {
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        // An existing directory keeps its mode unless told: others must not list it.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(format!("cannot restrict {}", dir.display()), e))?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => tracing::debug!("replaced a stale control socket at {}", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(format!("cannot replace {}", path.display()), e)),
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| Error::io(format!("cannot listen on {}", path.display()), e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(format!("cannot restrict {}", path.display()), e))?;
    let connections = Arc::new(std::sync::Mutex::new(JoinSet::new()));
    let shared = Arc::new(Shared {
        run,
        uid,
        handle,
        states,
        open: AtomicUsize::new(0),
        pacer: Pacer::default(),
    });
    let accept = tokio::spawn(accept(listener, shared, Arc::clone(&connections)));
    Ok(Server {
        path: path.to_owned(),
        accept,
        connections,
    })
}

impl Server {
    /// Stops taking connections and lets every client receive the final state: the
    /// caller has published it and dropped the state's sender. Waits at most a second.
    pub(crate) async fn close(self) {
        self.accept.abort();
        let _ = std::fs::remove_file(&self.path);
        let mut connections = std::mem::take(&mut *lock(&self.connections));
        let _ = tokio::time::timeout(FAREWELL, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
        lock(&self.connections).abort_all();
        let _ = std::fs::remove_file(&self.path);
    }
}

fn lock(connections: &std::sync::Mutex<JoinSet<()>>) -> std::sync::MutexGuard<'_, JoinSet<()>> {
    connections
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What every connection of one server shares.
struct Shared {
    run: RunInfo,
    uid: u32,
    handle: Handle,
    states: watch::Receiver<ShowState>,
    open: AtomicUsize,
    pacer: Pacer,
}

/// Spaces the commands of every connection [`COMMAND_GAP`] apart. A connection waits
/// for its slot before it reads on, so at most one slot per connection is taken ahead.
#[derive(Default)]
struct Pacer {
    next: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Pacer {
    /// When the command that came at `now` may be taken.
    fn slot(&self, now: tokio::time::Instant) -> tokio::time::Instant {
        let mut next = self
            .next
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = next.map_or(now, |next| next.max(now));
        *next = Some(at + COMMAND_GAP);
        at
    }
}

async fn accept(
    listener: UnixListener,
    shared: Arc<Shared>,
    connections: Arc<std::sync::Mutex<JoinSet<()>>>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::debug!("control socket: {e}");
                // Out of descriptors, say: give the system a moment.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        let mut set = lock(&connections);
        // Finished connections are reaped here so that the set stays small.
        while set.try_join_next().is_some() {}
        set.spawn(async move {
            let open = shared.open.fetch_add(1, Ordering::SeqCst) + 1;
            serve(stream, &shared, open).await;
            shared.open.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// Whether a peer of `peer_uid` may use the run of `run_uid` (whose user is
/// `run_user`); the refusal to send it otherwise.
pub(crate) fn admit(peer_uid: u32, run_uid: u32, run_user: &str) -> Result<(), Reply> {
    if peer_uid == run_uid {
        Ok(())
    } else {
        Err(refusal(format!("refused: this run belongs to {run_user}")))
    }
}

fn refusal(message: String) -> Reply {
    Reply {
        ok: false,
        message,
        state: None,
    }
}

/// The name of the local user `uid`, or `uid N` when the system has none.
pub(crate) fn user_name(uid: u32) -> String {
    let mut buffer = vec![0_u8; 4096];
    // SAFETY: passwd is plain data; getpwuid_r writes into `entry` and `buffer` (of the
    // length given) only, and `found` points at `entry` or is null.
    unsafe {
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let status = libc::getpwuid_r(
            uid,
            &raw mut entry,
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            &raw mut found,
        );
        if status == 0 && !found.is_null() && !entry.pw_name.is_null() {
            let name = std::ffi::CStr::from_ptr(entry.pw_name).to_string_lossy();
            if !name.is_empty() {
                return name.into_owned();
            }
        }
    }
    format!("uid {uid}")
}

/// The user the run itself belongs to.
pub(crate) fn current_user() -> String {
    // SAFETY: getuid cannot fail and has no preconditions.
    user_name(unsafe { libc::getuid() })
}

/// One connection, from its Hello to its end.
async fn serve(stream: UnixStream, shared: &Shared, open: usize) {
    let peer = stream.peer_cred().map(|cred| cred.uid());
    let (read, mut write) = stream.into_split();
    let admitted = match peer {
        Ok(_) if open > MAX_CONNECTIONS => {
            Err(refusal("refused: too many connections to this run".into()))
        }
        Ok(uid) => admit(uid, shared.uid, &shared.run.user).map(|()| uid),
        Err(e) => Err(refusal(format!("refused: cannot tell who you are ({e})"))),
    };
    let uid = match admitted {
        Ok(uid) => uid,
        Err(reply) => {
            let _ = send(&mut write, &ServerMessage::Reply(reply)).await;
            return;
        }
    };
    let hello = ServerMessage::Hello {
        version: VERSION,
        run: shared.run.clone(),
    };
    if send(&mut write, &hello).await.is_err() {
        return;
    }
    let who = Who {
        user: user_name(uid),
        uid,
        via: super::protocol::Via::Cue,
    };
    // Lines are read in their own task, so that a half-written line never holds up
    // the states; a few parsed messages wait at most.
    let (tell, mut heard) = mpsc::channel(4);
    let mut reader = tokio::spawn(read_messages(BufReader::new(read), tell));
    let mut states = shared.states.clone();
    let mut subscribed = false;
    let mut next_state = tokio::time::Instant::now();
    let gap = Duration::from_secs(1) / STATES_PER_SECOND;
    loop {
        tokio::select! {
            message = heard.recv() => {
                let Some(message) = message else { break };
                let reply = match message {
                    Ok(ClientMessage::Subscribe) => {
                        subscribed = true;
                        // The state now, at once.
                        states.mark_changed();
                        continue;
                    }
                    Ok(ClientMessage::Command { command, via }) => {
                        let slot = shared.pacer.slot(tokio::time::Instant::now());
                        tokio::time::sleep_until(slot).await;
                        answer(shared, &states, command, Who { via, ..who.clone() })
                    }
                    Err(reply) => {
                        let _ = send(&mut write, &ServerMessage::Reply(reply)).await;
                        // Closing with the client's bytes unread would reset the
                        // connection before it could read why: what it still sends is
                        // read and dropped, for a moment.
                        let _ = write.shutdown().await;
                        let _ = tokio::time::timeout(DRAIN, &mut reader).await;
                        break;
                    }
                };
                if send(&mut write, &ServerMessage::Reply(reply)).await.is_err() {
                    break;
                }
            }
            changed = states.changed() => {
                let over = changed.is_err();
                if !subscribed {
                    if over {
                        break;
                    }
                    continue;
                }
                tokio::time::sleep_until(next_state).await;
                let state = states.borrow_and_update().clone();
                if send(&mut write, &ServerMessage::State(Box::new(state))).await.is_err() || over {
                    break;
                }
                next_state = tokio::time::Instant::now() + gap;
            }
        }
    }
    reader.abort();
    let _ = write.shutdown().await;
}

/// The reply to one command: `status` from the latest state, the rest from the run.
fn answer(
    shared: &Shared,
    states: &watch::Receiver<ShowState>,
    command: Command,
    who: Who,
) -> Reply {
    match command {
        Command::Status => {
            let state = states.borrow().clone();
            Reply {
                ok: true,
                message: super::status_line(&state),
                state: Some(Box::new(state)),
            }
        }
        other => (shared.handle)(other, who),
    }
}

/// Reads messages until the end, a line too long or one that is not a message (the
/// reply to send then, last).
async fn read_messages(
    mut read: impl AsyncBufRead + Unpin,
    tell: mpsc::Sender<Result<ClientMessage, Reply>>,
) {
    loop {
        let message = match read_line(&mut read, MAX_LINE).await {
            Ok(None) => return,
            Ok(Some(line)) if line.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(Some(line)) => serde_json::from_slice::<ClientMessage>(&line).map_err(|e| {
                refusal(format!(
                    "refused: not a message of this run's protocol (version {VERSION}): {e}"
                ))
            }),
            Err(reply) => Err(reply),
        };
        let last = message.is_err();
        if tell.send(message).await.is_err() {
            return;
        }
        if last {
            let mut sink = tokio::io::sink();
            let _ = tokio::io::copy_buf(&mut read, &mut sink).await;
            return;
        }
    }
}

/// One line without its end, at most `limit` bytes; `None` at the end of the stream
/// (a half line then is dropped). Too long a line is refused.
pub(super) async fn read_line(
    read: &mut (impl AsyncBufRead + Unpin),
    limit: usize,
) -> Result<Option<Vec<u8>>, Reply> {
    let mut line = Vec::new();
    loop {
        let buffer = match read.fill_buf().await {
            Ok(buffer) => buffer,
            Err(e) => return Err(refusal(format!("refused: cannot read: {e}"))),
        };
        if buffer.is_empty() {
            return Ok(None);
        }
        let (taken, done) = match buffer.iter().position(|&b| b == b'\n') {
            Some(end) => (end, true),
            None => (buffer.len(), false),
        };
        if line.len() + taken > limit {
            return Err(refusal(format!(
                "refused: a line longer than {limit} bytes"
            )));
        }
        line.extend_from_slice(&buffer[..taken]);
        read.consume(taken + usize::from(done));
        if done {
            return Ok(Some(line));
        }
    }
}

/// Writes one message as a line; a client that does not take it in time is gone.
pub(super) async fn send(
    write: &mut (impl AsyncWrite + Unpin),
    message: &ServerMessage,
) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    line.push(b'\n');
    match tokio::time::timeout(WRITE_TIMEOUT, write.write_all(&line)).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the client does not read",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_runs_own_user_is_admitted() {
        assert!(admit(1000, 1000, "ana").is_ok());
        let refused = admit(1001, 1000, "ana").unwrap_err();
        assert!(!refused.ok);
        assert_eq!(refused.message, "refused: this run belongs to ana");
        assert!(admit(0, 1000, "ana").is_err(), "not even root");
    }

    #[test]
    fn commands_are_spaced_out_across_connections() {
        let pacer = Pacer::default();
        let start = tokio::time::Instant::now();
        // Three at once: the first now, the others each a gap later.
        assert_eq!(pacer.slot(start), start);
        assert_eq!(pacer.slot(start), start + COMMAND_GAP);
        assert_eq!(pacer.slot(start), start + COMMAND_GAP * 2);
        // One long after: at once, and the next a gap after it.
        let later = start + Duration::from_secs(1);
        assert_eq!(pacer.slot(later), later);
        assert_eq!(pacer.slot(later), later + COMMAND_GAP);
    }

    #[test]
    fn a_user_without_a_name_is_their_uid() {
        assert_eq!(user_name(4_000_000_000), "uid 4000000000");
        assert!(!current_user().is_empty());
    }

    #[tokio::test]
    async fn lines_are_bounded_and_a_half_line_is_dropped() {
        let mut input: &[u8] = b"{\"type\":\"subscribe\"}\n\n";
        let mut read = BufReader::new(&mut input);
        assert_eq!(
            read_line(&mut read, MAX_LINE).await.unwrap().unwrap(),
            b"{\"type\":\"subscribe\"}"
        );
        assert_eq!(read_line(&mut read, MAX_LINE).await.unwrap().unwrap(), b"");
        assert_eq!(read_line(&mut read, MAX_LINE).await.unwrap(), None);

        let mut half: &[u8] = b"{\"type\":";
        assert_eq!(
            read_line(&mut BufReader::new(&mut half), MAX_LINE)
                .await
                .unwrap(),
            None
        );

        let long = vec![b'x'; MAX_LINE + 1];
        let mut long: &[u8] = &long;
        let refused = read_line(&mut BufReader::new(&mut long), MAX_LINE)
            .await
            .unwrap_err();
        assert!(
            refused.message.contains("longer than"),
            "{}",
            refused.message
        );
    }
}
