use super::*;

fn id(text: &str) -> StepId {
    text.parse().unwrap()
}

#[test]
fn constructors_write_every_form() {
    let block = StepId::top_level(3);
    assert_eq!(block.to_string(), "3");
    assert_eq!(block.child(2).to_string(), "3.2");
    assert_eq!(block.rescue(1).to_string(), "3.rescue.1");
    assert_eq!(block.always(1).to_string(), "3.always.1");
    assert_eq!(block.item(2).to_string(), "3#2");
    assert_eq!(block.item(2).child(1).to_string(), "3#2.1");
    assert_eq!(block.rescue(1).item(4).to_string(), "3.rescue.1#4");
    assert_eq!(block.item_at_run_time().to_string(), "3#…");
    assert_eq!(StepId::run().to_string(), "");
    assert_eq!(StepId::run().child(5), StepId::top_level(5));
}

#[test]
fn siblings_name_the_steps_of_a_list() {
    let block = StepId::top_level(3).item(2);
    assert_eq!(Siblings::top_level().id(4), StepId::top_level(4));
    assert_eq!(Siblings::steps_of(&block).id(1), block.child(1));
    assert_eq!(
        Siblings::rescue_of(&block).id(2).to_string(),
        "3#2.rescue.2"
    );
    assert_eq!(
        Siblings::always_of(&block).id(1).to_string(),
        "3#2.always.1"
    );
}

#[test]
fn reading_what_is_written_gives_the_same_id() {
    for text in [
        "",
        "1",
        "12",
        "3.2",
        "3.rescue.1",
        "3.always.10",
        "3#2",
        "3#…",
        "3#2.1.rescue.4#7",
        "2.always.1.rescue.2",
    ] {
        let parsed = id(text);
        assert_eq!(parsed.to_string(), text);
        assert_eq!(id(&parsed.to_string()), parsed);
    }
    assert_eq!(
        id("3#2.1.rescue.4#7"),
        StepId::top_level(3).item(2).child(1).rescue(4).item(7)
    );
}

#[test]
fn serialises_as_its_text() {
    let step = StepId::top_level(3).always(1).item(2);
    let json = serde_json::to_value(&step).unwrap();
    assert_eq!(json, serde_json::json!("3.always.1#2"));
    assert_eq!(serde_json::from_value::<StepId>(json).unwrap(), step);
    let bad = serde_json::from_value::<StepId>(serde_json::json!("3..1")).unwrap_err();
    assert!(bad.to_string().contains("`3..1` is not a step id"), "{bad}");
}

#[test]
fn bad_ids_are_refused_with_why() {
    for (text, why) in [
        ("0", "bad place `0`"),
        ("03", "bad place `03`"),
        ("3.", "bad place ``"),
        (".3", "bad place ``"),
        ("3..1", "bad place ``"),
        ("+3", "bad place `+3`"),
        ("x", "bad place `x`"),
        ("Welcome", "bad place `Welcome`"),
        ("3#0", "bad item `0`"),
        ("3#", "bad item ``"),
        ("3#2#1", "bad item `2#1`"),
        ("3.rescue", "a place is missing at the end"),
        (
            "rescue.1",
            "a top-level step is not in a `rescue` or `always`",
        ),
        (
            "always.1",
            "a top-level step is not in a `rescue` or `always`",
        ),
    ] {
        let error = text.parse::<StepId>().unwrap_err();
        assert_eq!(error, format!("`{text}` is not a step id: {why}"));
    }
}

#[test]
fn ordered_as_a_run_meets_the_steps() {
    let order = [
        "",
        "1",
        "1#1",
        "1#1.1",
        "1#2",
        "2",
        "2.1",
        "2.2",
        "2.10",
        "2.rescue.1",
        "2.always.1",
        "10",
    ];
    let ids: Vec<StepId> = order.iter().map(|t| id(t)).collect();
    let mut sorted = ids.clone();
    sorted.reverse();
    sorted.sort();
    assert_eq!(sorted, ids);
}

#[test]
fn ancestry() {
    assert_eq!(id("3").top_level_index(), Some(3));
    assert_eq!(id("3.2").top_level_index(), Some(3));
    assert_eq!(id("12#4.1").top_level_index(), Some(12));
    assert_eq!(StepId::run().top_level_index(), None);

    assert!(id("3").is_top_level());
    assert!(!id("3#1").is_top_level());
    assert!(!id("3.1").is_top_level());
    assert!(!StepId::run().is_top_level());
    assert!(StepId::run().is_run());
    assert!(!id("1").is_run());

    assert!(id("3").contains(&id("3")));
    assert!(id("3").contains(&id("3#2.1")));
    assert!(id("3").contains(&id("3.rescue.1")));
    assert!(id("3#2").contains(&id("3#2.1")));
    assert!(!id("3#2").contains(&id("3#1.1")));
    assert!(!id("3").contains(&id("4")));
    assert!(!id("3.1").contains(&id("3.rescue.1")));
    assert!(!id("3.1").contains(&id("3")));
    assert!(StepId::run().contains(&id("7.1")));
}

#[test]
fn operator_ids_have_their_own_origin() {
    let played = StepId::operator(3);
    assert_eq!(played.to_string(), "op3");
    assert_eq!(played.child(2).to_string(), "op3.2");
    assert!(played.is_operator() && played.child(1).is_operator());
    assert!(!id("3").is_operator());
    for text in ["op3", "op3.1", "op12.2#1", "op1.always.1"] {
        let parsed = id(text);
        assert_eq!(parsed.to_string(), text);
        assert!(parsed.is_operator(), "{text}");
    }
    assert_eq!(id("op3.1"), StepId::operator(3).child(1));
    assert_ne!(id("op3"), id("3"));
    // Not step 3, nor inside it: resuming and `--start-at` never take it.
    assert_eq!(played.top_level_index(), None);
    assert!(!played.is_top_level());
    assert!(!played.is_run());
    assert!(!id("3").contains(&played) && !played.contains(&id("3.1")));
    assert!(played.contains(&id("op3.1")));
    for (text, why) in [
        ("op", "`op` is followed by the operator command's number"),
        ("opx", "`op` is followed by the operator command's number"),
        ("op.1", "`op` is followed by the operator command's number"),
        ("op03", "bad place `03`"),
        ("op3.", "bad place ``"),
    ] {
        let error = text.parse::<StepId>().unwrap_err();
        assert_eq!(error, format!("`{text}` is not a step id: {why}"));
    }
}

#[test]
fn operator_ids_sort_after_every_step() {
    let order = [
        "",
        "1",
        "2.1",
        "10",
        "99.always.1",
        "op1",
        "op1.1",
        "op2",
        "op10",
    ];
    let ids: Vec<StepId> = order.iter().map(|t| id(t)).collect();
    let mut sorted = ids.clone();
    sorted.reverse();
    sorted.sort();
    assert_eq!(sorted, ids);
}

#[test]
fn a_loop_items_step_is_named_without_its_item_and_always_steps_are_told() {
    assert_eq!(id("3#2").without_items(), id("3"));
    assert_eq!(id("3#2.1").without_items(), id("3.1"));
    assert_eq!(id("3.always.1#4").without_items(), id("3.always.1"));
    assert_eq!(id("op2").without_items(), id("op2"));
    assert!(id("3.always.1").in_always());
    assert!(id("3.always.1.2").in_always());
    assert!(!id("3.rescue.1").in_always());
    assert!(!id("3.1").in_always());
}

#[test]
fn an_operator_id_has_its_number() {
    assert_eq!(id("op3").operator_number(), Some(3));
    assert_eq!(id("op3.2").operator_number(), Some(3));
    assert_eq!(id("3").operator_number(), None);
}
