//! The baseline of the control-channel benchmark (`benches/control.py`): a bare tokio
//! Unix-socket server in the shape of a run's control channel, and a client for it.
//! The server runs on a current-thread runtime, as a run does; on every connection it
//! first writes a hello line, then answers each JSON line it reads with one JSON reply
//! line, parsing the command and serializing the reply as the channel does, and
//! nothing else.
//!
//! Usage:
//!   socket_echo serve PATH
//!     listens on PATH, prints `ready` once it does, serves until killed.
//!   socket_echo client PATH COUNT
//!     connects to PATH and makes COUNT round trips of a `go` command, one at a time;
//!     prints the round trips in microseconds as a JSON list.

use std::time::Instant;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

const GO: &str = r#"{"type":"command","command":{"op":"go"},"via":"cue"}"#;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["serve", path] => runtime.block_on(serve(path)),
        ["client", path, count] => {
            let count = count.parse().expect("COUNT is a number");
            let trips = runtime.block_on(client(path, count));
            println!("{}", json!(trips));
        }
        _ => {
            eprintln!("usage: socket_echo serve PATH | socket_echo client PATH COUNT");
            std::process::exit(2);
        }
    }
}

async fn serve(path: &str) {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path).expect("bind");
    println!("ready");
    loop {
        let (stream, _) = listener.accept().await.expect("accept");
        tokio::spawn(connection(stream));
    }
}

async fn connection(stream: UnixStream) {
    let (read, mut write) = stream.into_split();
    let hello = json!({"type": "hello", "version": 1, "run": {"run_id": "baseline"}});
    if write
        .write_all(format!("{hello}\n").as_bytes())
        .await
        .is_err()
    {
        return;
    }
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let command: Value = match serde_json::from_str(&line) {
            Ok(value) => value,
            Err(_) => return,
        };
        let op = command["command"]["op"].as_str().unwrap_or("?").to_owned();
        let reply = json!({"type": "reply", "ok": true, "message": format!("{op}: taken")});
        if write
            .write_all(format!("{reply}\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

async fn client(path: &str, count: usize) -> Vec<u128> {
    let stream = UnixStream::connect(path).await.expect("connect");
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    lines.next_line().await.expect("hello").expect("hello line");
    let mut trips = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        write
            .write_all(format!("{GO}\n").as_bytes())
            .await
            .expect("write");
        let reply = lines.next_line().await.expect("reply").expect("reply line");
        trips.push(started.elapsed().as_micros());
        assert!(reply.contains("\"ok\":true"), "{reply}");
    }
    trips
}
