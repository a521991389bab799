//! The channel's two ends together, over a real socket in a temporary directory.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::watch;

use super::client::{Connection, request};
use super::protocol::{
    ClientMessage, Command, MAX_LINE, Reply, RunInfo, ServerMessage, ShowState, Via, Who,
};
use super::server::{self, Handle, Server};

fn run_info() -> RunInfo {
    RunInfo {
        run_id: "20261202T141500Z-914-7".into(),
        playbook: "Town hall".into(),
        file: "town-hall.yaml".into(),
        meeting: "914".into(),
        endpoint: "the built-in emulator".into(),
        pid: 7,
        user: "ana".into(),
        rehearsal: true,
    }
}

/// A handle that takes every command and remembers who sent it.
/// The commands a handle took, and from whom.
type Seen = Arc<Mutex<Vec<(Command, Who)>>>;

fn recording() -> (Handle, Seen) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&seen);
    let handle: Handle = Arc::new(move |command: Command, who: Who| {
        kept.lock().unwrap().push((command, who));
        Reply {
            ok: true,
            message: "taken".into(),
            state: None,
        }
    });
    (handle, seen)
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    server: Option<Server>,
    states: watch::Sender<ShowState>,
    seen: Seen,
}

fn uid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

fn serve_as(uid: u32) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = server::socket_path(dir.path(), "run-1");
    let (states, receiver) = watch::channel(ShowState {
        now: "0".into(),
        ..ShowState::default()
    });
    let (handle, seen) = recording();
    let server = server::listen_as(uid, &path, run_info(), handle, receiver).unwrap();
    Fixture {
        _dir: dir,
        path,
        server: Some(server),
        states,
        seen,
    }
}

fn serve() -> Fixture {
    serve_as(uid())
}

async fn status_works(path: &Path) {
    let reply = tokio::time::timeout(
        Duration::from_secs(5),
        request(path, Command::Status, Via::Cue),
    )
    .await
    .expect("the run answers in time")
    .unwrap();
    assert!(reply.ok, "{reply:?}");
    assert!(reply.state.is_some());
}

/// Everything the run sends until it closes the connection.
async fn rest(mut stream: UnixStream) -> String {
    let mut text = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut text))
        .await
        .expect("the run closes the connection")
        .unwrap_or_default();
    text
}

#[tokio::test]
async fn the_socket_is_private_and_goes_with_the_server() {
    let mut fixture = serve();
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&fixture.path), 0o600);
    assert_eq!(mode(fixture.path.parent().unwrap()), 0o700);
    drop(fixture.server.take());
    assert!(!fixture.path.exists());
}

#[tokio::test]
async fn a_stale_socket_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = server::socket_path(dir.path(), "run-1");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let (_states, receiver) = watch::channel(ShowState::default());
    let (handle, _) = recording();
    let _server = server::listen(&path, run_info(), handle, receiver).unwrap();
    status_works(&path).await;
}

#[tokio::test]
async fn another_user_is_told_whose_run_it_is() {
    let fixture = serve_as(uid().wrapping_add(1));
    let Err(error) = Connection::open(&fixture.path).await else {
        panic!("admitted");
    };
    assert_eq!(error.to_string(), "refused: this run belongs to ana");
    assert!(fixture.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn commands_reach_the_run_with_the_user_it_saw() {
    let fixture = serve();
    let (_, run) = Connection::open(&fixture.path).await.unwrap();
    assert_eq!(run, run_info());
    let reply = request(
        &fixture.path,
        Command::Skip {
            step: Some("4".into()),
        },
        Via::Console,
    )
    .await
    .unwrap();
    assert_eq!(reply.message, "taken");
    let seen = fixture.seen.lock().unwrap();
    let (command, who) = &seen[0];
    assert_eq!(
        *command,
        Command::Skip {
            step: Some("4".into())
        }
    );
    assert_eq!(who.uid, uid());
    assert_eq!(who.user, server::current_user());
    assert_eq!(who.via, Via::Console);
}

#[tokio::test]
async fn status_is_answered_from_the_latest_state() {
    let fixture = serve();
    fixture.states.send_modify(|state| state.held = true);
    let reply = request(&fixture.path, Command::Status, Via::Cue)
        .await
        .unwrap();
    assert!(reply.state.unwrap().held);
    assert_eq!(reply.message, "between steps; held");
    assert!(
        fixture.seen.lock().unwrap().is_empty(),
        "not the run's to answer"
    );
}

#[tokio::test]
async fn garbage_gets_an_error_and_the_door() {
    let fixture = serve();
    let mut stream = UnixStream::connect(&fixture.path).await.unwrap();
    stream.write_all(b"\x00\xffnot json\n").await.unwrap();
    let text = rest(stream).await;
    assert!(text.starts_with(r#"{"type":"hello""#), "{text}");
    assert!(
        text.contains(r#""ok":false"#) && text.contains("not a message of this run"),
        "{text}"
    );
    status_works(&fixture.path).await;
}

#[tokio::test]
async fn a_huge_line_gets_an_error_and_the_door() {
    let fixture = serve();
    let stream = UnixStream::connect(&fixture.path).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..(MAX_LINE / chunk.len() + 2) {
            if write.write_all(&chunk).await.is_err() {
                return;
            }
        }
    });
    let mut text = String::new();
    tokio::time::timeout(Duration::from_secs(10), read.read_to_string(&mut text))
        .await
        .expect("the run closes the connection")
        .unwrap();
    assert!(text.contains("a line longer than"), "{text}");
    writer.abort();
    status_works(&fixture.path).await;
}

#[tokio::test]
async fn half_a_line_then_gone_leaves_the_run_alone() {
    let fixture = serve();
    let mut stream = UnixStream::connect(&fixture.path).await.unwrap();
    stream
        .write_all(br#"{"type":"command","command":{"op":"ho"#)
        .await
        .unwrap();
    drop(stream);
    status_works(&fixture.path).await;
    assert!(fixture.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn many_connections_are_bounded_and_the_run_answers_after() {
    let fixture = serve();
    let mut held = Vec::new();
    for _ in 0..100 {
        held.push(UnixStream::connect(&fixture.path).await.unwrap());
    }
    // The ones past the limit are turned away, saying why.
    let last = held.pop().unwrap();
    let text = rest(last).await;
    assert!(text.contains("too many connections"), "{text}");
    drop(held);
    tokio::time::sleep(Duration::from_millis(100)).await;
    status_works(&fixture.path).await;
}

#[tokio::test]
async fn subscribers_get_the_latest_state_at_a_bounded_rate() {
    let fixture = serve();
    let (connection, _) = Connection::open(&fixture.path).await.unwrap();
    let (mut sender, mut receiver) = connection.split();
    sender.send(&ClientMessage::Subscribe).await.unwrap();
    let first = receiver.recv().await.unwrap();
    assert!(matches!(first, Some(ServerMessage::State(s)) if s.now == "0"));
    let publisher = {
        let states = fixture.states.clone();
        async move {
            for n in 1..=50 {
                states.send_modify(|state| state.now = n.to_string());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    let started = tokio::time::Instant::now();
    publisher.await;
    let mut received = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_millis(400), receiver.recv()).await;
        match next {
            Ok(Ok(Some(ServerMessage::State(state)))) => received.push(state.now),
            _ => break,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(
        received.last().map(String::as_str),
        Some("50"),
        "{received:?}"
    );
    assert!(
        (received.len() as f64) <= seconds * 10.0 + 2.0,
        "{} states in {seconds:.2}s: {received:?}",
        received.len()
    );
}

#[tokio::test]
async fn a_client_that_never_reads_holds_nothing_up() {
    let fixture = serve();
    let mut stuck = UnixStream::connect(&fixture.path).await.unwrap();
    stuck
        .write_all(b"{\"type\":\"subscribe\"}\n")
        .await
        .unwrap();
    let big = "x".repeat(64 * 1024);
    let published = tokio::time::timeout(Duration::from_secs(5), async {
        for n in 0..200 {
            fixture.states.send_modify(|state| {
                state.now = format!("{n}{big}");
            });
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(published.is_ok(), "the run was held up");
    status_works(&fixture.path).await;
    drop(stuck);
}

#[tokio::test]
async fn the_end_of_the_run_sends_the_final_state_and_closes() {
    let mut fixture = serve();
    let (connection, _) = Connection::open(&fixture.path).await.unwrap();
    let (mut sender, mut receiver) = connection.split();
    sender.send(&ClientMessage::Subscribe).await.unwrap();
    assert!(matches!(
        receiver.recv().await.unwrap(),
        Some(ServerMessage::State(_))
    ));
    fixture
        .states
        .send_modify(|state| state.finished = Some("ok".into()));
    let (states, _) = watch::channel(ShowState::default());
    drop(std::mem::replace(&mut fixture.states, states));
    let server = fixture.server.take().unwrap();
    let closing = tokio::spawn(server.close());
    let mut last = None;
    while let Some(message) = receiver.recv().await.unwrap() {
        last = Some(message);
    }
    let Some(ServerMessage::State(state)) = last else {
        panic!("no final state: {last:?}");
    };
    assert_eq!(state.finished.as_deref(), Some("ok"));
    closing.await.unwrap();
    assert!(!fixture.path.exists());
}

#[tokio::test]
async fn a_run_of_another_protocol_version_is_named_so() {
    let dir = tempfile::tempdir().unwrap();
    let control = dir.path().join("control");
    std::fs::create_dir_all(&control).unwrap();
    let path = control.join("old.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream
                .write_all(b"{\"type\":\"hello\",\"version\":99,\"run\":{\"meeting\":\"914\"}}\n")
                .await;
        }
    });
    let Err(error) = Connection::open(&path).await else {
        panic!("opened");
    };
    let text = error.to_string();
    assert!(
        text.contains("speaks version 99 of the control protocol, and this emcee version 1"),
        "{text}"
    );
    // Looking for that meeting's run says so rather than that none listens.
    let target = super::client::Target {
        meeting: "914".into(),
        state_dir: Some(dir.path().to_owned()),
        ..super::client::Target::default()
    };
    let error = super::client::find(&target).await.unwrap_err();
    assert!(error.to_string().contains("version 99"), "{error}");
    // Another meeting's run of another version is not in the way.
    let other = super::client::Target {
        meeting: "915".into(),
        ..target
    };
    let error = super::client::find(&other).await.unwrap_err();
    assert!(
        error.to_string().contains("no run of meeting 915"),
        "{error}"
    );
}

fn target(state_dir: &Path, meeting: &str) -> super::client::Target {
    super::client::Target {
        meeting: meeting.into(),
        state_dir: Some(state_dir.to_owned()),
        ..super::client::Target::default()
    }
}

#[tokio::test]
async fn a_run_that_misbehaves_keeps_no_other_meeting_from_its_operators() {
    let dir = tempfile::tempdir().unwrap();
    let control = dir.path().join("control");
    std::fs::create_dir_all(&control).unwrap();
    // Another meeting's run that takes connections and never says Hello (a busy one,
    // say), and a socket whose run cannot be told, which closes every connection.
    let silent = std::os::unix::net::UnixListener::bind(
        control.join(format!("20261202T000000Z-111-{}.sock", std::process::id())),
    )
    .unwrap();
    let odd = tokio::net::UnixListener::bind(control.join("odd.sock")).unwrap();
    let closer = tokio::spawn(async move {
        while let Ok((stream, _)) = odd.accept().await {
            drop(stream);
        }
    });
    let path = control.join("20261202T000000Z-914-7.sock");
    let (_states, receiver) = watch::channel(ShowState::default());
    let (handle, _) = recording();
    let _server = server::listen(&path, run_info(), handle, receiver).unwrap();
    let found = tokio::time::timeout(
        Duration::from_secs(2),
        super::client::find(&target(dir.path(), "914")),
    )
    .await
    .expect("the silent run is not waited for")
    .unwrap();
    assert_eq!(found, path);
    closer.abort();
    drop(silent);
}

#[tokio::test]
async fn a_socket_whose_run_is_alive_is_not_taken_for_stale() {
    let dir = tempfile::tempdir().unwrap();
    let control = dir.path().join("control");
    std::fs::create_dir_all(&control).unwrap();
    // Made and not listened on, as a starting run's is for a moment; its pid is alive.
    let starting = control.join(format!("20261202T000000Z-914-{}.sock", std::process::id()));
    drop(std::os::unix::net::UnixListener::bind(&starting).unwrap());
    let gone = control.join("20261202T000000Z-914-4194305.sock");
    drop(std::os::unix::net::UnixListener::bind(&gone).unwrap());
    let error = super::client::find(&target(dir.path(), "914"))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("no run of meeting 914"),
        "{error}"
    );
    assert!(starting.exists(), "a live run's socket stays");
    assert!(!gone.exists(), "a dead run's socket goes");
}

#[tokio::test]
async fn only_sockets_are_removed_as_stale() {
    let dir = tempfile::tempdir().unwrap();
    let control = dir.path().join("control");
    std::fs::create_dir_all(&control).unwrap();
    let kept = dir.path().join("kept");
    std::fs::write(&kept, "not ours to remove").unwrap();
    let file = control.join("20261202T000000Z-914-4194305.sock");
    std::fs::write(&file, "a file named like a socket").unwrap();
    let link = control.join("20261202T000001Z-914-4194305.sock");
    std::os::unix::fs::symlink(&kept, &link).unwrap();
    let error = super::client::find(&target(dir.path(), "914"))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("no run of meeting 914"),
        "{error}"
    );
    assert!(file.exists() && link.exists() && kept.exists());
}
