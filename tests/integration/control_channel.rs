//! The control channel end to end: a rehearsal that listens (`run --sim --control`)
//! and `emcee cue` finding it, asking where it is, and being told; no run, a stale
//! socket, two runs of one meeting; the socket's privacy; hostile clients; the socket
//! gone with the run.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;

use crate::support::*;

/// A show that waits ten minutes for its second cue: it listens until told to stop.
fn long_show() -> Run {
    Run::playbook(&playbook_with_steps(
        "Town hall",
        "  - name: open\n    wait: 100ms\n  - name: intro\n    at: +10m\n    log: hello\n",
    ))
}

/// A show that ends by itself in a few seconds.
fn short_show() -> Run {
    Run::playbook(&playbook_with_steps(
        "Short",
        "  - name: open\n    wait: 3s\n  - name: close\n    log: bye\n",
    ))
}

#[tokio::test]
async fn status_of_a_running_rehearsal() {
    let run = long_show().listening().await;
    // The first step is over once the second counts down to its cue.
    let mut json;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let output = run.cue(&["status", "--json"]).await;
        assert_eq!(output.code, 0, "{}", output.transcript());
        json = serde_json::from_str::<serde_json::Value>(&output.stdout).unwrap();
        if json["state"]["steps"][1]["state"] == "waiting" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{json:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(json["state"]["run"]["run_id"], run.run_id());
    insta::assert_json_snapshot!(json, {
        ".state.run.run_id" => "[run id]",
        ".state.run.pid" => "[pid]",
        ".state.run.user" => "[user]",
        ".state.current.left_ms" => "[left]",
        ".state.next_cue.left_ms" => "[left]",
        ".state.log[].text" => insta::dynamic_redaction(|value, _| {
            // Elapsed times vary; the lines are the display's.
            let text = value.as_str().unwrap_or_default().to_owned();
            insta::internals::Content::from(text.split(" (").next().unwrap_or_default().to_owned())
        }),
    });

    let text = run.cue(&["status"]).await;
    assert_eq!(text.code, 0, "{}", text.transcript());
    assert!(
        text.stdout
            .contains("step      2 intro: waiting for its cue ("),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("held      no"), "{}", text.stdout);
    assert!(text.stdout.contains("feed      "), "{}", text.stdout);

    let abort = run.cue(&["abort"]).await;
    assert_eq!(abort.code, 0, "{}", abort.transcript());
    let (output, _dir) = run.finish().await;
    assert_eq!(output.code, 5, "{}", output.transcript());
}

#[tokio::test]
async fn commands_the_run_refuses_exit_1_with_the_reason() {
    let run = long_show().listening().await;
    let refused = run.cue(&["skip", "99"]).await;
    assert_eq!(refused.code, 1, "{}", refused.transcript());
    assert!(refused.stdout.is_empty(), "{}", refused.transcript());
    assert!(refused.stderr.contains("99"), "{}", refused.transcript());
    let json = run.cue(&["skip", "99", "--json"]).await;
    assert_eq!(json.code, 1, "{}", json.transcript());
    let reply: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(reply["ok"], false, "{}", json.transcript());
    assert!(reply["message"].as_str().unwrap().contains("99"));
    let held = run.cue(&["hold"]).await;
    assert_eq!(held.code, 0, "{}", held.transcript());
    assert!(!held.stdout.is_empty(), "{}", held.transcript());
    let status = run.cue(&["status", "--json"]).await;
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(json["state"]["held"], true, "{json:#}");
    run.cue(&["abort"]).await;
    run.finish().await;
}

#[tokio::test]
async fn the_next_cue_is_not_one_an_operator_skipped() {
    let run = Run::playbook(&playbook_with_steps(
        "Skipped",
        "  - wait: 10m\n  - name: two\n    at: +20m\n    log: two\n  - name: three\n    at: +30m\n    log: three\n",
    ))
    .listening()
    .await;
    let next = |status: &Output| {
        let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
        json["state"]["next_cue"]["id"].as_str().map(str::to_owned)
    };
    assert_eq!(
        next(&run.cue(&["status", "--json"]).await).as_deref(),
        Some("2")
    );
    assert_eq!(run.cue(&["skip", "2"]).await.code, 0);
    assert_eq!(
        next(&run.cue(&["status", "--json"]).await).as_deref(),
        Some("3")
    );
    run.cue(&["abort"]).await;
    run.finish().await;
}

#[tokio::test]
async fn no_run_listening_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let output = cue_in(dir.path(), &["status"]).await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    assert!(
        output.stderr.contains(&format!(
            "no run of meeting {MEETING} is listening (looked in {})",
            dir.path().join("control").display()
        )),
        "{}",
        output.transcript()
    );
    // A script asking for JSON gets it whatever happened.
    let output = cue_in(dir.path(), &["status", "--json"]).await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    let reply: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(reply["ok"], false);
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .contains("is listening (looked in"),
        "{reply}"
    );
}

#[tokio::test]
async fn a_stale_socket_is_said_removed_and_not_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let control = dir.path().join("control");
    std::fs::create_dir_all(&control).unwrap();
    // A pid no process can have (above the kernel's limit): its run is surely gone.
    let stale = control.join("20261202T000000Z-914044873-4194305.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let output = cue_in(dir.path(), &["status"]).await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    assert!(
        output.stderr.contains(&format!(
            "removed a stale control socket: {} (its run is gone)",
            stale.display()
        )),
        "{}",
        output.transcript()
    );
    assert!(!stale.exists());
}

#[tokio::test]
async fn two_runs_of_one_meeting_are_listed_and_run_picks_one() {
    let state = tempfile::tempdir().unwrap();
    let first = long_show().listening_in(state.path()).await;
    let second = long_show().listening_in(state.path()).await;
    let output = cue_in(state.path(), &["status"]).await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output
            .stderr
            .contains("2 runs of meeting 914044873 are listening; pick one with --run ID"),
        "{}",
        output.transcript()
    );
    for run in [&first, &second] {
        assert!(
            output.stderr.contains(&run.run_id()),
            "{}",
            output.transcript()
        );
    }
    let picked = cue_in(
        state.path(),
        &["status", "--json", "--run", &second.run_id()],
    )
    .await;
    assert_eq!(picked.code, 0, "{}", picked.transcript());
    let json: serde_json::Value = serde_json::from_str(&picked.stdout).unwrap();
    assert_eq!(json["state"]["run"]["run_id"], second.run_id());
    for run in [first, second] {
        run.cue(&["abort", "--run", &run.run_id()]).await;
        run.finish().await;
    }
}

#[tokio::test]
async fn the_socket_is_private() {
    let run = long_show().listening().await;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&run.socket), 0o600);
    assert_eq!(mode(&run.state_dir().join("control")), 0o700);
    run.cue(&["abort"]).await;
    run.finish().await;
}

#[tokio::test]
async fn hostile_clients_do_not_disturb_the_run() {
    let run = short_show().listening().await;
    // Garbage, and a line far too long.
    let mut garbage = UnixStream::connect(&run.socket).await.unwrap();
    garbage.write_all(b"\x00\xff{{{{\n").await.unwrap();
    let mut huge = UnixStream::connect(&run.socket).await.unwrap();
    let flood = tokio::spawn(async move {
        let chunk = vec![b'{'; 64 * 1024];
        for _ in 0..32 {
            if huge.write_all(&chunk).await.is_err() {
                break;
            }
        }
    });
    // Half a line, then gone.
    let mut half = UnixStream::connect(&run.socket).await.unwrap();
    half.write_all(br#"{"type":"command","com"#).await.unwrap();
    drop(half);
    // Many at once, never reading past their greeting. Each is counted once the run
    // has greeted it, so the run is known to be full when one is turned away. The
    // hostile connections above may still be closing meanwhile and free a place
    // before `status` comes: then the run is filled again.
    let mut many = Vec::new();
    let mut turned_away = None;
    for _ in 0..10 {
        fill(&run.socket, &mut many).await;
        let status = run.cue(&["status"]).await;
        if status.code != 0 {
            turned_away = Some(status);
            break;
        }
    }
    // Past the limit a client is turned away, saying why, and the run goes on.
    let turned_away = turned_away.expect("the run never turned a client away");
    assert_eq!(turned_away.code, 1, "{}", turned_away.transcript());
    assert!(
        turned_away.stderr.contains("too many connections"),
        "{}",
        turned_away.transcript()
    );
    drop(many);
    flood.abort();
    // Once those are gone, the run answers again: places are freed as the run sees
    // each connection close, which it does in its own time.
    let mut status = run.cue(&["status"]).await;
    for _ in 0..50 {
        if status.code == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = run.cue(&["status"]).await;
    }
    assert_eq!(status.code, 0, "{}", status.transcript());
    let socket = run.socket.clone();
    let (output, _dir) = run.finish().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(output.stdout.contains("bye"), "{}", output.transcript());
    assert!(!socket.exists(), "the socket is removed at the end");
    drop(garbage);
}

/// Connects to the run until it says it has too many connections, keeping every
/// connection it greeted open.
async fn fill(socket: &std::path::Path, many: &mut Vec<tokio::io::BufReader<UnixStream>>) {
    for _ in 0..200 {
        let Ok(stream) = UnixStream::connect(socket).await else {
            continue;
        };
        let mut reader = tokio::io::BufReader::new(stream);
        let mut first = String::new();
        let read = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::io::AsyncBufReadExt::read_line(&mut reader, &mut first),
        )
        .await;
        assert!(matches!(read, Ok(Ok(_))), "no greeting from the run");
        if first.contains("too many connections") {
            return;
        }
        assert!(first.contains(r#""type":"hello""#), "{first}");
        many.push(reader);
    }
    panic!("the run never said it had too many connections");
}

#[tokio::test]
async fn the_socket_goes_with_the_run() {
    let run = short_show().listening().await;
    let socket = run.socket.clone();
    let state = run.state_dir().to_owned();
    let (output, _dir) = run.finish().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(!socket.exists());
    let after = cue_in(&state, &["status"]).await;
    assert_eq!(after.code, 3, "{}", after.transcript());
    assert!(!after.stderr.contains("stale"), "{}", after.transcript());
}

#[tokio::test]
async fn the_roster_is_there_before_the_shows_first_call() {
    let playbook = format!(
        "{}rehearsal:\n  participants:\n    - {{ name: Alice Zhang, role: host }}\n    - {{ name: Bob Li }}\n",
        playbook_with_steps("Quiet start", "  - wait: 10m\n  - mute: Bob Li\n")
    );
    let run = Run::playbook(&playbook).listening().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let output = run.cue(&["status", "--json"]).await;
        assert_eq!(output.code, 0, "{}", output.transcript());
        let json: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
        let state = &json["state"];
        if state["meeting"]["feed"] == "up"
            && state["roster"].as_array().is_some_and(|r| r.len() == 2)
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{state:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_roster_comes_from_the_feed() {
    let playbook = format!(
        "{}rehearsal:\n  participants:\n    - {{ name: Alice Zhang, role: host }}\n    - {{ name: Bob Li }}\n    - {{ name: Carol Wu, hand: raised }}\n",
        playbook_with_steps(
            "Roster",
            "  - mute: { name: Bob Li }\n  - name: later\n    at: +10m\n    log: hello\n",
        )
    );
    let run = Run::playbook(&playbook).listening().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let state = loop {
        let output = run.cue(&["status", "--json"]).await;
        assert_eq!(output.code, 0, "{}", output.transcript());
        let json: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
        let state = json["state"].clone();
        let bob_muted = state["roster"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["name"] == "Bob Li" && p["muted"] == true);
        if bob_muted {
            break state;
        }
        assert!(std::time::Instant::now() < deadline, "{state:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(state["meeting"]["feed"], "up", "{state:#}");
    let names: Vec<&str> = state["roster"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Alice Zhang", "Bob Li", "Carol Wu"], "{state:#}");
    let carol = &state["roster"][2];
    assert_eq!(carol["hand"], 1, "{state:#}");
    assert_eq!(state["roster"][0]["role"], "host", "{state:#}");
    run.cue(&["abort"]).await;
    run.finish().await;
}

#[tokio::test]
async fn a_run_against_a_service_listens_and_goes_on_without_it_if_it_cannot() {
    let emu = Emu::start(TOWN_HALL).await;
    let steps = "  - name: open\n    wait: 2s\n";
    // A run against a service listens without being asked.
    let run = Run::playbook(&playbook_with_steps("Service", steps));
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_string_lossy().into_owned();
    let running = tokio::spawn(
        run.env("EMCEE_STATE_DIR", &state_dir)
            .against_url(emu.handle.base_url()),
    );
    let control = state.path().join("control");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while sockets(&control).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no socket");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = cue_in(state.path(), &["status", "--json"]).await;
    assert_eq!(status.code, 0, "{}", status.transcript());
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(json["state"]["run"]["rehearsal"], false, "{json:#}");
    let output = running.await.unwrap();
    assert_eq!(output.code, 0, "{}", output.transcript());

    // A socket path too long to bind: the show goes on, and says why it does not listen.
    let deep = state.path().join("d".repeat(120));
    let output = Run::playbook(&playbook_with_steps("Service", "  - log: hello\n"))
        .env("EMCEE_STATE_DIR", &deep.to_string_lossy())
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output
            .stderr
            .contains("not listening for operator commands"),
        "{}",
        output.transcript()
    );
}

#[tokio::test]
async fn a_rehearsal_asked_to_listen_must() {
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("d".repeat(120));
    let output = Run::playbook(&playbook_with_steps("Deep", "  - log: hello\n"))
        .arg("--sim")
        .arg("--control")
        .env("EMCEE_STATE_DIR", &deep.to_string_lossy())
        .output()
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stderr.contains("cannot listen on"),
        "{}",
        output.transcript()
    );
}

#[tokio::test]
async fn the_journal_names_the_user_the_run_saw() {
    let run = long_show().listening().await;
    let status = run.cue(&["status", "--json"]).await;
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let user = json["state"]["run"]["user"].as_str().unwrap().to_owned();
    assert!(!user.is_empty());
    assert_eq!(run.cue(&["hold"]).await.code, 0);
    assert_eq!(run.cue(&["abort"]).await.code, 0);
    let journal = run
        .state_dir()
        .join("runs")
        .join(format!("{}.jsonl", run.run_id()));
    let (output, _dir) = run.finish().await;
    assert_eq!(output.code, 5, "{}", output.transcript());
    let text = std::fs::read_to_string(&journal).unwrap();
    let operators: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["event"] == "operator")
        .collect();
    assert_eq!(operators.len(), 2, "{text}");
    for event in &operators {
        assert_eq!(event["user"], user.as_str(), "{event}");
        assert_eq!(event["via"], "cue", "{event}");
    }
    assert_eq!(operators[0]["command"], "hold");
}

#[tokio::test]
async fn a_cue_after_the_meetings_start_is_known_once_it_has_started() {
    let run = Run::playbook(&playbook_with_steps(
        "Meeting cues",
        "  - name: open\n    wait: 100ms\n  - name: later\n    at: meeting+10m\n    log: hello\n  - name: last\n    at: meeting+20m\n    log: bye\n",
    ))
    // The events' instants, which a deterministic run blanks.
    .env("EMCEE_DETERMINISTIC", "0")
    .listening()
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let state = loop {
        let output = run.cue(&["status", "--json"]).await;
        assert_eq!(output.code, 0, "{}", output.transcript());
        let json: serde_json::Value = serde_json::from_str(&output.stdout).unwrap();
        if json["state"]["steps"][0]["state"] == "ok" {
            break json["state"].clone();
        }
        assert!(std::time::Instant::now() < deadline, "{json:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(state["next_cue"]["id"], "2", "{state:#}");
    let left = state["next_cue"]["left_ms"].as_u64().unwrap();
    assert!((590_000..=600_000).contains(&left), "{state:#}");
    assert!(state["steps"][2]["planned"].is_string(), "{state:#}");
    run.cue(&["abort"]).await;
    run.finish().await;
}
