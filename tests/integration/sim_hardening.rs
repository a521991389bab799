//! The emulator left running on a port: bounded memory for the request log and for
//! request bodies, slow or idle clients that cannot lock it out, and an admin API
//! that web pages in the developer's browser cannot drive.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use emcee::sim::{ServerLimits, SimOptions};

use crate::support::{CONTROL, Emu, MEETING, PASSWORD, TOWN_HALL};

/// Long enough for any answer on a loaded machine; reaching it means a hang.
const WATCHDOG: Duration = Duration::from_secs(60);

async fn watchdog<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WATCHDOG, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: no outcome within {WATCHDOG:?}"))
}

/// Reads one response head from `stream` and returns its status code.
async fn read_status(stream: &mut TcpStream) -> u16 {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.expect("read the answer");
        assert!(n == 1, "connection closed mid-head: {head:?}");
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head);
    text.split(' ').nth(1).unwrap().parse().unwrap()
}

/// Sends `request` as is on a new connection and returns the answer's status.
async fn raw(addr: SocketAddr, request: &str) -> u16 {
    watchdog("a raw request", async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("send");
        read_status(&mut stream).await
    })
    .await
}

// --- The request log keeps little of each body ---------------------------------

#[tokio::test]
async fn large_bodies_are_logged_cut_short_and_masked() {
    let emu = Emu::start(TOWN_HALL).await;
    // Almost a megabyte of small objects: many times its size once parsed.
    let attendees: Vec<Value> = (0..20_000)
        .map(|i| json!({"name": format!("n{i}"), "pwd": "hunter2"}))
        .collect();
    let body = json!({ "attendees": attendees }).to_string();
    assert!(body.len() < 1024 * 1024);
    // Refused for want of a token, and logged all the same.
    emu.send(
        emu.client
            .post(emu.url(&format!("{CONTROL}/participants")))
            .query(&[("conferenceID", MEETING)])
            .header("content-type", "application/json")
            .body(body),
    )
    .await
    .error(401, "MMC.111070111");

    let log = emu.requests().await;
    let entry = log.last().unwrap();
    assert_eq!(entry["body_truncated"], true, "{entry}");
    let kept = entry["body"].as_str().expect("a cut body is kept as text");
    assert_eq!(kept.len(), 4096);
    assert!(kept.starts_with(r#"{"attendees":[{"name":"n0","pwd":"***"},"#));
    assert!(!kept.contains("hunter2"));
    // A small body is still kept whole, as JSON.
    let host = emu.host(MEETING, PASSWORD).await;
    host.put("/lock", json!({"isLock": 1})).await.ok();
    let entry = emu.requests().await.pop().unwrap();
    assert_eq!(entry["body"], json!({"isLock": 1}));
    assert!(entry.get("body_truncated").is_none());
}

#[tokio::test]
async fn a_body_declared_too_large_is_refused_before_it_is_sent() {
    let emu = Emu::start(TOWN_HALL).await;
    let addr = emu.handle.local_addr();
    // Only the head goes out: the answer must not wait for a gigabyte.
    let head = |path: &str| {
        format!(
            "PUT {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: 1000000000\r\n\r\n"
        )
    };
    let api = head(&format!("{CONTROL}/lock?conferenceID={MEETING}"));
    assert_eq!(raw(addr, &api).await, 413);
    assert_eq!(raw(addr, &head("/_sim/faults")).await, 413);
    let log = emu.requests().await;
    assert_eq!(log.last().unwrap()["status"], 413);
}

// --- The admin API is not for web pages -----------------------------------------

#[tokio::test]
async fn admin_changes_need_a_json_content_type() {
    let emu = Emu::start(TOWN_HALL).await;
    let send = |method: &str, path: &str, content_type: Option<&str>, body: &str| {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = emu.client.request(method, emu.url(path));
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        emu.send(request.body(body.to_owned()))
    };
    let faults = r#"{"rules":[{"path":"/v1/mmc/control/conferences/lock","error":{"status":500,"code":"X"}}]}"#;
    // What a page can send across sites without asking: no type, text, forms.
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
    ] {
        send("POST", "/_sim/reset", content_type, "")
            .await
            .error(415, "SIM.NOT_JSON");
        send("PUT", "/_sim/faults", content_type, faults)
            .await
            .error(415, "SIM.NOT_JSON");
        send(
            "DELETE",
            &format!("/_sim/meetings/{MEETING}"),
            content_type,
            "",
        )
        .await
        .error(415, "SIM.NOT_JSON");
    }
    // Nothing changed.
    assert_eq!(
        emu.admin("GET", "/_sim/faults", None).await.body["rules"],
        json!([])
    );
    emu.meeting(MEETING).await;
    // With the header, the same calls go through, a body-less reset included.
    let json = Some("application/json; charset=utf-8");
    send("PUT", "/_sim/faults", json, faults).await.ok();
    assert_eq!(send("POST", "/_sim/reset", json, "").await.status, 204);
    assert_eq!(
        emu.admin("GET", "/_sim/faults", None).await.body["rules"],
        json!([])
    );
}

#[tokio::test]
async fn the_admin_api_refuses_foreign_hosts_and_origins() {
    let emu = Emu::start(TOWN_HALL).await;
    let addr = emu.handle.local_addr();
    let port = addr.port();
    let get = |host: &str, origin: Option<&str>| {
        let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
        format!("GET /_sim/meetings HTTP/1.1\r\nHost: {host}\r\n{origin}Connection: close\r\n\r\n")
    };
    // DNS rebinding: a page's own name, resolved to the emulator, reads its state.
    assert_eq!(
        raw(addr, &get(&format!("rebind.example:{port}"), None)).await,
        403
    );
    assert_eq!(raw(addr, &get("127.0.0.1", None)).await, 403);
    assert_eq!(
        raw(addr, "GET /_sim/meetings HTTP/1.0\r\n\r\n").await,
        403,
        "no Host at all"
    );
    // A page elsewhere calling the right address.
    let here = format!("127.0.0.1:{port}");
    for origin in ["http://evil.example", "null", &format!("https://{here}")] {
        assert_eq!(raw(addr, &get(&here, Some(origin))).await, 403, "{origin}");
    }
    let answer = emu
        .send(
            emu.client
                .post(emu.url("/_sim/reset"))
                .header("content-type", "application/json")
                .header("origin", "http://evil.example"),
        )
        .await;
    answer
        .error(403, "SIM.FORBIDDEN")
        .msg_contains("other sites");
    // The address itself, by number or as localhost, from itself or from a tool.
    assert_eq!(raw(addr, &get(&here, None)).await, 200);
    assert_eq!(
        raw(addr, &get(&format!("localhost:{port}"), None)).await,
        200
    );
    let origin = format!("http://{here}");
    assert_eq!(raw(addr, &get(&here, Some(&origin))).await, 200);
}

#[tokio::test]
async fn the_control_api_answers_under_any_host_name() {
    let emu = Emu::start(TOWN_HALL).await;
    let addr = emu.handle.local_addr();
    let request = format!(
        "GET {CONTROL}/token?conferenceID={MEETING} HTTP/1.1\r\n\
         Host: api.meeting.example.com\r\nX-Login-Type: 1\r\nX-Password: {PASSWORD}\r\n\
         Connection: close\r\n\r\n"
    );
    assert_eq!(raw(addr, &request).await, 200);
}

// --- Slow and idle clients cannot lock it out -----------------------------------

/// An emulator with small limits, so tests see them at work quickly.
async fn limited(max_connections: usize, header_timeout: Duration, idle_timeout: Duration) -> Emu {
    let limits = ServerLimits {
        max_connections,
        header_timeout,
        idle_timeout,
    };
    Emu::start_with(
        TOWN_HALL,
        SimOptions {
            limits,
            ..SimOptions::default()
        },
    )
    .await
}

/// Reads until the server closes the connection, whatever it sent first.
async fn until_closed(stream: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

#[tokio::test]
async fn slow_headers_are_cut_off_and_everyone_else_is_still_served() {
    let second = Duration::from_secs(1);
    let emu = limited(4, second, second).await;
    let addr = emu.handle.local_addr();
    // Four times as many as it serves at once, each sending a head it never ends.
    let mut slow = Vec::new();
    for _ in 0..16 {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(format!("GET /_sim/clock HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ").as_bytes())
            .await
            .expect("send");
        slow.push(stream);
    }
    // And some that connect and say nothing at all.
    for _ in 0..4 {
        slow.push(TcpStream::connect(addr).await.expect("connect"));
    }
    watchdog(
        "a call behind slow clients",
        emu.client.get(emu.url("/_sim/clock")).send(),
    )
    .await
    .expect("answered")
    .error_for_status()
    .expect("200");
    for stream in &mut slow {
        watchdog("closing a slow client", until_closed(stream)).await;
    }
}

#[tokio::test]
async fn connections_past_the_limit_wait_their_turn() {
    let emu = limited(1, WATCHDOG * 2, WATCHDOG * 2).await;
    let addr = emu.handle.local_addr();
    let call = move |meeting: &str| {
        format!("GET {CONTROL}/token?conferenceID={meeting} HTTP/1.1\r\nHost: {addr}\r\n")
    };
    // The first connection takes the only slot, and takes its time.
    let mut first = TcpStream::connect(addr).await.expect("connect");
    first.write_all(call("111").as_bytes()).await.expect("send");
    let second_call = format!("{}Connection: close\r\n\r\n", call("222"));
    let second = tokio::spawn(async move { raw(addr, &second_call).await });
    // Time in which a server without the limit would answer the second call.
    tokio::time::sleep(Duration::from_millis(300)).await;
    first
        .write_all(b"Connection: close\r\n\r\n")
        .await
        .expect("send");
    // Both refused alike (no password): what counts is the order they were served in.
    let status = watchdog("the first call", read_status(&mut first)).await;
    assert_eq!(second.await.unwrap(), status);
    let order: Vec<Value> = emu
        .requests()
        .await
        .iter()
        .map(|r| r["query"]["conferenceID"].clone())
        .collect();
    assert_eq!(order, [json!("111"), json!("222")]);
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_408() {
    let emu = limited(4, WATCHDOG * 2, Duration::from_secs(1)).await;
    let addr = emu.handle.local_addr();
    for path in [
        format!("{CONTROL}/lock?conferenceID={MEETING}"),
        "/_sim/faults".into(),
    ] {
        let head = format!(
            "PUT {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: 100\r\n\r\n{{\"isLock\":"
        );
        assert_eq!(raw(addr, &head).await, 408, "{path}");
    }
    let log = emu.requests().await;
    assert_eq!(log.last().unwrap()["status"], 408);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected() {
    let emu = limited(4, WATCHDOG * 2, Duration::from_secs(1)).await;
    let addr = emu.handle.local_addr();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.expect("connect");
    // Requests for the meetings' state, sent on and on, their answers never read:
    // the server's writes back up until it gives up on the client.
    let request = format!("GET /_sim/meetings HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let batch = request.repeat(100);
    watchdog("a client that never reads", async {
        loop {
            if stream.write_all(batch.as_bytes()).await.is_err() {
                break;
            }
        }
    })
    .await;
}
