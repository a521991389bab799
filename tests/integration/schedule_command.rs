//! `emcee schedule`: the next firings, the crontab, a bad schedule file, and the
//! scheduler itself running jobs against the harness emulator until SIGTERM.

use crate::support::*;

#[tokio::test]
async fn next_and_crontab() {
    let run = Run::command(&["schedule", "s.yaml", "--next", "3"])
        .file("p.yaml", "name: P\nmeeting: { id: \"914044873\", host_password: pw }\nsteps:\n  - lock: {}\n")
        .file("s.yaml", "timezone: Asia/Shanghai\njobs:\n  - name: Town hall\n    cron: \"50 9 * * 1\"\n    playbook: p.yaml\n    vars: { speaker: Bob Li }\n");
    let output = run.output().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines
            .iter()
            .all(|l| l.ends_with("+08:00  Town hall") && l.contains("T09:50:00")),
        "{lines:?}"
    );
    let crontab = Run::command(&["schedule", "s.yaml", "--print-crontab"])
        .file("p.yaml", "name: P\nmeeting: { id: \"914044873\", host_password: pw }\nsteps:\n  - lock: {}\n")
        .file("s.yaml", "timezone: Asia/Shanghai\njobs:\n  - name: Town hall\n    cron: \"50 9 * * 1\"\n    playbook: p.yaml\n    vars: { speaker: Bob Li, room: \"007\", rounds: 3, panel: [Bob Li] }\n")
        .output()
        .await;
    assert!(
        crontab
            .stdout
            .contains("CRON_TZ=Asia/Shanghai\n50 9 * * 1 "),
        "{}",
        crontab.stdout
    );
    assert!(
        crontab.stdout.contains(" run /"),
        "absolute playbook path: {}",
        crontab.stdout
    );
    assert!(
        crontab
            .stdout
            .contains("-e 'speaker=Bob Li' -e room=007 -e rounds:=3 -e 'panel:=[\"Bob Li\"]'"),
        "strings as typed, other values typed: {}",
        crontab.stdout
    );
}

#[tokio::test]
async fn a_bad_schedule_file_is_located_and_exits_2() {
    let output = Run::command(&["schedule", "s.yaml", "--next", "1"])
        .file("s.yaml", "jobs:\n  - name: Bad\n    cron: \"61 9 * * 1\"\n    timezone: Mars/Base\n    playbook: nope.yaml\n")
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    insta::assert_snapshot!(output.stderr);
}

#[tokio::test]
async fn the_scheduler_runs_jobs_and_stops_on_sigterm() {
    let emu = Emu::start(TOWN_HALL).await;
    let run = Run::command(&["schedule", "s.yaml"])
        .file("p.yaml", &format!("name: P\nmeeting:\n  id: \"{MEETING}\"\n  host_password: \"{{{{ secret('EMCEE_HOST_PASSWORD') }}}}\"\nsteps:\n  - lock: {{}}\n"))
        .file("s.yaml", "jobs:\n  - name: Every second\n    cron: \"* * * * * *\"\n    playbook: p.yaml\n")
        .env("EMCEE_ENDPOINT", emu.handle.base_url())
        .env(HOST_PASSWORD_ENV, PASSWORD);
    let (child, _dir) = run.spawn_plain();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while emu
        .requests()
        .await
        .iter()
        .filter(|r| r["path"] == format!("{CONTROL}/lock"))
        .count()
        < 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduler ran no job"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-s", "TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let output = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("start   Every second"), "{stdout}");
    assert!(stdout.contains("stopped"), "{stdout}");
}

#[test]
fn the_committed_schedule_schema_is_current_and_the_example_follows_it() {
    let root = env!("CARGO_MANIFEST_DIR");
    let committed =
        std::fs::read_to_string(format!("{root}/schemas/schedule.schema.json")).unwrap();
    assert!(
        committed == emcee::schedule::schema(),
        "schemas/schedule.schema.json is stale: run `cargo run -- schema --schedule > schemas/schedule.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&committed).unwrap();
    let example: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string(format!("{root}/schedules/weekly.yaml")).unwrap(),
    )
    .unwrap();
    assert!(
        jsonschema::validator_for(&schema)
            .unwrap()
            .is_valid(&example)
    );
    emcee::schedule::ScheduleFile::load(std::path::Path::new(&format!(
        "{root}/schedules/weekly.yaml"
    )))
    .unwrap();
}

/// A job variable that `-e` would refuse is found when the schedule is read, not at
/// each firing.
#[tokio::test]
async fn a_job_variable_run_would_refuse_is_located() {
    let output = Run::command(&["schedule", "s.yaml", "--next", "1"])
        .file("p.yaml", "name: P\nmeeting: { id: \"914044873\", host_password: pw }\nsteps:\n  - lock: {}\n")
        .file("s.yaml", "jobs:\n  - name: Loop\n    cron: \"50 9 * * 1\"\n    playbook: p.yaml\n    vars:\n      item: x\n")
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output
            .stderr
            .contains("vars: `item`: `item` is set by `loop`")
            && output.stderr.contains("s.yaml:6:13"),
        "{}",
        output.transcript()
    );
}

const MEETINGS: &str = r#"
meetings:
  - { id: "914044873", subject: A, host_password: "123456", participants: [ { name: Alice Zhang, role: host } ] }
  - { id: "222333444", subject: B, host_password: "999999", participants: [ { name: Eve Qian, role: host } ] }
  - { id: "333444555", subject: C, host_password: "777777", participants: [ { name: Gil Sun, role: host } ] }
"#;

/// Three jobs, three meetings, three passwords, each from its own secret file; every
/// firing its own report; every child's lines marked with its job.
#[tokio::test]
async fn each_job_has_its_own_secrets_reports_and_lines() {
    let emu = Emu::start(MEETINGS).await;
    let jobs: String = [("Town A", "914044873", "a"), ("Town B", "222333444", "b"), ("Town C", "333444555", "c")]
        .iter()
        .map(|(name, id, key)| {
            format!(
                "  - name: {name}\n    cron: \"* * * * * *\"\n    playbook: p.yaml\n    vars: {{ conference_id: \"{id}\" }}\n    env: {{ EMCEE_HOST_PASSWORD_FILE: secrets/{key}.pw }}\n    report: [\"json=reports/{{job}}-{{date}}-{{run_id}}.json\"]\n"
            )
        })
        .collect();
    let run = Run::command(&["schedule", "s.yaml"])
        .file("p.yaml", "name: P\nmeeting:\n  id: \"{{ conference_id }}\"\n  host_password: \"{{ secret('EMCEE_HOST_PASSWORD') }}\"\nsteps:\n  - lock: {}\n")
        .file("s.yaml", &format!("jobs:\n{jobs}"))
        .file("secrets/a.pw", "123456\n")
        .file("secrets/b.pw", "999999\n")
        .file("secrets/c.pw", "777777\n")
        .file("reports/.keep", "")
        .env("EMCEE_ENDPOINT", emu.handle.base_url());
    let (child, dir) = run.spawn_plain();
    let reports = dir.path().join("reports");
    let count = |prefix: &str| {
        std::fs::read_dir(&reports)
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                let name = name.to_string_lossy();
                name.starts_with(prefix) && name.ends_with(".json")
            })
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let jobs = ["town-a-", "town-b-", "town-c-"];
    while jobs.iter().any(|p| count(p) < 2) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-s", "TERM", &pid])
        .status()
        .unwrap();
    let output = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        jobs.iter().all(|p| count(p) >= 2),
        "two reports of each job: {stdout}"
    );
    // Each meeting was opened with its own password, read from its own file.
    for id in ["914044873", "222333444", "333444555"] {
        assert_eq!(emu.meeting(id).await["locked"], true, "{id}: {stdout}");
    }
    // Reports of one job on one day, one per run: none overwrote another.
    let today = jiff::Zoned::now().strftime("%Y-%m-%d").to_string();
    let names: Vec<String> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert!(
        names.iter().all(|n| n.contains(&today)
            || n.contains(
                &jiff::Zoned::now()
                    .yesterday()
                    .unwrap()
                    .strftime("%Y-%m-%d")
                    .to_string()
            )),
        "{names:?}"
    );
    for line in stdout.lines().filter(|l| l.contains("lock")) {
        assert!(
            ["[Town A] ", "[Town B] ", "[Town C] "]
                .iter()
                .any(|p| line.starts_with(p)),
            "a child's line without its job: {line}\n{stdout}"
        );
    }
    assert!(
        stdout.contains("[Town B] run     P: meeting 222333444"),
        "{stdout}"
    );
    let everything = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    for password in ["123456", "999999", "777777"] {
        assert!(!everything.contains(password), "{password} in the output");
    }
}

#[tokio::test]
async fn what_a_firing_would_trip_on_is_refused_at_load() {
    let output = Run::command(&["schedule", "s.yaml", "--next", "1"])
        .file("good.yaml", "name: P\nmeeting: { id: \"914044873\", host_password: pw }\nsteps:\n  - lock: {}\n")
        .file("bad.yaml", "name: P\nmeeting: { id: \"914044873\", host_password: pw }\nsteps:\n  - lokc: {}\n")
        .file("s.yaml", concat!(
            "jobs:\n",
            "  - name: Never\n    cron: \"0 0 30 2 *\"\n    playbook: good.yaml\n",
            "  - name: Invalid playbook\n    cron: \"0 9 * * 1\"\n    playbook: bad.yaml\n",
            "  - name: Bad reports\n    cron: \"0 9 * * 1\"\n    playbook: good.yaml\n    report: [\"xml=/tmp/r.xml\", \"json=/tmp/{when}.json\"]\n",
            "  - name: Secrets\n    cron: \"0 9 * * 1\"\n    playbook: good.yaml\n    env: { EMCEE_HOST_PASSWORD: hunter2, EMCEE_TOKEN_FILE: missing.pw }\n",
        ))
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    let stderr = &output.stderr;
    for expected in [
        "s.yaml:3:11",
        "the cron expression `0 0 30 2 *` never fires",
        "bad.yaml:4:5",
        "s.yaml:11:14",
        "invalid report `xml=/tmp/r.xml`: a report is json=PATH or junit=PATH",
        "s.yaml:11:32",
        "unknown placeholder {when}",
        "s.yaml:15:33",
        "`EMCEE_HOST_PASSWORD` would put a secret's value in the schedule file",
        "give EMCEE_HOST_PASSWORD_FILE instead",
        "s.yaml:15:60",
        "`EMCEE_TOKEN_FILE`: no file at missing.pw",
        "6 problems found",
    ] {
        assert!(stderr.contains(expected), "{expected}:\n{stderr}");
    }
}

/// What Debian's cron would misread is converted or commented out, never printed as if
/// it worked; systemd gets a timer and a service per job.
#[tokio::test]
async fn crontab_flavours_and_systemd_units() {
    const PLAYBOOK: &str =
        "name: P\nmeeting: { id: \"914044873\", host_password: pw }\nsteps:\n  - lock: {}\n";
    const SCHEDULE: &str = "timezone: Asia/Shanghai\njobs:\n  - { name: Town hall, cron: \"50 9 * * 1\", playbook: p.yaml, env: { EMCEE_HOST_PASSWORD_FILE: a.pw } }\n  - { name: Berlin, cron: \"45 13 1 * *\", timezone: Europe/Berlin, playbook: p.yaml }\n";
    let export = |args: &[&str], schedule: &str| {
        let mut all = vec!["schedule", "s.yaml"];
        all.extend(args);
        Run::command(&all)
            .file("p.yaml", PLAYBOOK)
            .file("a.pw", "pw\n")
            .file("s.yaml", schedule)
            .output()
    };

    let debian = export(
        &[
            "--print-crontab",
            "--cron-flavour",
            "debian",
            "--system-zone",
            "Etc/UTC",
        ],
        SCHEDULE,
    )
    .await;
    assert_eq!(debian.code, 1, "{}", debian.transcript());
    assert!(
        !debian.stdout.lines().any(|l| l.starts_with("CRON_TZ=")),
        "{}",
        debian.stdout
    );
    // Shanghai keeps +08:00 all year: converted.
    assert!(
        debian
            .stdout
            .contains("\n50 1 * * 1 EMCEE_HOST_PASSWORD_FILE=/"),
        "{}",
        debian.stdout
    );
    // Berlin does not: commented out, with the reason and the way out.
    let berlin = debian
        .stdout
        .lines()
        .skip_while(|l| *l != "# Berlin")
        .collect::<Vec<_>>();
    assert!(
        berlin[1].starts_with("# NOT SCHEDULED: Debian's cron ignores CRON_TZ"),
        "{berlin:?}"
    );
    assert!(
        berlin[1].contains("daylight saving") && berlin[1].contains("--print-systemd"),
        "{berlin:?}"
    );
    assert!(berlin[2].starts_with("# 45 13 1 * * "), "{berlin:?}");
    assert!(
        debian
            .stdout
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count()
            == 1,
        "only the Shanghai job is live: {}",
        debian.stdout
    );

    // cronie honours CRON_TZ; a seconds field or `L` it cannot take.
    let cronie = export(
        &["--print-crontab"],
        &format!("{SCHEDULE}  - {{ name: Often, cron: \"*/20 * * * * *\", playbook: p.yaml }}\n  - {{ name: Last, cron: \"0 9 L * *\", playbook: p.yaml }}\n"),
    )
    .await;
    assert_eq!(cronie.code, 1, "{}", cronie.transcript());
    assert!(
        cronie.stdout.contains("CRON_TZ=Asia/Shanghai\n50 9 * * 1 "),
        "{}",
        cronie.stdout
    );
    assert!(
        cronie
            .stdout
            .contains("CRON_TZ=Europe/Berlin\n45 13 1 * * "),
        "{}",
        cronie.stdout
    );
    assert!(
        cronie
            .stdout
            .contains("# NOT SCHEDULED: `*/20 * * * * *` has 6 fields"),
        "{}",
        cronie.stdout
    );
    assert!(
        cronie
            .stdout
            .contains("# NOT SCHEDULED: `0 9 L * *` uses `L`"),
        "{}",
        cronie.stdout
    );
    assert!(
        !cronie
            .stdout
            .lines()
            .any(|l| l.starts_with("*/20") || l.starts_with("0 9 L"))
    );

    let same_zone = export(&["--print-crontab", "--cron-flavour", "debian", "--system-zone", "Asia/Shanghai"], "timezone: Asia/Shanghai\njobs:\n  - { name: Town hall, cron: \"50 9 * * 1\", playbook: p.yaml }\n").await;
    assert_eq!(same_zone.code, 0, "{}", same_zone.transcript());
    assert!(
        same_zone.stdout.contains("\n50 9 * * 1 /"),
        "{}",
        same_zone.stdout
    );

    let systemd = export(&["--print-systemd"], SCHEDULE).await;
    assert_eq!(systemd.code, 0, "{}", systemd.transcript());
    for expected in [
        "# /etc/systemd/system/emcee-town-hall.service\n",
        "Environment=\"EMCEE_HOST_PASSWORD_FILE=/",
        "ExecStart=/",
        "# /etc/systemd/system/emcee-town-hall.timer\n",
        "OnCalendar=Mon *-*-* 09:50:00 Asia/Shanghai\n",
        "OnCalendar=*-*-01 13:45:00 Europe/Berlin\n",
        "WantedBy=timers.target\n",
    ] {
        assert!(
            systemd.stdout.contains(expected),
            "{expected}\n{}",
            systemd.stdout
        );
    }
}
