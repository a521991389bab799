//! A property test: random sequences of control calls, joins and leaves keep the
//! emulator's invariants, and the request log holds every call.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

use crate::support::*;

#[derive(Debug, Clone)]
enum Op {
    Broadcast(usize),
    RollCall(usize),
    Cancel,
    Hand(usize, bool),
    BatchHands(Vec<usize>, bool),
    Mute(usize, bool),
    MuteAll(bool),
    SetHost(usize, bool),
    Cohost(usize, bool),
    HangUp(usize),
    Lock(bool),
    Join(u8),
    Leave(usize),
    RaiseOwnHand(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0usize..12;
    prop_oneof![
        who.clone().prop_map(Op::Broadcast),
        who.clone().prop_map(Op::RollCall),
        Just(Op::Cancel),
        (who.clone(), any::<bool>()).prop_map(|(i, b)| Op::Hand(i, b)),
        (prop::collection::vec(who.clone(), 1..5), any::<bool>())
            .prop_map(|(v, b)| Op::BatchHands(v, b)),
        (who.clone(), any::<bool>()).prop_map(|(i, b)| Op::Mute(i, b)),
        any::<bool>().prop_map(Op::MuteAll),
        (who.clone(), any::<bool>()).prop_map(|(i, b)| Op::SetHost(i, b)),
        (who.clone(), any::<bool>()).prop_map(|(i, b)| Op::Cohost(i, b)),
        who.clone().prop_map(Op::HangUp),
        any::<bool>().prop_map(Op::Lock),
        (0u8..3).prop_map(Op::Join),
        who.clone().prop_map(Op::Leave),
        who.prop_map(Op::RaiseOwnHand),
    ]
}

/// Everyone ever seen (including those who left) plus one pid that never existed,
/// so operations also aim at people who are gone.
fn pick(known: &[String], index: usize) -> String {
    known
        .get(index % (known.len() + 1))
        .cloned()
        .unwrap_or_else(|| "0123456789abcdef0123456789abcdef".into())
}

async fn run(emu: &Emu, ops: Vec<Op>) -> Result<(), TestCaseError> {
    emu.admin("POST", "/_sim/reset", None).await;
    let token = emu.login(MEETING, PASSWORD).await;
    let mut api_calls = 1;
    let mut known: Vec<String> = emu.meeting(MEETING).await["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pid"].as_str().unwrap().to_owned())
        .collect();
    let participants = format!("/_sim/meetings/{MEETING}/participants");
    for (step, op) in ops.into_iter().enumerate() {
        let t = Some(token.as_str());
        let flag = |b: bool| json!(u8::from(b));
        let answer = match &op {
            Op::Broadcast(i) => Some(
                emu.control(
                    "PUT",
                    "/participants/broadcast",
                    MEETING,
                    Some(&pick(&known, *i)),
                    t,
                    None,
                )
                .await,
            ),
            Op::RollCall(i) => Some(
                emu.control(
                    "PUT",
                    "/participants/rollCall",
                    MEETING,
                    Some(&pick(&known, *i)),
                    t,
                    None,
                )
                .await,
            ),
            Op::Cancel => Some(
                emu.control("PUT", "/cancelBroadcast", MEETING, None, t, None)
                    .await,
            ),
            Op::Hand(i, b) => Some(
                emu.control(
                    "PUT",
                    "/participants/hands",
                    MEETING,
                    Some(&pick(&known, *i)),
                    t,
                    Some(json!({"handsState": flag(*b)})),
                )
                .await,
            ),
            Op::BatchHands(v, b) => {
                let pids: Vec<String> = v.iter().map(|i| pick(&known, *i)).collect();
                Some(
                    emu.control(
                        "PUT",
                        "/participants/batch/hands",
                        MEETING,
                        None,
                        t,
                        Some(json!({"handsState": flag(*b), "pids": pids})),
                    )
                    .await,
                )
            }
            Op::Mute(i, b) => Some(
                emu.control(
                    "PUT",
                    "/participants/mute",
                    MEETING,
                    Some(&pick(&known, *i)),
                    t,
                    Some(json!({"isMute": flag(*b)})),
                )
                .await,
            ),
            Op::MuteAll(b) => Some(
                emu.control(
                    "PUT",
                    "/mute",
                    MEETING,
                    None,
                    t,
                    Some(json!({"isMute": flag(*b)})),
                )
                .await,
            ),
            Op::SetHost(i, b) => Some(
                emu.control(
                    "PUT",
                    "/participants/role",
                    MEETING,
                    Some(&pick(&known, *i)),
                    t,
                    Some(json!({"applyChair": flag(*b), "chairmanPwd": PASSWORD})),
                )
                .await,
            ),
            Op::Cohost(i, b) => Some(
                emu.control(
                    "PUT",
                    "/participants/cohost",
                    MEETING,
                    Some(&pick(&known, *i)),
                    t,
                    Some(json!({"isCohost": flag(*b)})),
                )
                .await,
            ),
            Op::HangUp(i) => Some(
                emu.control(
                    "POST",
                    "/participants/delete",
                    MEETING,
                    None,
                    t,
                    Some(json!({"bulkHangUpParticipants": [pick(&known, *i)]})),
                )
                .await,
            ),
            Op::Lock(b) => Some(
                emu.control(
                    "PUT",
                    "/lock",
                    MEETING,
                    None,
                    t,
                    Some(json!({"isLock": flag(*b)})),
                )
                .await,
            ),
            Op::Join(role) => {
                let role = ["guest", "cohost", "host"][usize::from(*role)];
                let answer = emu
                    .admin(
                        "POST",
                        &participants,
                        Some(json!({"name": format!("P{step}"), "role": role})),
                    )
                    .await;
                if answer.status == 201 {
                    known.push(answer.body["pid"].as_str().unwrap().to_owned());
                } else {
                    prop_assert!([403, 409].contains(&answer.status), "{answer:?}");
                }
                None
            }
            Op::Leave(i) => {
                let answer = emu
                    .admin(
                        "DELETE",
                        &format!("{participants}/{}", pick(&known, *i)),
                        None,
                    )
                    .await;
                prop_assert!([204, 404].contains(&answer.status), "{answer:?}");
                None
            }
            Op::RaiseOwnHand(i) => {
                let answer = emu
                    .admin(
                        "PUT",
                        &format!("{participants}/{}/hand", pick(&known, *i)),
                        Some(json!({"raised": true})),
                    )
                    .await;
                prop_assert!([200, 404].contains(&answer.status), "{answer:?}");
                None
            }
        };
        if let Some(answer) = answer {
            api_calls += 1;
            prop_assert!(
                answer.status == 200
                    || (answer.status == 400
                        // Bad input, someone gone, and the service's refusals:
                        // the host's own hand raised, the host made co-host.
                        && ["MMC.111070001", "MMC.111072008", "MMC.111072069", "MMC.111072107"]
                            .contains(&answer.body["error_code"].as_str().unwrap_or_default())),
                "{op:?}: {answer:?}"
            );
        }
        check_invariants(emu, &token, &op).await?;
        api_calls += 1; // the realTimeInfo read inside the check
    }
    let log = emu.requests().await;
    prop_assert_eq!(log.len(), api_calls, "the request log has every call");
    Ok(())
}

async fn check_invariants(emu: &Emu, token: &str, op: &Op) -> Result<(), TestCaseError> {
    let state = emu.meeting(MEETING).await;
    let online: Vec<&str> = state["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pid"].as_str().unwrap())
        .collect();
    let held = |key: &str| state[key].as_str().map(str::to_owned);
    prop_assert!(
        held("broadcast").is_none() || held("roll_call").is_none(),
        "after {op:?}: broadcast and roll call at once: {state}"
    );
    for key in ["broadcast", "roll_call", "host"] {
        if let Some(pid) = held(key) {
            prop_assert!(
                online.contains(&pid.as_str()),
                "after {op:?}: {key} held by someone who left: {state}"
            );
        }
    }
    for cohost in state["cohosts"].as_array().unwrap() {
        prop_assert!(
            online.contains(&cohost.as_str().unwrap()),
            "after {op:?}: co-host who left: {state}"
        );
        prop_assert!(
            state["host"] != *cohost,
            "after {op:?}: host is also co-host: {state}"
        );
    }
    let info = emu
        .control("GET", "/realTimeInfo", MEETING, None, Some(token), None)
        .await;
    prop_assert_eq!(info.status, 200);
    for p in info.body["participants"].as_array().unwrap() {
        for key in ["hand", "mute", "video"] {
            prop_assert!(
                p[key] == json!(0) || p[key] == json!(1),
                "{key} is not 0/1: {p}"
            );
        }
    }
    let realtime: Vec<&Value> = info.body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["pid"])
        .collect();
    prop_assert_eq!(realtime.len(), online.len());
    Ok(())
}

#[test]
fn random_call_sequences_keep_the_invariants() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emu = runtime.block_on(Emu::start(TOWN_HALL));
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(op(), 1..40), |ops| {
        runtime.block_on(run(&emu, ops))
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
