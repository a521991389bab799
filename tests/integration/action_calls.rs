//! What `emcee actions NAME` says an action calls is what it calls: every action (as
//! `emcee actions` lists them, so a new one cannot be missed) is rehearsed in the
//! situations that make it take its conditional calls where that can be arranged, and
//! the emulator's request log is compared with the printed reference — every call made
//! is listed, and every call marked `always` is made.

use std::collections::BTreeSet;

use crate::support::*;

const MEETING: &str = "name: Calls\nmeeting: { id: \"914044873\", host_password: pw1234 }\n";
const REHEARSAL: &str = "rehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n    - { name: Bob Li, hand: raised }\n    - { name: Carol Wu }\n    - { name: Dan Zhou, role: cohost }\n  waiting_room:\n    - { name: Hana Xu }\n";

/// The steps that rehearse an action, and the files they include.
struct Situation {
    steps: Vec<String>,
    files: Vec<(&'static str, &'static str)>,
}

/// How an action is rehearsed; `None` for an action this test does not know yet,
/// which fails it.
fn situations(action: &str, lock_path: &str) -> Option<Situation> {
    let steps: &[&str] = match action {
        "broadcast" => &["broadcast: Bob Li"],
        "cancel_broadcast" => &["cancel_broadcast: {}"],
        "roll_call" => &["roll_call: Bob Li"],
        // One participant, then several: the single call, then the batch call.
        "raise_hand" => &[
            "raise_hand: Carol Wu",
            "raise_hand: { role: guest, all: true }",
        ],
        "lower_hand" => &[
            "lower_hand: Bob Li",
            "lower_hand: { role: guest, all: true }",
        ],
        // Bob's hand is up: lowered in a batch, then read back.
        "lower_all_hands" => &["lower_all_hands: {}"],
        "mute" => &["mute: Bob Li", "mute: { role: guest, all: true }"],
        "unmute" => &["unmute: Bob Li", "unmute: { role: guest, all: true }"],
        "mute_all" => &["mute_all: { allow_self_unmute: false }"],
        "unmute_all" => &["unmute_all: {}"],
        "allow_self_unmute" => &["allow_self_unmute: false"],
        "set_host" => &["set_host: Bob Li"],
        "set_cohost" => &["set_cohost: Carol Wu"],
        "unset_cohost" => &["unset_cohost: Dan Zhou"],
        "lock" => &["lock: {}"],
        "unlock" => &["unlock: {}"],
        "start_recording" => &["start_recording: {}"],
        "stop_recording" => &["stop_recording: {}"],
        "start_live" => &["start_live: {}"],
        "stop_live" => &["stop_live: {}"],
        "hang_up" => &["hang_up: Carol Wu", "hang_up: { role: guest, all: true }"],
        "invite" => &[
            "invite: { name: Eve Sun, phone: \"+8613800000009\" }",
            "invite: { name: Fay Lin, phone: \"+8613800000010\", wait: answered, timeout: 30s }",
        ],
        "rename" => &["rename: { who: Bob Li, to: Bobby Li }"],
        // One by name from the feed's waiting list, then everyone (nobody is left).
        "admit" => &["admit: Hana Xu", "admit: { all: true }"],
        // One participant, then several: the single call, then the batch call.
        "move_to_waiting_room" => &[
            "move_to_waiting_room: Carol Wu",
            "move_to_waiting_room: [Bob Li, Dan Zhou]",
        ],
        "extend" => &["extend: { minutes: 30 }", "extend: { auto: true }"],
        "end_meeting" => &["end_meeting: {}"],
        "participants" => &["participants: { hand: true }"],
        "wait" => &["wait: 2s"],
        "wait_for" => &["wait_for: { joined: Bob Li, timeout: 1m }"],
        "log" => &["log: hello"],
        "assert" => &["assert: \"1 + 1 == 2\""],
        "set" => &["set: { speaker: Bob Li }"],
        "include" => &["include: parts/hello.yaml"],
        "http" => {
            return Some(Situation {
                steps: vec![format!(
                    "http: {{ method: PUT, path: {lock_path}, body: {{ isLock: 1 }} }}"
                )],
                files: Vec::new(),
            });
        }
        _ => return None,
    };
    let files = match action {
        "include" => vec![("parts/hello.yaml", "steps:\n  - log: hello\n")],
        _ => Vec::new(),
    };
    Some(Situation {
        steps: steps.iter().map(|s| s.to_string()).collect(),
        files,
    })
}

/// Actions rehearsed with the push feed: the waiting room is listed only by it.
const WITH_FEED: &[&str] = &["admit"];

/// Conditional calls the situations cannot bring about, by action and path ending:
/// the emulator mutes everyone `mute_all` asks it to, so the read-back finds nobody to
/// mute again.
const NOT_ARRANGED: &[(&str, &str)] = &[("mute_all", "/participants/mute")];

/// The calls `emcee actions NAME` lists, as (method, path), by their mark.
#[derive(Debug, Default)]
struct Listed {
    always: BTreeSet<(String, String)>,
    conditional: BTreeSet<(String, String)>,
    any_control_call: bool,
    /// The token call named in the section's heading.
    token: (String, String),
}

fn listed(reference: &str) -> Listed {
    let mut lines = reference
        .lines()
        .skip_while(|line| !line.starts_with("API calls"));
    let heading = lines.next().expect("an API calls section");
    let token = heading
        .split_once("after the control token, ")
        .and_then(|(_, rest)| rest.strip_suffix("):"))
        .and_then(|call| call.split_once(' '))
        .expect("the token call in the heading");
    let mut listed = Listed {
        token: (token.0.to_owned(), token.1.to_owned()),
        ..Listed::default()
    };
    for line in lines.take_while(|line| !line.trim().is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["none"] => {}
            ["any", "control", "call"] => listed.any_control_call = true,
            [mark, method, path, ..] => {
                let call = (method.to_string(), path.to_string());
                match *mark {
                    "always" => listed.always.insert(call),
                    "conditional" => listed.conditional.insert(call),
                    other => panic!("unknown mark `{other}` in: {line}"),
                };
            }
            _ => panic!("unreadable call line: {line}"),
        }
    }
    listed
}

/// The action names `emcee actions` prints: a name, padded, then its summary (which
/// may go on over more lines).
fn action_names(list: &str) -> Vec<String> {
    list.lines()
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_once("  "))
        .map(|(name, _)| name)
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .map(str::to_owned)
        .collect()
}

async fn reference(name: &str) -> Listed {
    let output = Run::command(&["actions", name]).output().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    listed(&output.stdout)
}

#[tokio::test]
async fn every_action_calls_what_its_reference_lists() {
    let list = Run::command(&["actions"]).output().await;
    assert_eq!(list.code, 0, "{}", list.transcript());
    let names = action_names(&list.stdout);
    assert!(names.len() > 30, "{}", list.stdout);
    // The path `http` is given: one of the contract's, taken from the reference.
    let lock = reference("lock").await;
    let (_, lock_path) = lock.always.first().expect("lock makes a call").clone();
    for name in &names {
        let Some(Situation { steps, files }) = situations(name, &lock_path) else {
            panic!("action `{name}` has no situation in this test: add one");
        };
        let expected = reference(name).await;
        let mut playbook = format!("{MEETING}steps:\n");
        for step in &steps {
            playbook.push_str(&format!("  - {step}\n"));
        }
        playbook.push_str(REHEARSAL);
        let mut run = Run::playbook(&playbook);
        for (file, text) in files {
            run = run.file(file, text);
        }
        // The reference lists the reads an action makes; the push feed, when up, spares
        // most of them (and opens with calls of its own, which are the run's). What
        // needs the feed is rehearsed with it, its opening calls left out.
        let feed = WITH_FEED.contains(&name.as_str());
        let run = if feed {
            run
        } else {
            run.arg("--events").arg("off")
        };
        let (output, requests) = run.rehearse().await;
        assert_eq!(output.code, 0, "{name}: {}", output.transcript());
        let made: BTreeSet<(String, String)> = requests
            .iter()
            .map(|r| {
                (
                    r["method"].as_str().unwrap_or("").to_owned(),
                    r["path"].as_str().unwrap_or("").to_owned(),
                )
            })
            .filter(|call| *call != expected.token)
            .filter(|(_, path)| {
                !(feed && (path.ends_with("/wsToken") || path.starts_with("/cms/")))
            })
            .collect();
        if expected.any_control_call {
            let prefix = expected
                .token
                .1
                .rsplit_once('/')
                .map(|(p, _)| p)
                .unwrap_or("");
            assert!(
                made.iter().all(|(_, path)| path.starts_with(prefix)),
                "{name}: {made:?}"
            );
            assert!(!made.is_empty(), "{name} made no call");
            continue;
        }
        for call in &made {
            assert!(
                expected.always.contains(call) || expected.conditional.contains(call),
                "{name} called {} {}, which `emcee actions {name}` does not list",
                call.0,
                call.1
            );
        }
        for call in &expected.conditional {
            let arranged = !NOT_ARRANGED
                .iter()
                .any(|(action, path)| action == name && call.1.ends_with(path));
            assert!(
                made.contains(call) || !arranged,
                "the situations of {name} never make it call {} {}: arrange one that does",
                call.0,
                call.1
            );
        }
        for call in &expected.always {
            assert!(
                made.contains(call),
                "{name} never called {} {}, which `emcee actions {name}` marks always; it called {made:?}",
                call.0,
                call.1
            );
        }
    }
}

#[test]
fn the_reference_section_is_read_as_printed() {
    let listed = listed(
        "x\n\nAPI calls (after the control token, GET /a/token):\n  conditional  GET /a/b  (why)\n  always       PUT /a/c\n\nExample:\n  - x\n",
    );
    assert_eq!(listed.token, ("GET".into(), "/a/token".into()));
    assert!(listed.always.contains(&("PUT".into(), "/a/c".into())));
    assert!(listed.conditional.contains(&("GET".into(), "/a/b".into())));
    assert!(!listed.any_control_call);
}
