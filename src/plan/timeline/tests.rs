//! The planner on small playbooks read from strings: when each step is planned, what
//! is skipped, and the warnings, without the binary.

use super::*;
use crate::clock::SystemClock;
use crate::secrets::Secrets;
use jiff::SignedDuration;

const HEAD: &str = "name: t\nmeeting: { id: \"914044873\", host_password: p }\ntimezone: UTC\n";

/// The run's start in every test: 09:00 UTC.
fn start() -> Timestamp {
    "2026-12-02T09:00:00Z".parse().unwrap()
}

fn playbook(rest: &str) -> Playbook {
    Playbook::parse(SourceFile::new("playbook.yaml", format!("{HEAD}{rest}")))
        .unwrap_or_else(|e| panic!("{}", e.render(false)))
}

/// The plan of a playbook (its text after the header), with the variables given,
/// the rehearsal crowd when `sim`, and every step selected.
fn plan_of(rest: &str, vars: &[(&str, Value)], sim: bool) -> Plan {
    let playbook = playbook(rest);
    let engine = Engine::new(Secrets::new(true), SystemClock::shared());
    let mut context = Context::new();
    for (name, value) in vars {
        context.set(*name, value.clone());
    }
    let people = match playbook.doc.rehearsal.as_ref() {
        Some(r) if sim => People::Rehearsal(&r.value),
        _ => People::Unchecked,
    };
    plan(
        &playbook,
        &context,
        &engine,
        super::PlanStart {
            run: start(),
            meeting: None,
        },
        TimeZone::UTC,
        people,
        &Selection::default(),
    )
    .unwrap_or_else(|e| panic!("{e:?}"))
}

fn at(instant: &str, offset_minutes: i64) -> When {
    When::At {
        instant: instant.parse().unwrap(),
        offset: SignedDuration::from_mins(offset_minutes),
    }
}

/// The rehearsal crowd of four, at two calls a minute, and a step muting them all.
const SLOW_FAN_OUT: &str = "defaults: { rate_limit: 2 }\nsteps:\n  - mute: { all: true }\n    timeout: 5s\nrehearsal:\n  participants:\n    - { name: A }\n    - { name: B }\n    - { name: C }\n    - { name: D }\n";

#[test]
fn an_absolute_cue_is_planned_at_its_time_of_day() {
    let plan = plan_of("steps:\n  - lock: {}\n    at: \"10:00\"\n", &[], false);
    assert_eq!(plan.rows[0].when, at("2026-12-02T10:00:00Z", 60));
    assert_eq!(plan.rows[0].cue.as_deref(), Some("10:00:00"));
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn a_relative_cue_counts_from_the_start() {
    let plan = plan_of(
        "steps:\n  - lock: {}\n  - unlock: {}\n    at: \"+5m\"\n",
        &[],
        false,
    );
    assert_eq!(plan.rows[0].when, at("2026-12-02T09:00:00Z", 0));
    assert_eq!(plan.rows[1].when, at("2026-12-02T09:05:00Z", 5));
}

#[test]
fn a_wait_moves_the_steps_after_it() {
    let plan = plan_of("steps:\n  - wait: 10m\n  - lock: {}\n", &[], false);
    assert_eq!(plan.rows[1].when, at("2026-12-02T09:10:00Z", 10));
}

#[test]
fn a_cue_the_steps_before_cannot_meet_follows_late_and_is_warned_of() {
    let plan = plan_of(
        "steps:\n  - wait: 10m\n  - lock: {}\n    at: \"+5m\"\n    late: skip\n",
        &[],
        false,
    );
    // Not moved back in time: the step comes after the wait.
    assert_eq!(plan.rows[1].when, at("2026-12-02T09:10:00Z", 10));
    assert_eq!(
        plan.warnings,
        [
            "step 2 (lock): its cue +5m (09:05:00) comes before the steps ahead of it can finish; it follows `late`"
        ]
    );
}

#[test]
fn after_waiting_for_people_the_time_is_a_lower_bound() {
    let plan = plan_of(
        "steps:\n  - wait_for: { count: 3 }\n  - lock: {}\n",
        &[],
        false,
    );
    assert_eq!(
        plan.rows[1].when,
        When::NotBefore {
            instant: start(),
            offset: SignedDuration::ZERO
        }
    );
}

#[test]
fn a_when_the_variables_decide_skips_the_step() {
    let rest = "steps:\n  - lock: {}\n    when: locking\n  - unlock: {}\n";
    let skipped = plan_of(rest, &[("locking", Value::Bool(false))], false);
    assert_eq!(skipped.rows[0].skipped.as_deref(), Some("when: locking"));
    assert_eq!(skipped.rows[1].skipped, None);
    let taken = plan_of(rest, &[("locking", Value::Bool(true))], false);
    assert_eq!(taken.rows[0].skipped, None);
}

#[test]
fn a_fan_out_longer_than_the_timeout_is_warned_of() {
    let plan = plan_of(SLOW_FAN_OUT, &[], true);
    assert_eq!(plan.rows[0].takes, Some(SignedDuration::from_mins(2)));
    assert_eq!(
        plan.warnings,
        ["step 1: its timeout 5s is shorter than the 2m 0s its 4 calls take at 2 a minute"]
    );
    // Without the rehearsal crowd there is no headcount to go by.
    let blind = plan_of(SLOW_FAN_OUT, &[], false);
    assert_eq!(blind.rows[0].takes, None);
    assert!(blind.warnings.is_empty());
}

#[test]
fn check_finds_the_short_fan_out_timeout_too() {
    let found = crowd::short_fan_out_timeouts(&playbook(SLOW_FAN_OUT));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("playbook.yaml:"), "{}", found[0]);
    // In a scene too.
    let in_scene = SLOW_FAN_OUT.replace(
        "steps:\n  - mute",
        "steps:\n  - lock: {}\nscenes:\n  quiet:\n  - mute",
    );
    let found = crowd::short_fan_out_timeouts(&playbook(&in_scene));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("playbook.yaml:10:"), "{}", found[0]);
}

#[test]
fn a_fan_out_takes_its_calls_at_the_rate_limit() {
    assert_eq!(
        crowd::fan_out_time(4, 2),
        Some(SignedDuration::from_mins(2))
    );
    assert_eq!(crowd::fan_out_time(4, 0), None);
}

#[test]
fn a_scene_step_takes_the_time_of_the_scene_it_plays() {
    let plan = plan_of(
        "steps:\n  - scene: pause\n  - lock: {}\nscenes:\n  pause:\n    - wait: 10m\n    - log: back\n",
        &[],
        false,
    );
    let ids: Vec<String> = plan.rows.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(ids, ["1", "1.1", "1.2", "2"]);
    assert_eq!(plan.rows[0].scene.as_deref(), Some("pause"));
    assert_eq!(plan.rows[3].when, at("2026-12-02T09:10:00Z", 10));
    // Listed after the timeline, which its listing does not move.
    assert_eq!(plan.scenes.len(), 1);
    assert_eq!(plan.scenes[0].name, "pause");
    assert!(!plan.scenes[0].panic, "no `panic` scene, no `panic_scene`");
    assert_eq!(plan.scenes[0].steps.len(), 2);
}

#[test]
fn scenes_are_listed_with_every_step_whatever_the_selection() {
    let playbook = playbook(
        "steps:\n  - lock: {}\n    tags: [doors]\nscenes:\n  panic:\n    - mute: { all: true }\n      when: quiet\n    - unlock: {}\nvars: { quiet: false }\n",
    );
    let engine = Engine::new(Secrets::new(true), SystemClock::shared());
    let mut vars = Context::new();
    vars.set("quiet", Value::Bool(false));
    let selection = Selection {
        tags: vec!["doors".into()],
        ..Selection::default()
    };
    let plan = plan(
        &playbook,
        &vars,
        &engine,
        super::PlanStart {
            run: start(),
            meeting: None,
        },
        TimeZone::UTC,
        People::Unchecked,
        &selection,
    )
    .unwrap();
    let scene = &plan.scenes[0];
    assert!(scene.panic, "a scene named `panic` is the panic scene");
    let listed: Vec<(&str, Option<&str>)> = scene
        .steps
        .iter()
        .map(|s| (s.action.unwrap_or(""), s.skipped.as_deref()))
        .collect();
    // `--tags doors` would skip both in a timeline; a scene plays when it is played.
    assert_eq!(listed, [("mute", Some("when: quiet")), ("unlock", None)]);
}
