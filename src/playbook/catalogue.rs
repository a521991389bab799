//! The reference of every action, for `emcee actions` and the plan: which calls of the
//! contract ([`Api`]) each makes — those it always makes, and those it makes only in
//! some situations — and an example. The calls are the contract's own entries, never
//! paths written again, and a test runs every action against the emulator to check
//! that what is listed here is what is called.

use crate::meeting::Api;

/// Reference information about one action, for `emcee actions`.
pub struct ActionInfo {
    pub name: &'static str,
    /// The calls the action makes, in the order it makes them.
    pub calls: Calls,
    pub example: &'static str,
}

/// What an action calls.
pub enum Calls {
    /// These calls of the contract; none for an action that calls nothing.
    Listed(&'static [ApiCall]),
    /// Whatever call the playbook gives (`http`).
    AnyControlCall,
}

/// One call an action makes, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiCall {
    pub api: Api,
    pub when: When,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Every time the action succeeds.
    Always,
    /// Only in some situations, said here: a read-back, a retry after a departure, the
    /// online-list read a selector by id alone skips.
    Conditional(&'static str),
}

impl When {
    /// How `emcee actions` marks the call.
    pub fn mark(self) -> &'static str {
        match self {
            When::Always => "always",
            When::Conditional(_) => "conditional",
        }
    }
}

const fn always(api: Api) -> ApiCall {
    ApiCall {
        api,
        when: When::Always,
    }
}

const fn conditional(api: Api, when: &'static str) -> ApiCall {
    ApiCall {
        api,
        when: When::Conditional(when),
    }
}

/// The online-list read of an action aimed at participants.
const FIND: ApiCall = conditional(
    Api::RealTimeInfo,
    "to find who the selector means, unless it is an id alone or the push feed is up (then only when the feed knows nobody it names); to say who is online when someone left",
);

/// An action aimed at participants: it finds them, then makes its call.
macro_rules! at_participants {
    ($api:expr) => {
        Calls::Listed(&[FIND, always($api)])
    };
}

/// An action that makes one call, every time.
macro_rules! once {
    ($api:expr) => {
        Calls::Listed(&[always($api)])
    };
}

const HANDS: &[ApiCall] = &[
    FIND,
    conditional(Api::Hands, "for one participant"),
    conditional(
        Api::BatchHands,
        "for several, in batches of 100; again without those who left",
    ),
];

const NONE: Calls = Calls::Listed(&[]);

/// Every action, in the order the reference lists them.
pub const ACTIONS: &[ActionInfo] = &[
    ActionInfo {
        name: "broadcast",
        calls: at_participants!(Api::Broadcast),
        example: "broadcast: Alice Zhang",
    },
    ActionInfo {
        name: "cancel_broadcast",
        calls: once!(Api::CancelBroadcast),
        example: "cancel_broadcast: {}",
    },
    ActionInfo {
        name: "roll_call",
        calls: at_participants!(Api::RollCall),
        example: "roll_call: { phone: \"+8613800000002\" }",
    },
    ActionInfo {
        name: "raise_hand",
        calls: Calls::Listed(HANDS),
        example: "raise_hand: Bob Li",
    },
    ActionInfo {
        name: "lower_hand",
        calls: Calls::Listed(HANDS),
        example: "lower_hand: Bob Li",
    },
    ActionInfo {
        name: "lower_all_hands",
        calls: Calls::Listed(&[
            conditional(
                Api::RealTimeInfo,
                "to find the raised hands, unless the push feed is up",
            ),
            conditional(
                Api::BatchHands,
                "when hands are up, in batches of 100; again without those who left",
            ),
            conditional(
                Api::RealTimeInfo,
                "read-back after lowering, and who left when a batch is refused",
            ),
        ]),
        example: "lower_all_hands: {}",
    },
    ActionInfo {
        name: "mute",
        calls: at_participants!(Api::Mute),
        example: "mute: { role: guest, all: true }",
    },
    ActionInfo {
        name: "unmute",
        calls: at_participants!(Api::Mute),
        example: "unmute: Carol Wu",
    },
    ActionInfo {
        name: "mute_all",
        calls: Calls::Listed(&[
            always(Api::MuteMeeting),
            always(Api::RealTimeInfo),
            conditional(Api::Mute, "for anyone the read-back finds unmuted"),
        ]),
        example: "mute_all: { allow_self_unmute: false }",
    },
    ActionInfo {
        name: "unmute_all",
        calls: once!(Api::MuteMeeting),
        example: "unmute_all: {}",
    },
    ActionInfo {
        name: "allow_self_unmute",
        calls: once!(Api::GuestUnmute),
        example: "allow_self_unmute: true",
    },
    ActionInfo {
        name: "set_host",
        calls: at_participants!(Api::Role),
        example: "set_host: Alice Zhang",
    },
    ActionInfo {
        name: "set_cohost",
        calls: at_participants!(Api::Cohost),
        example: "set_cohost: Carol Wu",
    },
    ActionInfo {
        name: "unset_cohost",
        calls: at_participants!(Api::Cohost),
        example: "unset_cohost: Carol Wu",
    },
    ActionInfo {
        name: "lock",
        calls: once!(Api::Lock),
        example: "lock: {}",
    },
    ActionInfo {
        name: "unlock",
        calls: once!(Api::Lock),
        example: "unlock: {}",
    },
    ActionInfo {
        name: "start_recording",
        calls: once!(Api::Record),
        example: "start_recording: {}",
    },
    ActionInfo {
        name: "stop_recording",
        calls: once!(Api::Record),
        example: "stop_recording: {}",
    },
    ActionInfo {
        name: "start_live",
        calls: once!(Api::Live),
        example: "start_live: {}",
    },
    ActionInfo {
        name: "stop_live",
        calls: once!(Api::Live),
        example: "stop_live: {}",
    },
    ActionInfo {
        name: "hang_up",
        calls: at_participants!(Api::HangUp),
        example: "hang_up: { name: Spam Caller, all: true }",
    },
    ActionInfo {
        name: "admit",
        calls: Calls::Listed(&[conditional(
            Api::AllowWaiting,
            "once with allowAll for `{all: true}`, else once per person let in",
        )]),
        example: "admit: Hana Xu",
    },
    ActionInfo {
        name: "move_to_waiting_room",
        calls: Calls::Listed(&[
            FIND,
            conditional(Api::MoveToWaitingRoom, "for one participant"),
            conditional(
                Api::BatchMoveToWaitingRoom,
                "for several, in batches of 100",
            ),
        ]),
        example: "move_to_waiting_room: [Bob Li, Carol Wu]",
    },
    ActionInfo {
        name: "invite",
        calls: Calls::Listed(&[
            always(Api::Invite),
            conditional(
                Api::RealTimeInfo,
                "with `wait: answered`, every 2 s until every callee has answered; while the push feed is up, once, then on its changes",
            ),
        ]),
        example: "invite: { name: Dan Zhou, phone: \"+8613800000004\", wait: answered, timeout: 60s }",
    },
    ActionInfo {
        name: "rename",
        calls: at_participants!(Api::Rename),
        example: "rename: { who: Bob Li, to: \"Bob Li (panel)\" }",
    },
    ActionInfo {
        name: "extend",
        calls: once!(Api::Duration),
        example: "extend: { minutes: 30 }",
    },
    ActionInfo {
        name: "end_meeting",
        calls: once!(Api::Stop),
        example: "end_meeting: {}",
    },
    ActionInfo {
        name: "participants",
        calls: Calls::Listed(&[conditional(
            Api::RealTimeInfo,
            "unless the push feed is up and the run's own last change was 2 s ago or more",
        )]),
        example: "participants: { hand: true }\nregister: raised",
    },
    ActionInfo {
        name: "wait",
        calls: NONE,
        example: "wait: 5m",
    },
    ActionInfo {
        name: "wait_for",
        calls: Calls::Listed(&[conditional(
            Api::RealTimeInfo,
            "every `poll` while the push feed is down or off; while it is up, only within 2 s of the run's own change",
        )]),
        example: "wait_for: { count: \">= 20\", timeout: 15m }",
    },
    ActionInfo {
        name: "log",
        calls: NONE,
        example: "log: \"{{ raised | length }} hands up\"",
    },
    ActionInfo {
        name: "assert",
        calls: NONE,
        example: "assert: { that: \"raised | length < 10\", msg: too many hands }",
    },
    ActionInfo {
        name: "set",
        calls: NONE,
        example: "set: { speaker: \"{{ panel[0] }}\" }",
    },
    ActionInfo {
        name: "include",
        calls: NONE,
        example: "include: { file: common/open-doors.yaml, vars: { speaker: Bob Li } }",
    },
    ActionInfo {
        name: "http",
        calls: Calls::AnyControlCall,
        example: "http: { method: PUT, path: /v1/mmc/control/conferences/lock, body: { isLock: 1 } }",
    },
];

/// What the service may refuse an action, by its code: the step fails with what to do
/// and is never retried.
const REFUSALS: &[(&str, &[(&str, &str)])] = &[
    (
        "raise_hand",
        &[
            (
                "MMC.111072069",
                "raising the host's hand (`check` refuses `role: host`)",
            ),
            (
                "MMC.111072071",
                "raising someone else's hand, where people may raise only their own",
            ),
            (
                "MMC.111072070",
                "raising a guest's hand, where guests may not raise hands",
            ),
        ],
    ),
    (
        "set_host",
        &[(
            "MMC.111072018",
            "a wrong host password, which is sent as chairmanPwd (with a given token instead of the password, `check` refuses set_host)",
        )],
    ),
    (
        "admit",
        &[(
            "MMC.111072008",
            "nobody with that id is waiting: let in by someone else, or gone",
        )],
    ),
    (
        "move_to_waiting_room",
        &[(
            "MMC.111070001",
            "moving the host, as the emulator answers it (the service documents no code; `check` refuses `role: host`)",
        )],
    ),
    (
        "invite",
        &[
            ("MMC.111076005", "no answer"),
            ("MMC.111076006", "no such user"),
            ("MMC.111076007", "the callee is offline"),
            ("MMC.111076008", "busy"),
            ("MMC.111076009", "rejected"),
        ],
    ),
];

impl ActionInfo {
    /// The refusals the service may answer this action with: code, and why.
    pub fn refusals(&self) -> &'static [(&'static str, &'static str)] {
        REFUSALS
            .iter()
            .find(|(name, _)| *name == self.name)
            .map_or(&[], |(_, refusals)| refusals)
    }

    /// Each call as `PUT /v1/…/lock`, in order, for the plan's table.
    pub fn call_texts(&self) -> Vec<&'static str> {
        match &self.calls {
            Calls::Listed(calls) => calls.iter().map(|call| call.api.describe()).collect(),
            Calls::AnyControlCall => vec![ANY_CONTROL_CALL],
        }
    }
}

/// How the reference and the plan name the calls of `http`.
pub(crate) const ANY_CONTROL_CALL: &str = "any control call";

/// The names of every action, in the order of [`ACTIONS`].
pub(crate) fn action_names() -> &'static [&'static str] {
    static NAMES: std::sync::LazyLock<Vec<&'static str>> =
        std::sync::LazyLock::new(|| ACTIONS.iter().map(|a| a.name).collect());
    &NAMES
}

pub(crate) fn info(name: &str) -> Option<&'static ActionInfo> {
    ACTIONS.iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_call_is_one_of_the_contract() {
        for action in ACTIONS {
            if let Calls::Listed(calls) = action.calls {
                for call in calls {
                    assert!(call.api.is_control(), "{}: {}", action.name, call.api);
                }
            }
        }
        let broadcast = info("broadcast").unwrap();
        assert_eq!(
            broadcast.call_texts(),
            [Api::RealTimeInfo.describe(), Api::Broadcast.describe()]
        );
        assert!(matches!(info("http").unwrap().calls, Calls::AnyControlCall));
    }

    #[test]
    fn refusals_belong_to_actions_that_exist() {
        for (name, refusals) in REFUSALS {
            assert!(info(name).is_some(), "{name}");
            assert!(
                refusals
                    .iter()
                    .all(|(code, _)| code.starts_with("MMC.1110"))
            );
        }
        assert_eq!(info("raise_hand").unwrap().refusals()[0].0, "MMC.111072069");
        assert!(info("lock").unwrap().refusals().is_empty());
    }
}
