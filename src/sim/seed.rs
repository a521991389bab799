//! The emulator's seed: the meetings (their shape is the meeting vocabulary's
//! [`MeetingSeed`]) and accounts it starts with, read from a YAML file
//! (`emcee sim --seed FILE`) or given in process. The same meeting shape is accepted
//! by `POST /_sim/meetings`.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::duration::Duration;
use crate::error::{Diagnostic, Error};
use crate::meeting::MeetingSeed;
use crate::source::SourceFile;
use crate::yaml::{self, Spanned};

#[derive(Debug, Clone, Default)]
pub struct Seed {
    pub meetings: Vec<MeetingSeed>,
    pub accounts: Vec<AccountSeed>,
    /// Lifetime of control tokens; 30 minutes when absent.
    pub token_ttl: Option<Duration>,
}

impl Seed {
    /// Reads and checks a seed file; every problem is reported with its position.
    pub fn load(path: &Path) -> Result<Seed, Error> {
        let file = SourceFile::read(path)?;
        Self::parse(&file)
    }

    pub fn parse(file: &std::sync::Arc<SourceFile>) -> Result<Seed, Error> {
        let parsed: SeedFile = yaml::parse(file)?;
        let mut problems = Vec::new();
        let mut seen: HashMap<String, ()> = HashMap::new();
        for meeting in &parsed.meetings {
            let span = yaml::span_of(file, meeting);
            if let Err(message) = meeting.value.validate() {
                problems.push(Diagnostic::new(file, span, message));
            }
            if let Some(id) = &meeting.value.id
                && seen.insert(id.0.clone(), ()).is_some()
            {
                problems.push(
                    Diagnostic::new(file, span, format!("meeting id {id} appears twice"))
                        .with_help(
                            "each meeting needs its own id; leave `id` out to have one generated",
                        ),
                );
            }
        }
        if !problems.is_empty() {
            return Err(Error::Invalid(problems));
        }
        Ok(Seed {
            meetings: parsed.meetings.into_iter().map(|m| m.value).collect(),
            accounts: parsed.accounts,
            token_ttl: parsed.token_ttl,
        })
    }
}

/// The seed file as written, with positions kept for error messages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedFile {
    #[serde(default)]
    meetings: Vec<Spanned<MeetingSeed>>,
    #[serde(default)]
    accounts: Vec<AccountSeed>,
    token_ttl: Option<Duration>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSeed {
    pub account: String,
    pub password: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meeting::seed::Hand;
    use crate::meeting::{MeetingId, Role};

    fn parse(text: &str) -> Result<Seed, String> {
        let file = SourceFile::new("seed.yaml", text);
        Seed::parse(&file).map_err(|e| e.render(false))
    }

    #[test]
    fn reads_the_documented_example() {
        let seed = parse(
            r#"
meetings:
  - id: "914044873"
    subject: Town hall
    host_password: "123456"
    guest_password: "654321"
    participants:
      - { name: Alice Zhang, phone: "+8613800000001", role: host }
      - { name: Bob Li, hand: raised, mute: true, video: true }
accounts:
  - { account: demo, password: demo-pass }
token_ttl: 30m
"#,
        )
        .unwrap();
        let meeting = &seed.meetings[0];
        assert_eq!(meeting.id, Some(MeetingId("914044873".into())));
        assert_eq!(meeting.participants[0].role, Role::Host);
        assert_eq!(meeting.participants[1].hand, Hand(true));
        assert_eq!(seed.token_ttl, Some("30m".parse().unwrap()));
        assert_eq!(seed.accounts[0].account, "demo");
    }

    #[test]
    fn unquoted_ids_are_accepted_and_bad_ids_located() {
        let seed = parse("meetings:\n  - { id: 914044873, host_password: x }\n").unwrap();
        assert_eq!(seed.meetings[0].id.as_ref().unwrap().0, "914044873");
        let error = parse("meetings:\n  - id: 12ab\n    host_password: x\n").unwrap_err();
        assert!(error.contains("seed.yaml:2:9"), "{error}");
        assert!(error.contains("6 to 20 digits"), "{error}");
    }

    #[test]
    fn reports_every_problem_with_its_position() {
        let error = parse(
            "meetings:\n  - id: \"111111111\"\n    host_password: a\n    participants:\n      - { name: A, role: host }\n      - { name: B, role: host }\n  - id: \"111111111\"\n    host_password: b\n",
        )
        .unwrap_err();
        assert!(
            error.contains(
                "error: a meeting has at most one host, this one has 2: A, B
 --> seed.yaml:2:5"
            ),
            "{error}"
        );
        assert!(
            error.contains(
                "error: meeting id 111111111 appears twice
 --> seed.yaml:7:5"
            ),
            "{error}"
        );
        assert!(error.contains("2 problems found"), "{error}");
    }

    #[test]
    fn invitees_and_rules_are_read_and_their_mistakes_located() {
        let seed = parse(
            "meetings:\n  - host_password: a\n    rules: { hands: strict }\n    invitees:\n      \"+8613800000001\": { outcome: rejects, after: 4s }\n",
        )
        .unwrap();
        let meeting = &seed.meetings[0];
        assert_eq!(meeting.rules.hands, crate::meeting::HandRule::Strict);
        let invitee = meeting.invitees["+8613800000001"];
        assert_eq!(invitee.outcome, crate::meeting::InviteOutcome::Rejects);
        assert_eq!(invitee.rings_for(), "4s".parse().unwrap());
        let error = parse(
            "meetings:\n  - host_password: a\n    invitees:\n      \"+1\": { outcome: answers, busy: true }\n",
        )
        .unwrap_err();
        assert!(error.contains("seed.yaml:4:"), "{error}");
        assert!(error.contains("busy"), "{error}");
        let error =
            parse("meetings:\n  - host_password: a\n    invitees: { \" \": {} }\n").unwrap_err();
        assert!(error.contains("must not be empty"), "{error}");
    }

    #[test]
    fn misspelt_keys_get_a_suggestion() {
        let error = parse("meetings:\n  - host_password: a\n    particpants: []\n").unwrap_err();
        assert!(error.contains("seed.yaml:3:5"), "{error}");
        assert!(error.contains("did you mean `participants`?"), "{error}");
        let error =
            parse("meetings:\n  - host_password: a\n    participants: [{name: A, role: chair}]\n")
                .unwrap_err();
        assert!(
            error.contains("unknown variant `chair`") || error.contains("chair"),
            "{error}"
        );
    }
}
