//! Hostile inputs: templates that loop for ever or grow without end, includes that
//! multiply or nest without end, files with no end, bytes that are not UTF-8, and
//! numbers too large to honour. Each is refused with a located error and the
//! documented exit code, never a hang, a panic or exhausted memory. A generous
//! watchdog turns a hang into a failure.

use std::time::Duration;

use crate::support::*;

const WATCHDOG: Duration = Duration::from_secs(120);

/// The playbook's header: a rehearsal-ready meeting.
const HEAD: &str = "name: Hostile\nmeeting:\n  id: \"914044873\"\n  host_password: \"{{ secret('EMCEE_HOST_PASSWORD') }}\"\nsteps:\n";

const HEAD_STEPS: &str = "steps:\n";

async fn within_watchdog(run: Run) -> Output {
    tokio::time::timeout(WATCHDOG, run.output())
        .await
        .expect("emcee finished well within the watchdog")
}

/// `check`, `plan` and `run --sim --fast-forward` of one playbook.
async fn check_plan_run(playbook: &str) -> [Output; 3] {
    let file = |args: &[&str]| Run::command(args).file("playbook.yaml", playbook);
    [
        within_watchdog(file(&["check", "playbook.yaml"])).await,
        within_watchdog(file(&["plan", "playbook.yaml"])).await,
        within_watchdog(file(&["run", "playbook.yaml", "--sim", "--fast-forward"])).await,
    ]
}

fn assert_refused(output: &Output, position: &str, message: &str) {
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output.stderr.contains(&format!("--> {position}")),
        "{}",
        output.transcript()
    );
    assert!(output.stderr.contains(message), "{}", output.transcript());
    assert!(
        !output.stderr.contains("panicked"),
        "{}",
        output.transcript()
    );
}

const TOO_MUCH_WORK: &str = "the template does too much work";
const TOO_LARGE: &str = "the template renders more than 8 MiB";

#[tokio::test]
async fn a_nested_range_loop_is_refused_everywhere() {
    let playbook = format!(
        "{HEAD}  - log: \"{{% for a in range(100000) %}}{{% for b in range(100000) %}}x{{% endfor %}}{{% endfor %}}\"\n"
    );
    for output in check_plan_run(&playbook).await {
        assert_refused(&output, "playbook.yaml:6:10", TOO_MUCH_WORK);
    }
    // The bound from the playbook's own vars is known before a run too.
    let from_vars = format!(
        "{}vars:\n  n: 100000\n  rows: \"{{{{ range(n) | list }}}}\"\n{HEAD_STEPS}  - log: \"{{% for a in rows %}}{{% for b in rows %}}{{% endfor %}}{{% endfor %}}\"\n",
        HEAD.trim_end_matches("steps:\n")
    );
    for output in check_plan_run(&from_vars).await {
        assert_refused(&output, "playbook.yaml:9:10", TOO_MUCH_WORK);
    }
}

#[tokio::test]
async fn string_growth_is_refused_everywhere() {
    // Output that grows by 100 kB a turn, 100,000 turns: 10 GB.
    let output_growth = format!(
        "{HEAD}  - log: \"{{% for i in range(100000) %}}{{{{ 'x' * 100000 }}}}{{% endfor %}}\"\n"
    );
    // One value of 100 MB, in a variable.
    let one_value = format!("{HEAD}  - set:\n      big: \"{{{{ 'x' * 100000000 }}}}\"\n");
    for output in check_plan_run(&output_growth).await {
        assert_refused(&output, "playbook.yaml:6:10", TOO_LARGE);
    }
    for output in check_plan_run(&one_value).await {
        assert_refused(&output, "playbook.yaml:7:12", TOO_LARGE);
    }
    // A string grown a little at a time: quadratic work, stopped by the fuel.
    let concatenation = format!(
        "{HEAD}  - log: \"{{% set ns = namespace(s='') %}}{{% for i in range(100000) %}}{{% set ns.s = ns.s ~ 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' %}}{{% endfor %}}{{{{ ns.s | length }}}}\"\n"
    );
    for output in check_plan_run(&concatenation).await {
        assert_refused(&output, "playbook.yaml:6:10", TOO_MUCH_WORK);
    }
}

/// A template that only a run can evaluate (it uses a registered result): `check`
/// passes it, and the run fails that step, at its position, and goes no further.
#[tokio::test]
async fn a_runaway_template_fails_its_step_at_run_time() {
    let playbook = format!(
        "{HEAD}  - participants: {{}}\n    register: people\n  - log: \"{{% for a in range(100000) %}}{{% for b in range(100000) %}}{{{{ people | length }}}}{{% endfor %}}{{% endfor %}}\"\n  - lock: {{}}\n"
    );
    let [check, _, run] = check_plan_run(&playbook).await;
    assert_eq!(check.code, 0, "{}", check.transcript());
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("FAILED  [2/3] log: playbook.yaml:8:10: the template does too much work"),
        "{}",
        run.transcript()
    );
    assert!(!run.stdout.contains("[3/3]"), "{}", run.transcript());
}

/// A template that depends on `-e`: `check` cannot try it, `plan` and `run` can.
#[tokio::test]
async fn plan_refuses_a_runaway_template_that_depends_on_extra_vars() {
    let playbook = format!(
        "{HEAD}  - name: \"{{% for a in range(n) %}}{{% for b in range(n) %}}x{{% endfor %}}{{% endfor %}}\"\n    lock: {{}}\n"
    );
    let file = |args: &[&str]| Run::command(args).file("playbook.yaml", &playbook);
    let plan = within_watchdog(file(&["plan", "playbook.yaml", "-e", "n:=100000"])).await;
    assert_refused(&plan, "playbook.yaml:6:11", TOO_MUCH_WORK);
    let run = within_watchdog(file(&[
        "run",
        "playbook.yaml",
        "--sim",
        "--fast-forward",
        "-e",
        "n:=100000",
    ]))
    .await;
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("playbook.yaml:6:11: the template does too much work"),
        "{}",
        run.transcript()
    );
}

#[tokio::test]
async fn a_plan_of_too_many_rows_is_refused() {
    let playbook = format!(
        "{HEAD}  - loop: \"{{{{ range(100000) | list }}}}\"\n    steps:\n      - loop: \"{{{{ range(100000) | list }}}}\"\n        log: \"{{{{ item }}}}\"\n"
    );
    let plan =
        within_watchdog(Run::command(&["plan", "playbook.yaml"]).file("playbook.yaml", &playbook))
            .await;
    assert_refused(
        &plan,
        "playbook.yaml:8:9",
        "the plan has more than 100000 rows",
    );
}

/// Each file includes the next twice: 2^30 steps unless the count is bounded.
#[tokio::test]
async fn includes_that_multiply_are_refused() {
    let mut run = Run::command(&["check", "playbook.yaml"])
        .file("playbook.yaml", &format!("{HEAD}  - include: f1.yaml\n"));
    for level in 1..30 {
        let next = level + 1;
        run = run.file(
            &format!("f{level}.yaml"),
            &format!("- include: f{next}.yaml\n- include: f{next}.yaml\n"),
        );
    }
    run = run.file("f30.yaml", "- log: hi\n");
    let output = within_watchdog(run).await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output
            .stderr
            .contains("the playbook has more than 50000 steps once its includes are resolved"),
        "{}",
        output.transcript()
    );
    assert!(
        output.stderr.contains(".yaml:1:12"),
        "{}",
        output.transcript()
    );
}

/// A large file included many times is read, parsed and kept each time.
#[tokio::test]
async fn includes_too_large_in_all_are_refused() {
    let big = format!("# {}\n- log: padded\n", "x".repeat(3_000_000));
    let includes = "  - include: big.yaml\n".repeat(25);
    let output = within_watchdog(
        Run::command(&["check", "playbook.yaml"])
            .file("playbook.yaml", &format!("{HEAD}{includes}"))
            .file("big.yaml", &big),
    )
    .await;
    assert_refused(
        &output,
        "playbook.yaml:28:14",
        "the included files hold more than 64 MiB in all",
    );
}

/// A chain of 1,000 includes passed `check` and overflowed the stack in `run`.
#[tokio::test]
async fn a_long_chain_of_includes_is_refused() {
    let chain = |command: &[&str]| {
        let mut run =
            Run::command(command).file("playbook.yaml", &format!("{HEAD}  - include: c1.yaml\n"));
        for link in 1..1000 {
            run = run.file(
                &format!("c{link}.yaml"),
                &format!("- include: c{}.yaml\n", link + 1),
            );
        }
        run.file("c1000.yaml", "- log: hi\n")
    };
    for command in [
        &["check", "playbook.yaml"][..],
        &["run", "playbook.yaml", "--sim", "--fast-forward"],
    ] {
        let output = within_watchdog(chain(command)).await;
        assert_refused(
            &output,
            "c16.yaml:1:12",
            "includes are nested more than 16 deep",
        );
    }
}

/// Blocks nested past the limit across included files, each file within YAML's own.
#[tokio::test]
async fn deeply_nested_blocks_are_refused() {
    fn nested(levels: usize, leaf: &str, indent: usize) -> String {
        let mut text = String::new();
        for level in 0..levels {
            text.push_str(&format!("{}- steps:\n", " ".repeat(indent + 4 * level)));
        }
        text.push_str(&format!("{}{leaf}\n", " ".repeat(indent + 4 * levels)));
        text
    }
    let run = |command: &[&str]| {
        Run::command(command)
            .file(
                "playbook.yaml",
                &format!("{HEAD}{}", nested(30, "- include: a.yaml", 2)),
            )
            .file("a.yaml", &nested(30, "- include: b.yaml", 0))
            .file("b.yaml", &nested(30, "- log: deep", 0))
    };
    for command in [
        &["check", "playbook.yaml"][..],
        &["plan", "playbook.yaml"],
        &["run", "playbook.yaml", "--sim", "--fast-forward"],
    ] {
        let output = within_watchdog(run(command)).await;
        assert_refused(&output, "b.yaml:", "blocks are nested more than 64 deep");
    }
    // Within one file, YAML's own depth limit refuses it first.
    let one_file = Run::command(&["check", "playbook.yaml"]).file(
        "playbook.yaml",
        &format!("{HEAD}{}", nested(500, "- log: deep", 2)),
    );
    let output = within_watchdog(one_file).await;
    assert_refused(&output, "playbook.yaml:", "limits breached");
}

#[tokio::test]
async fn files_without_end_are_refused() {
    let larger = "larger than 4 MiB, the most emcee reads from such a file";
    let playbook = within_watchdog(Run::command(&["check", "/dev/zero"])).await;
    assert_eq!(playbook.code, 2, "{}", playbook.transcript());
    assert!(
        playbook
            .stderr
            .contains(&format!("cannot read /dev/zero: it is {larger}")),
        "{}",
        playbook.transcript()
    );

    let include = within_watchdog(
        Run::command(&["check", "playbook.yaml"])
            .file("playbook.yaml", &format!("{HEAD}  - include: /dev/zero\n")),
    )
    .await;
    assert_refused(&include, "playbook.yaml:6:14", larger);

    let vars_file = within_watchdog(
        Run::command(&["run", "playbook.yaml", "--sim", "--vars-file", "/dev/zero"])
            .file("playbook.yaml", &format!("{HEAD}  - lock: {{}}\n")),
    )
    .await;
    assert_eq!(vars_file.code, 2, "{}", vars_file.transcript());
    assert!(
        vars_file.stderr.contains(larger),
        "{}",
        vars_file.transcript()
    );

    let seed = within_watchdog(Run::command(&["sim", "--seed", "/dev/zero"])).await;
    assert_eq!(seed.code, 2, "{}", seed.transcript());
    assert!(seed.stderr.contains(larger), "{}", seed.transcript());

    let schedule = within_watchdog(Run::command(&["schedule", "/dev/zero", "--next", "1"])).await;
    assert_eq!(schedule.code, 2, "{}", schedule.transcript());
    assert!(
        schedule.stderr.contains(larger),
        "{}",
        schedule.transcript()
    );

    let journal = within_watchdog(Run::command(&["report", "/dev/zero"])).await;
    assert_ne!(journal.code, 0, "{}", journal.transcript());
    assert!(
        journal.stderr.contains("larger than 256 MiB"),
        "{}",
        journal.transcript()
    );
}

/// `NAME_FILE` secrets are read through the same cap, symlinks followed.
#[tokio::test]
async fn a_secret_file_without_end_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("password");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let run = Run::playbook(&format!("{HEAD}  - lock: {{}}\n"))
        .arg("--sim")
        .env("EMCEE_HOST_PASSWORD_FILE", link.to_str().unwrap());
    let output = within_watchdog(run).await;
    assert_ne!(output.code, 0, "{}", output.transcript());
    let all = output.transcript();
    assert!(
        all.contains("cannot read EMCEE_HOST_PASSWORD_FILE=") && all.contains("larger than 64 KiB"),
        "{all}"
    );
}

#[tokio::test]
async fn a_playbook_that_is_not_utf8_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!("{HEAD}  - log: \"caf").into_bytes();
    text.extend_from_slice(b"\xe9\"\n");
    std::fs::write(dir.path().join("playbook.yaml"), text).unwrap();
    for command in [
        &["check", "playbook.yaml"][..],
        &["plan", "playbook.yaml"],
        &["run", "playbook.yaml", "--sim"],
    ] {
        let output = tokio::time::timeout(WATCHDOG, Run::command(command).output_in(dir.path()))
            .await
            .expect("within the watchdog");
        assert_refused(&output, "playbook.yaml:6:14", "byte 0xe9");
    }
}

/// The table pads each cell to its column; a cell over 65,535 characters panicked.
#[tokio::test]
async fn plan_shows_a_very_long_cell() {
    let message = "m".repeat(70_000);
    let output = within_watchdog(Run::command(&["plan", "playbook.yaml"]).file(
        "playbook.yaml",
        &format!("{HEAD}  - log: {message}\n  - lock: {{}}\n"),
    ))
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(output.stdout.contains(&message), "{}", output.stderr);
}

#[tokio::test]
async fn schedule_next_is_bounded() {
    let output = within_watchdog(
        Run::command(&["schedule", "s.yaml", "--next", "99999999999"])
            .file("p.yaml", "name: P\nmeeting: { id: \"914044873\", host_password: pw }\nsteps:\n  - lock: {}\n")
            .file("s.yaml", "timezone: UTC\njobs:\n  - name: Often\n    cron: \"* * * * *\"\n    playbook: p.yaml\n"),
    )
    .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output.stderr.contains("at most 10000 firings"),
        "{}",
        output.transcript()
    );
}
