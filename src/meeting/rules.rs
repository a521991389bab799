//! The service's rules a rehearsal can choose, and how invited people answer: the
//! seed's `rules:` (the strict hand mode) and `invitees:` (per number, whether and when
//! a callee answers). The emulator plays them; the same shapes are its admin API's
//! bodies, so a test or a rehearsal can change them while a meeting runs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;

/// How long an invitee with no configured outcome rings before answering.
pub(crate) const DEFAULT_ANSWER_AFTER: Duration = Duration::from_secs_const(2);
/// How long a callee rings before the service gives up (`no_answer`) by default.
pub(crate) const DEFAULT_RING_TIME: Duration = Duration::from_secs_const(30);

/// Most numbers one meeting configures: far more than any rehearsal calls, few enough
/// that the admin API cannot be made to hold without bound.
pub(crate) const MAX_INVITEES: usize = 10_000;

/// The service's rules where its documents leave room for doubt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingRules {
    /// Whether the host may raise someone else's hand with the single `Hand` call.
    #[serde(default)]
    pub hands: HandRule,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HandRule {
    /// As the current API page reads: the host sets anyone's hand (but never raises
    /// their own).
    #[default]
    Lenient,
    /// As the service's codes suggest: the host lowers anyone's hand but raises nobody
    /// else's with `Hand` (`MMC.111072071`); `BatchHand` still raises guests' hands.
    Strict,
}

/// What a called number does, and after how long.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteeSeed {
    #[serde(default)]
    pub outcome: InviteOutcome,
    /// How long the callee rings before the outcome: 2 s by default, 30 s (the ring
    /// time) for `no_answer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Duration>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InviteOutcome {
    /// Picks up and is in the meeting.
    #[default]
    Answers,
    /// Busy on another call: `111076008`.
    Busy,
    /// Declines the call: `111076009`.
    Rejects,
    /// Rings until the service gives up: `111076005`.
    NoAnswer,
}

/// Why someone left, as `InviteResultNotify` reports it: hung up by the host.
pub(crate) const LEFT_HUNG_UP_BY_HOST: &str = "111076002";
/// Why someone left, as `InviteResultNotify` reports it: they left themselves.
pub(crate) const LEFT_BY_THEMSELVES: &str = "111076010";

impl InviteOutcome {
    /// The invitation result code the service reports for this outcome (`"0"` for an
    /// answered call), as `InviteResultNotify` carries it.
    pub fn result_code(self) -> &'static str {
        match self {
            InviteOutcome::Answers => "0",
            InviteOutcome::Busy => "111076008",
            InviteOutcome::Rejects => "111076009",
            InviteOutcome::NoAnswer => "111076005",
        }
    }
}

impl InviteeSeed {
    /// How long the callee rings before its outcome.
    pub fn rings_for(&self) -> Duration {
        self.after.unwrap_or(match self.outcome {
            InviteOutcome::NoAnswer => DEFAULT_RING_TIME,
            _ => DEFAULT_ANSWER_AFTER,
        })
    }
}

/// Checks the numbers of a seed's `invitees:`.
pub(crate) fn validate_invitees<'a>(
    numbers: impl ExactSizeIterator<Item = &'a String>,
) -> Result<(), String> {
    if numbers.len() > MAX_INVITEES {
        return Err(format!(
            "`invitees` lists {} numbers, at most {MAX_INVITEES} are allowed",
            numbers.len()
        ));
    }
    for number in numbers {
        validate_number(number)?;
    }
    Ok(())
}

pub(crate) fn validate_number(number: &str) -> Result<(), String> {
    if number.trim().is_empty() {
        return Err("an invitee's number must not be empty".into());
    }
    if number.chars().count() > 64 {
        return Err(format!(
            "invitee number `{number}` is longer than 64 characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_ring_for_their_default_or_given_time() {
        let seed: InviteeSeed = serde_json::from_str(r#"{"outcome":"busy"}"#).unwrap();
        assert_eq!(seed.rings_for(), DEFAULT_ANSWER_AFTER);
        assert_eq!(seed.outcome.result_code(), "111076008");
        let seed: InviteeSeed = serde_json::from_str(r#"{"outcome":"no_answer"}"#).unwrap();
        assert_eq!(seed.rings_for(), DEFAULT_RING_TIME);
        let seed: InviteeSeed = serde_json::from_str(r#"{"after":"5s"}"#).unwrap();
        assert_eq!(seed.outcome, InviteOutcome::Answers);
        assert_eq!(seed.rings_for(), Duration::from_secs(5));
        assert!(serde_json::from_str::<InviteeSeed>(r#"{"busy":true}"#).is_err());
        assert!(serde_json::from_str::<InviteeSeed>(r#"{"outcome":"hangs"}"#).is_err());
    }

    #[test]
    fn the_hand_rule_is_lenient_unless_said() {
        let rules: MeetingRules = serde_json::from_str("{}").unwrap();
        assert_eq!(rules.hands, HandRule::Lenient);
        let rules: MeetingRules = serde_json::from_str(r#"{"hands":"strict"}"#).unwrap();
        assert_eq!(rules.hands, HandRule::Strict);
        assert!(serde_json::from_str::<MeetingRules>(r#"{"hand":"strict"}"#).is_err());
        assert_eq!(
            validate_number(" ").unwrap_err(),
            "an invitee's number must not be empty"
        );
        let numbers: Vec<String> = (0..=MAX_INVITEES).map(|n| format!("+{n}")).collect();
        assert!(validate_invitees(numbers[1..].iter()).is_ok());
        assert!(
            validate_invitees(numbers.iter())
                .unwrap_err()
                .contains("at most 10000")
        );
    }
}
