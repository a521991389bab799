//! The scheduler: jobs of cron expression, time zone, playbook and variables, run by
//! one long-lived process (`emcee schedule FILE`). Each firing runs `emcee run` as a
//! child process, so every run has its own lock, journal and signal handling, and two
//! runs of one meeting are kept apart by the same lock as under cron.

mod export;
mod file;

use std::path::PathBuf;

use jiff::{SignedDuration, Timestamp};

pub use export::{CronFlavour, Export};
pub use file::{Job, ScheduleFile, schema};

use crate::clock::SharedClock;

/// One firing of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    pub job: usize,
    /// When it was due.
    pub due: Timestamp,
}

/// What the scheduler does with a firing it reaches late (the machine slept, or was
/// busy): it still runs within `catch_up`, and is skipped past that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Run,
    Skip { late: SignedDuration },
}

impl ScheduleFile {
    /// The next firing of every job after `after`, earliest first.
    pub fn next_firings(&self, after: Timestamp, count: usize) -> Vec<Firing> {
        let mut next: Vec<Option<Timestamp>> =
            self.jobs.iter().map(|job| job.next_after(after)).collect();
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let Some((job, due)) = next
                .iter()
                .enumerate()
                .filter_map(|(i, t)| t.map(|t| (i, t)))
                .min_by_key(|(i, t)| (*t, *i))
            else {
                break;
            };
            out.push(Firing { job, due });
            next[job] = self.jobs[job].next_after(due);
        }
        out
    }

    /// Whether a firing due at `due` and reached at `now` still runs.
    pub fn decide(&self, due: Timestamp, now: Timestamp) -> Decision {
        let late = now.duration_since(due);
        if late <= self.catch_up.signed() {
            Decision::Run
        } else {
            Decision::Skip { late }
        }
    }

    /// Runs the schedule on `clock` until `stop` resolves (or, on virtual time, until
    /// `until`), calling `launch` for each firing that runs and `skipped` for each
    /// that does not.
    pub async fn run<L, S>(
        &self,
        clock: &SharedClock,
        until: Option<Timestamp>,
        mut launch: L,
        mut skipped: S,
        stop: impl std::future::Future<Output = ()>,
    ) where
        L: FnMut(&Job, Timestamp),
        S: FnMut(&Job, Timestamp, SignedDuration),
    {
        tokio::pin!(stop);
        // Each job's own next firing: jobs due at the same instant all fire.
        let start = clock.now();
        let mut next: Vec<Option<Timestamp>> =
            self.jobs.iter().map(|job| job.next_after(start)).collect();
        loop {
            let Some((index, due)) = next
                .iter()
                .enumerate()
                .filter_map(|(i, t)| t.map(|t| (i, t)))
                .min_by_key(|(i, t)| (*t, *i))
            else {
                return;
            };
            if until.is_some_and(|u| due > u) {
                return;
            }
            tokio::select! {
                _ = clock.sleep_until(due) => {}
                _ = &mut stop => return,
            }
            let job = &self.jobs[index];
            match self.decide(due, clock.now()) {
                Decision::Run => launch(job, due),
                Decision::Skip { late } => skipped(job, due, late),
            }
            // Firings missed while asleep are not replayed one by one: go on from now.
            let floor = clock
                .now()
                .checked_sub(self.catch_up.signed())
                .unwrap_or(due);
            next[index] = job.next_after(due.max(floor));
        }
    }
}

impl Job {
    /// The arguments of the `emcee run` a firing starts.
    pub fn run_args(&self) -> Vec<String> {
        let mut args = vec!["run".to_owned(), self.playbook.display().to_string()];
        // A string goes as typed (`KEY=VALUE`); anything else as JSON, which is YAML,
        // through the typed form (`KEY:=YAML`).
        for (key, value) in &self.vars {
            args.push("-e".into());
            args.push(match value {
                serde_json::Value::String(text) => format!("{key}={text}"),
                other => format!("{key}:={other}"),
            });
        }
        for report in &self.reports {
            args.push("--report".into());
            args.push(report.clone());
        }
        args
    }

    /// The command line of a firing, quoted for a shell; with `env`, the job's
    /// environment (secret file paths) in front, as a crontab line sets it.
    fn command_line(&self, emcee: &str, env: bool) -> String {
        let quote = |s: &str| {
            if s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:".contains(c))
            {
                s.to_owned()
            } else {
                format!("'{}'", s.replace('\'', r"'\''"))
            }
        };
        let env = self
            .env
            .iter()
            .filter(|_| env)
            .map(|(k, v)| format!("{k}={}", quote(v)));
        env.chain(std::iter::once(quote(emcee)))
            .chain(self.run_args().iter().map(|a| quote(a)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Where the scheduler's children find the emcee binary.
pub fn emcee_binary() -> PathBuf {
    std::env::current_exe().unwrap_or_else(|_| PathBuf::from("emcee"))
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::clock::{Clock, VirtualClock, Wait};
    use crate::source::SourceFile;

    fn schedule(text: &str) -> ScheduleFile {
        // Written once: tests run in parallel, and load reads (and checks) it.
        static PLAYBOOK: std::sync::OnceLock<tempfile::TempPath> = std::sync::OnceLock::new();
        let playbook = PLAYBOOK.get_or_init(|| {
            let mut file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
            std::io::Write::write_all(
                &mut file,
                b"name: x\nmeeting: { id: \"914044873\", host_password: pw }\nsteps:\n  - lock: {}\n",
            )
            .unwrap();
            file.into_temp_path()
        });
        let text = text.replace("PLAYBOOK", playbook.to_str().unwrap());
        ScheduleFile::parse(&SourceFile::new("s.yaml", text), Path::new("s.yaml")).unwrap()
    }

    const WEEKLY: &str = "timezone: Asia/Shanghai\njobs:\n  - { name: town hall, cron: \"50 9 * * 1\", playbook: PLAYBOOK }\n  - { name: class, cron: \"55 7 * * 1-5\", playbook: PLAYBOOK }\n  - { name: berlin, cron: \"0 9 * * *\", timezone: Europe/Berlin, playbook: PLAYBOOK }\n";

    #[test]
    fn firings_come_in_time_order_across_zones() {
        let s = schedule(WEEKLY);
        // Sunday 2026-11-22 12:00 in Shanghai.
        let start: Timestamp = "2026-11-22T12:00:00+08:00".parse().unwrap();
        let names: Vec<(String, String)> = s
            .next_firings(start, 5)
            .into_iter()
            .map(|f| {
                (
                    s.jobs[f.job].name.clone(),
                    f.due
                        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap())
                        .strftime("%a %H:%M")
                        .to_string(),
                )
            })
            .collect();
        let expected = [
            ("berlin", "Sun 16:00"),
            ("class", "Mon 07:55"),
            ("town hall", "Mon 09:50"),
            ("berlin", "Mon 16:00"),
            ("class", "Tue 07:55"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(names, expected);
    }

    #[tokio::test]
    async fn the_loop_fires_the_right_jobs_at_the_right_minutes_on_virtual_time() {
        let s = schedule(WEEKLY);
        let start: Timestamp = "2026-11-22T12:00:00+08:00".parse().unwrap();
        let clock: SharedClock = VirtualClock::starting_at(start);
        let launched = std::cell::RefCell::new(Vec::new());
        let until = start + SignedDuration::from_hours(24 * 7);
        s.run(
            &clock,
            Some(until),
            |job, due| launched.borrow_mut().push((job.name.clone(), due)),
            |_, _, _| panic!("nothing is late on virtual time"),
            std::future::pending(),
        )
        .await;
        let launched = launched.into_inner();
        let count = |name: &str| launched.iter().filter(|(n, _)| n == name).count();
        assert_eq!(
            (count("town hall"), count("class"), count("berlin")),
            (1, 5, 7)
        );
        assert!(
            launched.windows(2).all(|w| w[0].1 <= w[1].1),
            "in time order"
        );
        let town_hall = launched.iter().find(|(n, _)| n == "town hall").unwrap().1;
        assert_eq!(
            town_hall,
            "2026-11-23T09:50:00+08:00".parse::<Timestamp>().unwrap()
        );
    }

    #[tokio::test]
    async fn jobs_due_at_the_same_minute_all_fire() {
        let s = schedule(
            "timezone: UTC\njobs:\n  - { name: a, cron: \"0 9 * * *\", playbook: PLAYBOOK }\n  - { name: b, cron: \"0 9 * * *\", playbook: PLAYBOOK }\n  - { name: c, cron: \"0 9 * * 1\", playbook: PLAYBOOK }\n",
        );
        // Sunday 2026-11-22: a and b fire Sunday and Monday, c on Monday with them.
        let start: Timestamp = "2026-11-22T08:00:00Z".parse().unwrap();
        let clock: SharedClock = VirtualClock::starting_at(start);
        let launched = std::cell::RefCell::new(Vec::new());
        s.run(
            &clock,
            Some(start + SignedDuration::from_hours(30)),
            |job, _| launched.borrow_mut().push(job.name.clone()),
            |_, _, _| panic!("nothing is late on virtual time"),
            std::future::pending(),
        )
        .await;
        assert_eq!(launched.into_inner(), ["a", "b", "a", "b", "c"]);
    }

    /// A clock whose waits end ten minutes late, as a machine that slept through them.
    #[derive(Debug)]
    struct Oversleeping(Arc<VirtualClock>);

    impl Clock for Oversleeping {
        fn now(&self) -> Timestamp {
            self.0.now()
        }
        fn advance(&self, by: SignedDuration) {
            self.0.advance(by);
        }
        fn sleep_until(&self, at: Timestamp) -> Wait {
            self.0.sleep_until(at + SignedDuration::from_mins(10))
        }
    }

    #[tokio::test]
    async fn firings_reached_beyond_catch_up_are_skipped_not_replayed() {
        let s = schedule(
            "catch_up: 5m\njobs:\n  - { name: hourly, cron: \"0 * * * *\", playbook: PLAYBOOK }\n",
        );
        let start: Timestamp = "2026-11-22T12:30:00Z".parse().unwrap();
        let clock: SharedClock = Arc::new(Oversleeping(VirtualClock::starting_at(start)));
        let (launched, skipped) = (std::cell::Cell::new(0), std::cell::RefCell::new(Vec::new()));
        s.run(
            &clock,
            Some(start + SignedDuration::from_hours(3)),
            |_, _| launched.set(launched.get() + 1),
            |_, due, late| skipped.borrow_mut().push((due, late)),
            std::future::pending(),
        )
        .await;
        assert_eq!(launched.get(), 0);
        let skipped = skipped.into_inner();
        assert_eq!(
            skipped.len(),
            3,
            "13:00, 14:00, 15:00 each skipped once: {skipped:?}"
        );
        assert!(
            skipped
                .iter()
                .all(|(_, late)| *late == SignedDuration::from_mins(10))
        );
        let lenient = schedule(
            "catch_up: 15m\njobs:\n  - { name: hourly, cron: \"0 * * * *\", playbook: PLAYBOOK }\n",
        );
        assert_eq!(
            lenient.decide(start, start + SignedDuration::from_mins(10)),
            Decision::Run
        );
    }
}
