//! Every action, run by the built binary against the harness emulator, changes the
//! meeting as intended — asserted through `/_sim/`, not through emcee's own output.

use serde_json::{Value, json};

use crate::support::*;

/// A playbook for the town hall with these steps (indented YAML list items).
fn playbook(steps: &str) -> String {
    format!(
        "name: Test\nmeeting:\n  id: \"{MEETING}\"\n  host_password: \"{{{{ secret('EMCEE_HOST_PASSWORD') }}}}\"\ndefaults:\n  retry: {{ attempts: 3, initial: 10ms, max: 50ms }}\nsteps:\n{steps}"
    )
}

async fn run(emu: &Emu, steps: &str) -> Output {
    let output = Run::playbook(&playbook(steps)).against(emu).await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    output
}

fn names_where(state: &Value, key: &str) -> Vec<String> {
    state["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p[key] == true)
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn broadcast_roll_call_and_cancel() {
    let emu = Emu::start(TOWN_HALL).await;
    let bob = emu.pid(MEETING, "Bob Li").await;
    run(&emu, "  - broadcast: bob li\n").await;
    assert_eq!(
        emu.meeting(MEETING).await["broadcast"],
        bob.as_str(),
        "names match case-insensitively"
    );
    let carol = emu.pid(MEETING, "Carol Wu").await;
    run(&emu, "  - roll_call: { phone: \"+8613800000003\" }\n").await;
    let state = emu.meeting(MEETING).await;
    assert_eq!(
        (&state["roll_call"], &state["broadcast"]),
        (&json!(carol), &Value::Null)
    );
    run(&emu, "  - cancel_broadcast: {}\n").await;
    assert_eq!(emu.meeting(MEETING).await["roll_call"], Value::Null);
}

#[tokio::test]
async fn hands_one_several_and_all() {
    let emu = Emu::start(TOWN_HALL).await;
    run(&emu, "  - raise_hand: Carol Wu\n").await;
    assert_eq!(
        names_where(&emu.meeting(MEETING).await, "hand"),
        ["Bob Li", "Carol Wu"]
    );
    run(&emu, "  - lower_hand: Bob Li\n").await;
    assert_eq!(
        names_where(&emu.meeting(MEETING).await, "hand"),
        ["Carol Wu"]
    );
    run(&emu, "  - raise_hand: { role: guest, all: true }\n").await;
    assert_eq!(
        names_where(&emu.meeting(MEETING).await, "hand"),
        ["Bob Li", "Carol Wu"]
    );
    let output = run(&emu, "  - lower_all_hands: {}\n").await;
    assert!(
        output.stdout.contains("lowered 2 hands"),
        "{}",
        output.stdout
    );
    assert!(names_where(&emu.meeting(MEETING).await, "hand").is_empty());
    let output = run(&emu, "  - lower_all_hands: {}\n").await;
    assert!(output.stdout.contains("no hands up"), "{}", output.stdout);
}

#[tokio::test]
async fn mute_unmute_and_everyone() {
    let emu = Emu::start(TOWN_HALL).await;
    run(&emu, "  - unmute: Bob Li\n  - mute: Carol Wu\n").await;
    assert_eq!(
        names_where(&emu.meeting(MEETING).await, "mute"),
        ["Carol Wu"]
    );
    run(&emu, "  - mute_all: { allow_self_unmute: false }\n").await;
    let state = emu.meeting(MEETING).await;
    assert_eq!(
        names_where(&state, "mute"),
        ["Bob Li", "Carol Wu", "Dave Ma"]
    );
    assert_eq!(
        (&state["mute_all"], &state["allow_self_unmute"]),
        (&json!(true), &json!(false))
    );
    run(&emu, "  - allow_self_unmute: true\n").await;
    assert_eq!(emu.meeting(MEETING).await["allow_self_unmute"], true);
    run(&emu, "  - unmute_all: {}\n").await;
    assert!(names_where(&emu.meeting(MEETING).await, "mute").is_empty());
}

#[tokio::test]
async fn mute_all_reads_back_and_mutes_stragglers() {
    let emu = Emu::start(TOWN_HALL).await;
    // The mute-all call is acknowledged but lost: the read-back must catch it and mute
    // each guest one by one.
    emu.faults(json!({"rules": [{"method": "PUT", "path": format!("{CONTROL}/mute"), "nth": 1, "ignore": true}]}))
        .await;
    let output = run(&emu, "  - mute_all: {}\n").await;
    assert_eq!(
        names_where(&emu.meeting(MEETING).await, "mute"),
        ["Bob Li", "Carol Wu", "Dave Ma"]
    );
    assert!(
        output.stdout.contains("2 muted again after read-back"),
        "{}",
        output.stdout
    );
    let log = emu.requests().await;
    let muted_one_by_one = log
        .iter()
        .filter(|r| r["path"] == format!("{CONTROL}/participants/mute"))
        .count();
    assert_eq!(muted_one_by_one, 2, "Bob was muted already");
}

#[tokio::test]
async fn roles_lock_record_live_extend_rename_invite_hang_up_end() {
    let emu = Emu::start(TOWN_HALL).await;
    let carol = emu.pid(MEETING, "Carol Wu").await;
    run(
        &emu,
        "  - set_cohost: Carol Wu\n  - unset_cohost: Dave Ma\n  - lock: {}\n  - start_recording: {}\n  - start_live: {}\n  - extend: { minutes: 30 }\n  - rename: { who: Bob Li, to: Bob Li (panel) }\n  - invite: { name: Frank Hu, phone: \"+8613800000009\", wait: answered, timeout: 30s }\n",
    )
    .await;
    let state = emu.meeting(MEETING).await;
    assert_eq!(state["cohosts"], json!([carol]));
    assert_eq!(
        (&state["locked"], &state["recording"], &state["live"]),
        (&json!(true), &json!(true), &json!(true))
    );
    assert!(emu.participant(MEETING, "Bob Li (panel)").await.is_object());
    assert_eq!(
        emu.participant(MEETING, "Frank Hu").await["phone"],
        "+8613800000009"
    );
    run(&emu, "  - set_host: Dave Ma\n  - unlock: {}\n  - stop_recording: {}\n  - stop_live: {}\n  - hang_up: Frank Hu\n  - extend: { auto: true }\n").await;
    let state = emu.meeting(MEETING).await;
    assert_eq!(emu.participant(MEETING, "Dave Ma").await["role"], "host");
    assert_eq!(
        (&state["locked"], &state["recording"], &state["live"]),
        (&json!(false), &json!(false), &json!(false))
    );
    // Auto-prolong is on by default, so the call itself is what shows.
    assert!(
        emu.requests().await.iter().any(|r| {
            r["path"] == format!("{CONTROL}/duration") && r["body"] == json!({"auto": 1})
        }),
        "extend {{ auto: true }} asks for auto-prolong"
    );
    assert!(emu.participant(MEETING, "Frank Hu").await.is_null());
    run(&emu, "  - end_meeting: {}\n").await;
    assert_eq!(emu.meeting(MEETING).await["state"], "Destroyed");
}

#[tokio::test]
async fn participants_register_set_when_loop_log_assert_http() {
    let emu = Emu::start(TOWN_HALL).await;
    let output = run(
        &emu,
        r#"  - participants: { role: guest }
    register: guests
  - set: { first: "{{ guests[0].name }}", count: "{{ guests | length }}" }
  - log: "{{ count }} guests, first {{ first }}"
  - assert: ["count == 2", "first == 'Bob Li'"]
  - name: "Mute {{ item }}"
    mute: "{{ item }}"
    loop: "{{ guests | map(attribute='name') | list }}"
  - lock: {}
    when: count > 5
  - http: { method: PUT, path: /v1/mmc/control/conferences/record, body: { isRecord: 1 }, expect: 200 }
    register: raw
  - assert: "raw.status == 200"
"#,
    )
    .await;
    assert!(
        output.stdout.contains("info    2 guests, first Bob Li"),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("ok      [5/8] Mute Carol Wu: muted Carol Wu"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("skip    lock: when: count > 5"),
        "{}",
        output.stdout
    );
    let state = emu.meeting(MEETING).await;
    assert_eq!(names_where(&state, "mute"), ["Bob Li", "Carol Wu"]);
    assert_eq!(
        (&state["locked"], &state["recording"]),
        (&json!(false), &json!(true))
    );
}

#[tokio::test]
async fn blocks_rescue_always_and_on_error() {
    let emu = Emu::start(TOWN_HALL).await;
    let output = run(
        &emu,
        "  - name: Try\n    steps:\n      - broadcast: Nobody Here\n      - lock: {}\n    rescue:\n      - start_recording: {}\n    always:\n      - start_live: {}\n  - broadcast: Nobody Else\n    on_error: continue\n  - raise_hand: Carol Wu\n",
    )
    .await;
    let state = emu.meeting(MEETING).await;
    assert_eq!(state["locked"], false, "the block stopped at its failure");
    assert_eq!(
        (&state["recording"], &state["live"]),
        (&json!(true), &json!(true)),
        "rescue and always ran"
    );
    assert_eq!(
        names_where(&state, "hand"),
        ["Bob Li", "Carol Wu"],
        "the run went on after on_error: continue"
    );
    assert!(
        output.stdout.contains("(on_error: continue)"),
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn variables_come_from_vars_files_and_dash_e_in_that_order() {
    let emu = Emu::start(TOWN_HALL).await;
    let text = String::from(
        "name: Vars\nvars:\n  speaker: Bob Li\n  who: nobody\nmeeting:\n  id: \"{{ meeting_id }}\"\n  host_password: \"{{ secret('EMCEE_HOST_PASSWORD') }}\"\nsteps:\n  - broadcast: \"{{ speaker }}\"\n  - raise_hand: \"{{ who }}\"\n  - assert: \"extra == [1, 2]\"\n",
    );
    let output = Run::playbook(&text)
        .file(
            "vars.yaml",
            &format!("meeting_id: \"{MEETING}\"\nspeaker: Alice Zhang\nwho: Dave Ma\n"),
        )
        .arg("--vars-file")
        .arg("vars.yaml")
        .arg("-e")
        .arg("speaker=Carol Wu")
        .arg("-e")
        .arg("extra:=[1, 2]")
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let carol = emu.pid(MEETING, "Carol Wu").await;
    assert_eq!(
        emu.meeting(MEETING).await["broadcast"],
        carol.as_str(),
        "-e wins over the vars file"
    );
    assert_eq!(
        emu.participant(MEETING, "Dave Ma").await["hand"],
        true,
        "the vars file wins over vars:"
    );
}

#[tokio::test]
async fn json_lines_describe_every_step() {
    let emu = Emu::start(TOWN_HALL).await;
    let output = Run::playbook(&playbook("  - lock: {}\n  - wait: 10ms\n"))
        .arg("--log-format")
        .arg("json")
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let events: Vec<Value> = output
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "run_started",
            "meeting_started",
            "step_started",
            "step_finished",
            "step_started",
            "waiting",
            "step_finished",
            "run_finished"
        ]
    );
    assert_eq!(events[3]["outcome"]["status"], "ok");
    assert_eq!(events[7]["summary"]["success"], true);
}

/// A seed of 1,000 people: the host, and P0001…P0999 with the first 600 hands up.
fn big_meeting() -> String {
    let people: String = (1..1000)
        .map(|i| {
            format!(
                "      - {{ name: P{i:04}{} }}\n",
                if i <= 600 { ", hand: raised" } else { "" }
            )
        })
        .collect();
    format!(
        "meetings:\n  - id: \"{MEETING}\"\n    host_password: \"{PASSWORD}\"\n    participants:\n      - {{ name: Host, role: host }}\n{people}"
    )
}

#[tokio::test]
async fn lower_all_hands_in_a_big_meeting_takes_six_batches_and_one_read_back() {
    let emu = Emu::start(&big_meeting()).await;
    let output = run(&emu, "  - lower_all_hands: {}\n").await;
    assert!(
        output.stdout.contains("lowered 600 hands"),
        "{}",
        output.stdout
    );
    let log = emu.requests().await;
    let count = |tail: &str| {
        log.iter()
            .filter(|r| r["path"] == format!("{CONTROL}{tail}"))
            .count()
    };
    // Who has a hand up comes from the push feed's picture; the read-back is a read.
    assert_eq!(count("/realTimeInfo"), 1, "one read-back, no read first");
    assert_eq!(
        count("/participants/batch/hands"),
        6,
        "600 hands in batches of 100"
    );
    let batch_sizes: Vec<usize> = log
        .iter()
        .filter(|r| r["path"] == format!("{CONTROL}/participants/batch/hands"))
        .map(|r| r["body"]["pids"].as_array().unwrap().len())
        .collect();
    assert_eq!(batch_sizes, [100; 6]);
    assert!(names_where(&emu.meeting(MEETING).await, "hand").is_empty());
}

/// Waits until the call the first fault rule holds has arrived (the rule fires on
/// arrival, before its delay); a run that ends first fails the test rather than
/// leaving it waiting for ever.
async fn held_call_arrived(emu: &Emu, run: &tokio::task::JoinHandle<Output>) {
    loop {
        let faults = emu.admin("GET", "/_sim/faults", None).await.body;
        if faults["counters"][0]["fired"].as_u64() >= Some(1) {
            return;
        }
        assert!(
            !run.is_finished(),
            "the run ended before the held call arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn lower_all_hands_skips_people_who_left_meanwhile() {
    let emu = Emu::start(TOWN_HALL).await;
    let bob = emu.pid(MEETING, "Bob Li").await;
    let carol = emu.pid(MEETING, "Carol Wu").await;
    let hand = format!("/_sim/meetings/{MEETING}/participants/{carol}/hand");
    emu.admin("PUT", &hand, Some(json!({"raised": true})))
        .await
        .ok();
    // Hold the first batch call long enough for Bob to leave while it is in flight.
    emu.faults(json!({"rules": [{"path": format!("{CONTROL}/participants/batch/hands"), "nth": 1, "latency": "400ms"}]}))
        .await;
    let run = tokio::spawn(
        Run::playbook(&playbook("  - lower_all_hands: {}\n")).against_url(emu.handle.base_url()),
    );
    held_call_arrived(&emu, &run).await;
    emu.admin(
        "DELETE",
        &format!("/_sim/meetings/{MEETING}/participants/{bob}"),
        None,
    )
    .await;
    let output = run.await.unwrap();
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(names_where(&emu.meeting(MEETING).await, "hand").is_empty());
    let batches: Vec<(Value, Value)> = emu
        .requests()
        .await
        .into_iter()
        .filter(|r| r["path"] == format!("{CONTROL}/participants/batch/hands"))
        .map(|r| (r["status"].clone(), r["body"]["pids"].clone()))
        .collect();
    assert_eq!(
        batches,
        [
            (json!(400), json!([bob, carol])),
            (json!(200), json!([carol]))
        ]
    );
}

#[tokio::test]
async fn the_default_time_limit_bounds_api_calls_not_waits() {
    let emu = Emu::start(TOWN_HALL).await;
    emu.faults(json!({"rules": [
        {"path": format!("{CONTROL}/record"), "latency": "400ms"},
        {"path": format!("{CONTROL}/live"), "latency": "400ms"}
    ]}))
    .await;
    let text = format!(
        "name: Limits\nmeeting:\n  id: \"{MEETING}\"\n  host_password: \"{{{{ secret('EMCEE_HOST_PASSWORD') }}}}\"\ndefaults:\n  timeout: 150ms\n  retry: {{ attempts: 1 }}\nsteps:\n  - wait: 300ms\n  - lock: {{}}\n  - name: Slow\n    timeout: 1s\n    steps:\n      - start_recording: {{}}\n  - start_live: {{}}\n"
    );
    let output = Run::playbook(&text).against(&emu).await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains("ok      [1/4] wait: waited 300ms"),
        "a wait is not cut short: {}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("ok      [3/4] start_recording: recording"),
        "a block's timeout is its steps' default: {}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("FAILED  [4/4] start_live: timed out after 150ms"),
        "{}",
        output.stdout
    );
    assert_eq!(emu.meeting(MEETING).await["recording"], true);
}

#[tokio::test]
async fn fan_out_without_a_batch_call_runs_a_few_calls_at_once() {
    let people: String = (1..=12)
        .map(|i| format!("      - {{ name: Guest {i:02} }}\n"))
        .collect();
    let seed = format!(
        "meetings:\n  - id: \"{MEETING}\"\n    host_password: \"{PASSWORD}\"\n    participants:\n      - {{ name: Host, role: host }}\n{people}"
    );
    let emu = Emu::start(&seed).await;
    let mute = format!("{CONTROL}/participants/mute");
    emu.faults(json!({"rules": [
        {"path": mute, "latency": "300ms"},
        {"path": mute, "nth": 2, "error": {"status": 503, "code": "MMC.111070003"}}
    ]}))
    .await;
    let output = run(&emu, "  - mute: { role: guest, all: true }\n").await;
    assert!(
        output.stdout.contains("retry   mute: attempt 2/3"),
        "a retry inside the fan-out is shown: {}",
        output.stdout
    );
    assert_eq!(names_where(&emu.meeting(MEETING).await, "mute").len(), 12);
    let mut times: Vec<jiff::Timestamp> = emu
        .requests()
        .await
        .iter()
        .filter(|r| r["path"] == mute)
        .map(|r| r["received"].as_str().unwrap().parse().unwrap())
        .collect();
    times.sort();
    assert_eq!(times.len(), 13, "12 calls and one retry");
    // One after another, calls would arrive 300 ms apart at least; four arrive together.
    assert!(
        times[3].duration_since(times[0]) < jiff::SignedDuration::from_millis(250),
        "the first four calls were not made at once: {times:?}"
    );
}

/// In a big meeting people leave between the roster read and the batch calls: those
/// batches are refused with the service's code and sent again without them, and the
/// run still succeeds with every other hand lowered.
#[tokio::test]
async fn lower_all_hands_in_a_big_meeting_survives_departures_mid_way() {
    let emu = Emu::start(&big_meeting()).await;
    let leaving = [
        emu.pid(MEETING, "P0250").await,
        emu.pid(MEETING, "P0450").await,
    ];
    let batch = format!("{CONTROL}/participants/batch/hands");
    // Hold the third batch while two people leave: one is in it, one in a later batch.
    emu.faults(json!({"rules": [{"path": batch, "nth": 3, "latency": "400ms"}]}))
        .await;
    let run = tokio::spawn(
        Run::playbook(&playbook("  - lower_all_hands: {}\n")).against_url(emu.handle.base_url()),
    );
    held_call_arrived(&emu, &run).await;
    for pid in &leaving {
        emu.admin(
            "DELETE",
            &format!("/_sim/meetings/{MEETING}/participants/{pid}"),
            None,
        )
        .await;
    }
    let output = run.await.unwrap();
    assert_eq!(output.code, 0, "{}", output.transcript());
    let state = emu.meeting(MEETING).await;
    assert!(names_where(&state, "hand").is_empty());
    assert_eq!(state["participants"].as_array().unwrap().len(), 998);
    let batches: Vec<(Value, Vec<Value>)> = emu
        .requests()
        .await
        .into_iter()
        .filter(|r| r["path"] == batch)
        .map(|r| {
            (
                r["status"].clone(),
                r["body"]["pids"].as_array().unwrap().clone(),
            )
        })
        .collect();
    let refused: Vec<&Vec<Value>> = batches
        .iter()
        .filter(|(status, _)| *status == json!(400))
        .map(|(_, pids)| pids)
        .collect();
    assert!(
        !refused.is_empty() && refused.iter().all(|pids| pids.len() == 100),
        "a batch holding someone who left is refused whole: {batches:?}"
    );
    let lowered: usize = batches
        .iter()
        .filter(|(status, _)| *status == json!(200))
        .map(|(_, pids)| pids.len())
        .sum();
    assert_eq!(lowered, 598, "every hand still there is lowered once");
    for (status, pids) in &batches {
        if *status == json!(200) {
            for pid in &leaving {
                assert!(
                    !pids.contains(&json!(pid)),
                    "{pid} left and is not sent again"
                );
            }
        }
    }
}

/// "Starting" and "closing" are the service's transient answers: asked again, not a
/// step's failure.
#[tokio::test]
async fn a_meeting_starting_or_closing_is_asked_again() {
    let emu = Emu::start(TOWN_HALL).await;
    emu.faults(json!({"rules": [
        {"path": format!("{CONTROL}/lock"), "nth": 1,
         "error": {"status": 400, "code": "MMC.111072004", "msg": "CONF_IS_STARTING"}},
        {"path": format!("{CONTROL}/record"), "nth": 1,
         "error": {"status": 400, "code": "MMC.111072003", "msg": "CONF_IS_CLOSING"}}
    ]}))
    .await;
    let output = run(&emu, "  - lock: {}\n  - start_recording: {}\n").await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let statuses: Vec<Value> = emu
        .requests()
        .await
        .into_iter()
        .filter(|r| {
            r["path"] == format!("{CONTROL}/lock") || r["path"] == format!("{CONTROL}/record")
        })
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, [json!(400), json!(200), json!(400), json!(200)]);
}
