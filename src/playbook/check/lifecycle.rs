//! What `check` finds wrong with how a playbook meets a meeting that has not started:
//! `start` without an account or the host password, a poll so frequent that it risks
//! locking the meeting, a timeout of nothing, and a deadline counted from the meeting's
//! start (the deadline is fixed before the meeting is known). An account without
//! `start` is no problem: `run --not-started start` uses it.

use std::collections::BTreeSet;

use super::Checker;
use crate::playbook::model::{MIN_START_POLL, NotStarted};

impl Checker<'_> {
    pub(super) fn lifecycle(&mut self, known: &BTreeSet<String>) {
        let meeting = &self.playbook.doc.meeting;
        let policy = meeting.not_started.as_ref().map(|p| (p.value, p.pos));
        match (policy, &meeting.account) {
            (Some((NotStarted::Start, pos)), None) => {
                self.at(pos, "`not_started: start` needs an `account` to start the meeting with")
                    .help = Some("add `account: { name: \"{{ secret('EMCEE_ACCOUNT') }}\", password: \"{{ secret('EMCEE_ACCOUNT_PASSWORD') }}\" }` under `meeting`".into());
            }
            (Some((NotStarted::Start, _)), Some(_)) if meeting.host_password.is_none() => {
                let pos = meeting
                    .not_started
                    .as_ref()
                    .map_or(meeting.id.pos, |p| p.pos);
                self.at(pos, "`not_started: start` needs the `host_password`: starting a meeting takes it, a token will not do");
            }
            _ => {}
        }
        if let Some(account) = &meeting.account {
            let (name, password) = (account.name.clone(), account.password.clone());
            self.text(&name, known);
            self.text(&password, known);
        }
        if let Some(poll) = &meeting.start_poll
            && poll.value < MIN_START_POLL
        {
            self.at(
                poll.pos,
                format!("start_poll {} is too often: at least {MIN_START_POLL}", poll.value),
            )
            .help = Some("each poll logs in with the host password, and too many failed logins lock the meeting's control; 15s is the default".into());
        }
        if let Some(timeout) = &meeting.start_timeout
            && timeout.value.is_zero()
        {
            self.at(timeout.pos, "start_timeout must be longer than nothing")
                .help = Some("leave it out to wait until 15 minutes after the first timed cue (30 minutes without one), or give e.g. 45m".into());
        }
        if let Some(deadline) = &self.playbook.doc.deadline
            && deadline.is_meeting()
        {
            let pos = deadline.pos;
            self.at(pos, format!("deadline {}: the run's deadline cannot count from the meeting's start, which is not known when the run begins", deadline.value))
                .help = Some("use +2h (after the run's start) or a time of day".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::problems_in;

    const HEAD: &str =
        "name: t\ntimezone: UTC\nsteps:\n  - log: hi\nmeeting:\n  id: \"914044873\"\n";

    fn found(meeting: &str) -> Vec<String> {
        problems_in(&format!("{HEAD}{meeting}"))
            .iter()
            .map(|p| p.message.clone())
            .collect()
    }

    #[test]
    fn a_poll_under_five_seconds_is_refused_with_why() {
        let problems = problems_in(&format!("{HEAD}  host_password: p\n  start_poll: 2s\n"));
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].message.contains("at least 5s"),
            "{}",
            problems[0].message
        );
        assert!(problems[0].help.as_deref().unwrap_or("").contains("lock"));
        assert!(found("  host_password: p\n  start_poll: 5s\n").is_empty());
    }

    #[test]
    fn start_needs_an_account_and_the_host_password() {
        let without = found("  host_password: p\n  not_started: start\n");
        assert_eq!(without.len(), 1, "{without:?}");
        assert!(without[0].contains("needs an `account`"), "{without:?}");
        let with = found(
            "  host_password: p\n  not_started: start\n  account: { name: a, password: \"{{ secret('EMCEE_ACCOUNT_PASSWORD') }}\" }\n",
        );
        assert!(with.is_empty(), "{with:?}");
        let token =
            found("  token: t\n  not_started: start\n  account: { name: a, password: b }\n");
        assert!(
            token
                .iter()
                .any(|m| m.contains("needs the `host_password`")),
            "{token:?}"
        );
    }

    #[test]
    fn a_timeout_of_nothing_and_a_meeting_deadline_are_refused() {
        let zero = found("  host_password: p\n  start_timeout: 0s\n");
        assert_eq!(zero.len(), 1, "{zero:?}");
        assert!(zero[0].contains("start_timeout"));
        let deadline = found("  host_password: p\ndeadline: meeting+2h\n");
        assert_eq!(deadline.len(), 1, "{deadline:?}");
        assert!(deadline[0].contains("cannot count from the meeting's start"));
    }

    #[test]
    fn an_unknown_policy_is_refused_by_the_loader() {
        let bad = found("  host_password: p\n  not_started: later\n");
        assert!(!bad.is_empty());
    }

    #[test]
    fn the_feed_setting_takes_auto_off_or_required_and_nothing_else() {
        for mode in ["auto", "off", "required"] {
            let found = found(&format!("  host_password: p\n  events: {mode}\n"));
            assert!(found.is_empty(), "{mode}: {found:?}");
        }
        for (bad, said) in [
            ("sometimes", "unknown value `sometimes`"),
            ("true", "unknown value"),
            ("[auto]", "expected scalar"),
        ] {
            let problems = problems_in(&format!("{HEAD}  host_password: p\n  events: {bad}\n"));
            assert_eq!(problems.len(), 1, "{bad}: {problems:#?}");
            let problem = &problems[0];
            assert!(
                problem.message.contains(said),
                "{bad}: {} / {:?}",
                problem.message,
                problem.help
            );
            // Pointed at the value, on the `events` line.
            let line = problem.file.text()[..problem.span.offset].lines().count();
            assert_eq!(line, 8, "{bad}: {problem:#?}");
            if bad == "sometimes" {
                assert_eq!(
                    problem.help.as_deref(),
                    Some("expected one of: auto, off, required")
                );
            }
        }
    }
}
