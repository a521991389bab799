//! A small HTTP server on loopback port 0 that misbehaves on purpose: each request is
//! answered as the test's script says (a raw answer, an endless body, or silence), and
//! every request is recorded, so tests can count calls and see which headers arrived.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub method: String,
    /// The request target, query included.
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    /// The path without the query.
    pub(crate) fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    pub(crate) fn is_token_call(&self) -> bool {
        self.path().ends_with("/token")
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How to answer one request.
pub(crate) enum Reply {
    /// These bytes, then the connection is closed.
    Raw(Vec<u8>),
    /// A 200 head, then body bytes for as long as the client reads them.
    Endless,
    /// Nothing at all; the connection stays open.
    Silent,
}

impl Reply {
    /// An answer with a status, extra headers and a body.
    pub(crate) fn with(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
        let mut head = format!(
            "HTTP/1.1 {status} Hostile\r\ncontent-length: {}\r\nconnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        Reply::Raw([head.into_bytes(), body.as_bytes().to_vec()].concat())
    }

    pub(crate) fn json(status: u16, body: &Value) -> Reply {
        Reply::with(
            status,
            &[("content-type", "application/json")],
            &body.to_string(),
        )
    }

    /// A token answer that lives an hour.
    pub(crate) fn token() -> Reply {
        Reply::json(
            200,
            &json!({"data": {"token": "hostile-token", "confTokenExpireTime": 3600}}),
        )
    }

    /// A token answer whose expiry is long past (and no lifetime in seconds).
    pub(crate) fn expired_token() -> Reply {
        Reply::json(
            200,
            &json!({"data": {"token": "hostile-token", "expireTime": 1000}}),
        )
    }

    /// An empty 200, what the API's actions answer.
    pub(crate) fn ok() -> Reply {
        Reply::json(200, &json!({}))
    }
}

type Script = dyn Fn(&Seen) -> Reply + Send + Sync;

/// The server; dropping it stops it and closes every connection.
pub(crate) struct Hostile {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Hostile {
    pub(crate) async fn start(script: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let log = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            // The connections live in this set, so stopping the server closes them.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { return };
                        connections.spawn(serve(stream, Arc::clone(&script), Arc::clone(&log)));
                    }
                    Some(_) = connections.join_next() => {}
                }
            }
        });
        Hostile { url, seen, task }
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Every request so far, in order.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub(crate) fn token_calls(&self) -> usize {
        self.seen().iter().filter(|s| s.is_token_call()).count()
    }

    /// Calls other than the token call.
    pub(crate) fn control_calls(&self) -> usize {
        self.seen().iter().filter(|s| !s.is_token_call()).count()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Requests on one connection, one after another, until a reply closes it.
async fn serve(mut stream: TcpStream, script: Arc<Script>, log: Arc<Mutex<Vec<Seen>>>) {
    let mut buffer = Vec::new();
    loop {
        let Some(seen) = read_request(&mut stream, &mut buffer).await else {
            return;
        };
        let reply = script(&seen);
        log.lock().unwrap().push(seen);
        match reply {
            Reply::Raw(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.shutdown().await;
                return;
            }
            Reply::Endless => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n[";
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = "0,".repeat(32 * 1024);
                while stream.write_all(chunk.as_bytes()).await.is_ok() {}
                return;
            }
            Reply::Silent => std::future::pending::<()>().await,
        }
    }
}

/// Reads one request's head and body; `None` once the client hangs up.
async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Seen> {
    let end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buffer.len() > 64 * 1024 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let seen = Seen {
        method,
        target,
        headers,
    };
    let length: usize = seen
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buffer.len() < end + length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    buffer.drain(..end + length);
    Some(seen)
}
