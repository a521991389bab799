//! Hostile playbooks: mutated versions of every example playbook, made from a fixed
//! seed, go through `check`, `plan` and a fast-forwarded rehearsal, each in a process
//! capped in memory and watched for hangs. Whatever the mutant, emcee answers with one
//! of its documented exit codes: no panic, no abort, no hang, nothing over the cap.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const SEED: u64 = 0x5eed_e3ce;
/// Mutants of each example playbook.
const PER_PLAYBOOK: usize = 60;
/// Address space per process: far above what any run needs, far below what an
/// unbounded input would take.
const MEMORY_CAP: u64 = 1 << 30;
/// A process still running after this long is taken to hang.
const HANG: Duration = Duration::from_secs(60);

/// Values dropped in where a playbook has a scalar: the shapes attacks and accidents take.
const HOSTILE_VALUES: &[&str] = &[
    "\"{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}\"",
    "\"{% set s = 'xxxxxxxxxxxxxxxx' %}{% for i in range(40) %}{% set s = s ~ s %}{% endfor %}{{ s }}\"",
    "\"{{ 'x' * 4000000000 }}\"",
    "\"{{ range(100000) | list }}\"",
    "\"{{ undefined_thing }}\"",
    "\"{{ secret('EMCEE_FUZZ_SECRET') | upper }}\"",
    "\"{{ b64encode('x') }}\"",
    "\"{{\"",
    "99999999999999999999999999",
    "-1",
    "1e308",
    "+99999999h",
    "99999999h",
    "\"2026-02-30T25:61\"",
    "\"/dev/zero\"",
    "\"@evil.example:80/x\"",
    "\"../../../../etc/passwd\"",
    "\"\u{1b}[2J\u{202e}gnp.exe\"",
    "[]",
    "{}",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    "&a [*a]",
    "!!binary AAAA",
    "~",
    "\"\"",
];

/// Whole steps appended to a playbook.
const HOSTILE_STEPS: &[&str] = &[
    "  - include: /dev/zero\n",
    "  - include: playbook.yaml\n",
    "  - include: { file: missing.yaml, vars: { a: 1 } }\n",
    "  - http: { method: GET, path: \"@evil.example:80/x\" }\n",
    "  - http: { method: GET, path: \"/../../x\" }\n",
    "  - log: \"{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}\"\n",
    "  - set: { big: \"{{ 'x' * 100000000 }}\" }\n",
    "  - { at: \"+240h\", log: later }\n",
    "  - { name: \"\u{1b}]0;owned\u{7}\u{1b}[2J\", log: hi }\n",
    "  - loop: \"{{ range(100000) | list }}\"\n    when: false\n    log: \"{{ item }}\"\n",
    "  - wait_for: { joined: \"Nobody At All\", timeout: 99999h }\n",
    "  - broadcast: { name: \"Alice Zhang\", all: true }\n",
];

fn examples() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join("playbooks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 3, "{paths:?}");
    paths
}

/// One mutant of `text`: a few random edits of lines, values and bytes.
fn mutate(rng: &mut fastrand::Rng, text: &str) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = text.lines().map(|l| l.as_bytes().to_vec()).collect();
    for _ in 0..rng.usize(1..=2) {
        if lines.is_empty() {
            lines.push(b"steps:".to_vec());
        }
        let at = rng.usize(..lines.len());
        match rng.u8(..10) {
            0 => {
                lines.remove(at);
            }
            1 => {
                let line = lines[at].clone();
                for _ in 0..rng.usize(1..=40) {
                    lines.insert(at, line.clone());
                }
            }
            2 => {
                let other = rng.usize(..lines.len());
                lines.swap(at, other);
            }
            3 => {
                // A value after `key:` replaced by something hostile.
                let line = String::from_utf8_lossy(&lines[at]).into_owned();
                if let Some(colon) = line.find(": ") {
                    let value = HOSTILE_VALUES[rng.usize(..HOSTILE_VALUES.len())];
                    lines[at] = format!("{}: {value}", &line[..colon]).into_bytes();
                }
            }
            4 => {
                let line = &mut lines[at];
                let offset = rng.usize(..=line.len());
                // Mostly the characters YAML and templates give meaning to; now and
                // then any byte at all.
                const MEANINGFUL: &[u8] = b"{}[]:-#&*!|>'\"%@`,?\\\t \r";
                let junk: Vec<u8> = (0..rng.usize(1..8))
                    .map(|_| match rng.u8(..16) {
                        0 => rng.u8(..),
                        _ => MEANINGFUL[rng.usize(..MEANINGFUL.len())],
                    })
                    .collect();
                line.splice(offset..offset, junk);
            }
            5 => {
                let line = &mut lines[at];
                if rng.bool() {
                    line.splice(0..0, *b"  ");
                } else if line.starts_with(b"  ") {
                    line.drain(..2);
                }
            }
            6 if rng.u8(..4) == 0 => {
                lines.truncate(at.max(1));
            }
            _ => {
                // Among the steps, where it will be checked and run.
                let step = HOSTILE_STEPS[rng.usize(..HOSTILE_STEPS.len())];
                let at = lines
                    .iter()
                    .position(|l| l.as_slice() == b"steps:")
                    .map_or(lines.len(), |i| i + 1);
                for (offset, line) in step.lines().enumerate() {
                    lines.insert(at + offset, line.as_bytes().to_vec());
                }
            }
        }
    }
    let mut out = lines.join(&b'\n');
    out.push(b'\n');
    out
}

/// How one process ended.
enum Ending {
    Code(i32),
    Signal(i32),
    Hung,
}

/// Runs `emcee ARGS` in `dir`, capped in memory; gives up on it after [`HANG`].
fn run_capped(dir: &Path, args: &[&str]) -> (Ending, String) {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let stderr_path = dir.join("stderr.txt");
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let mut command = Command::new(assert_cmd::cargo::cargo_bin!("emcee"));
    command
        .args(args)
        .current_dir(dir)
        .env("EMCEE_DETERMINISTIC", "1")
        .env("NO_COLOR", "1")
        .env("EMCEE_STATE_DIR", dir.join("state"))
        .env("EMCEE_PROGRESS", "never")
        .env_remove("EMCEE_HOST_PASSWORD")
        .env_remove("EMCEE_ENDPOINT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: MEMORY_CAP,
                rlim_max: MEMORY_CAP,
            };
            libc::setrlimit(libc::RLIMIT_AS, &limit);
            Ok(())
        });
    }
    let mut child = command.spawn().expect("emcee starts");
    let started = Instant::now();
    let ending = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break match (status.code(), status.signal()) {
                (Some(code), _) => Ending::Code(code),
                (None, Some(signal)) => Ending::Signal(signal),
                (None, None) => Ending::Code(-1),
            };
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            break Ending::Hung;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut text = String::new();
    let _ = std::fs::File::open(&stderr_path)
        .unwrap()
        .take(64 * 1024)
        .read_to_string(&mut text);
    (ending, text)
}

/// What is wrong with how a command ended, if anything.
fn verdict(ending: &Ending, stderr: &str, allowed: &[i32]) -> Option<String> {
    match ending {
        Ending::Hung => Some(format!("still running after {HANG:?}")),
        Ending::Signal(signal) => Some(format!("killed by signal {signal}")),
        Ending::Code(code) if stderr.contains("panicked") => {
            Some(format!("panicked (exit {code})"))
        }
        Ending::Code(code) if stderr.contains("memory allocation") => {
            Some(format!("ran out of memory (exit {code})"))
        }
        Ending::Code(code) if !allowed.contains(code) => Some(format!("exit {code}")),
        Ending::Code(_) => None,
    }
}

#[test]
fn mutated_example_playbooks_never_panic_hang_or_exceed_the_memory_cap() {
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut mutants = Vec::new();
    for example in examples() {
        let text = std::fs::read_to_string(&example).unwrap();
        let name = example.file_name().unwrap().to_string_lossy().into_owned();
        for n in 0..PER_PLAYBOOK {
            mutants.push((format!("{name} #{n}"), mutate(&mut rng, &text)));
        }
    }
    // Two at a time: the machines that run this have two cores.
    let failures = std::sync::Mutex::new(Vec::new());
    let checked = std::sync::atomic::AtomicUsize::new(0);
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((label, bytes)) = mutants.get(index) else {
                        return;
                    };
                    let dir = tempfile::tempdir().unwrap();
                    std::fs::write(dir.path().join("playbook.yaml"), bytes).unwrap();
                    let commands: [(&[&str], &[i32]); 3] = [
                        (&["check", "playbook.yaml"], &[0, 2]),
                        (&["plan", "playbook.yaml", "--sim"], &[0, 2]),
                        (
                            &["run", "playbook.yaml", "--sim", "--fast-forward"],
                            &[0, 1, 2],
                        ),
                    ];
                    for (args, allowed) in commands {
                        let (ending, stderr) = run_capped(dir.path(), args);
                        if args[0] == "check" && matches!(ending, Ending::Code(0)) {
                            checked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        if let Some(wrong) = verdict(&ending, &stderr, allowed) {
                            let tail = &stderr[stderr.len().saturating_sub(1500)..];
                            failures.lock().unwrap().push(format!(
                                "{label}: emcee {}: {wrong}\n--- playbook\n{}\n--- stderr\n{tail}",
                                args.join(" "),
                                String::from_utf8_lossy(bytes)
                            ));
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    let summary: Vec<String> = failures
        .iter()
        .map(|f| {
            let first = f.lines().next().unwrap_or_default();
            let error = f
                .split("--- stderr\n")
                .nth(1)
                .and_then(|e| e.lines().find(|l| l.contains("error")))
                .unwrap_or_default();
            format!("{first}: {error}")
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} mutants went wrong:\n{}\n\nthe first in full:\n{}",
        failures.len(),
        mutants.len(),
        summary.join("\n"),
        failures.first().map_or("", String::as_str)
    );
    // The mutants must not all be refused at once, or the rehearsal is never tried.
    let checked = checked.into_inner();
    assert!(
        checked * 8 >= mutants.len(),
        "only {checked} of {} mutants pass `check`",
        mutants.len()
    );
}
