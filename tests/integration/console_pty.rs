//! The operator's console on a real terminal: `emcee run --sim --console` on a
//! pseudo-terminal (TERM=xterm, 80×24), its screen read as a terminal shows it, keys
//! pressed as an operator would. And the refusals without a terminal.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

use crate::support::{Run, read_json};

/// A short show: a long wait to hold and cut short, then a few seconds to leave the
/// console in, and a last step whose plain line shows the display is back.
const DRILL: &str = r#"name: Console drill
meeting:
  id: "914044873"
  host_password: "{{ secret('EMCEE_HOST_PASSWORD') }}"
timezone: UTC
scenes:
  panic:
    - mute_all: {}
    - lock: {}
steps:
  - name: Quiet room
    mute_all: {}
  - name: Long pause
    wait: 60s
  - name: Short pause
    wait: 3s
  - name: Wrap up
    log: back to plain lines
rehearsal:
  subject: Drill
  participants:
    - { name: Alice Zhang, role: host }
    - { name: Bob Li, hand: raised }
"#;

/// A program on a pseudo-terminal, its screen kept up to date by a reader thread.
struct Terminal {
    screen: Arc<Mutex<vt100::Parser>>,
    master: Box<dyn portable_pty::MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    /// Everything it printed, for the failure messages.
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Terminal {
    fn start(dir: &std::path::Path, args: &[&str]) -> Terminal {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 24,
                cols: 80,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let mut command = CommandBuilder::new(assert_cmd::cargo::cargo_bin!("emcee"));
        command.args(args);
        command.cwd(dir);
        command.env("TERM", "xterm");
        command.env("EMCEE_STATE_DIR", dir.join("state"));
        command.env("EMCEE_HOST_PASSWORD", "123456");
        command.env_remove("NO_COLOR");
        command.env_remove("EMCEE_LOG");
        let child = pty.slave.spawn_command(command).expect("emcee starts");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("a reader");
        let writer = pty.master.take_writer().expect("a writer");
        let size = |n| std::num::NonZeroU16::new(n).expect("not zero");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(size(24), size(80), 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (into, kept) = (Arc::clone(&screen), Arc::clone(&raw));
        // The master must be read all along, or the program blocks on its writes.
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                into.lock().unwrap().process(&buffer[..n]);
                kept.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        });
        Terminal {
            screen,
            master: pty.master,
            writer,
            child,
            raw,
        }
    }

    fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    fn alternate(&self) -> bool {
        self.screen.lock().unwrap().screen().alternate_screen()
    }

    /// Waits until the screen shows what `holds` looks for.
    fn wait_for(&self, what: &str, holds: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let contents = self.contents();
            if holds(&contents) {
                return contents;
            }
            if Instant::now() > deadline {
                let raw = self.raw.lock().unwrap();
                let tail =
                    String::from_utf8_lossy(&raw[raw.len().saturating_sub(2000)..]).into_owned();
                panic!(
                    "the screen never showed {what}:\n{contents}\n--- the last it printed:\n{tail:?}"
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The terminal's window changes size, as when the operator drags it.
    fn resize(&mut self, rows: u16, cols: u16) {
        let size = |n| std::num::NonZeroU16::new(n).expect("not zero");
        self.screen
            .lock()
            .unwrap()
            .screen_mut()
            .set_size(size(rows), size(cols));
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resized");
    }

    fn press(&mut self, key: &str) {
        self.writer
            .write_all(key.as_bytes())
            .expect("a key pressed");
        self.writer.flush().expect("the key sent");
    }

    /// The exit code, waiting at most `within`.
    fn exit_code(&mut self, within: Duration) -> u32 {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("the child's status") {
                return status.exit_code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("emcee did not exit:\n{}", self.contents());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn the_console_holds_resumes_plays_the_panic_scene_and_detaches() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("drill.yaml"), DRILL).unwrap();
    let mut terminal = Terminal::start(
        dir.path(),
        &[
            "run",
            "--sim",
            "--console",
            "drill.yaml",
            "--report",
            "json=report.json",
        ],
    );
    let screen = terminal.wait_for("the console in the long pause", |s| {
        s.contains("Timeline") && s.contains("▶ 2 Long pause")
    });
    assert!(
        terminal.alternate(),
        "the console draws on the alternate screen"
    );
    assert!(screen.contains("Bob Li"), "the roster:\n{screen}");
    assert!(screen.contains("h hold"), "the keys:\n{screen}");
    assert!(!screen.contains("HELD"), "{screen}");

    terminal.press("h");
    terminal.wait_for("HELD", |s| s.contains("HELD") && s.contains("h resume"));
    terminal.press("h");
    terminal.wait_for("the run resumed", |s| {
        !s.contains("HELD") && s.contains("✓ resumed")
    });
    terminal.press("p");
    terminal.wait_for("the panic scene played", |s| {
        s.contains("locked ·") && s.contains("scene panic")
    });
    // Abort asks first; anything but y keeps the show going.
    terminal.press("a");
    terminal.wait_for("the abort question", |s| s.contains("abort the show? y/N"));
    terminal.press("n");
    terminal.wait_for("the show going on", |s| {
        s.contains("not aborted") && !s.contains("abort the show?")
    });
    // Go cuts the long pause short; the console is left during the short one.
    terminal.press("g");
    terminal.wait_for("the short pause", |s| s.contains("▶ 3 Short pause"));
    terminal.press("q");
    let screen = terminal.wait_for("the plain lines back", |s| {
        s.contains("back to plain lines")
    });
    assert!(!terminal.alternate(), "the screen is given back");
    assert!(
        !screen.contains("Timeline"),
        "the console is gone from the screen:\n{screen}"
    );
    assert_eq!(
        terminal.exit_code(Duration::from_secs(20)),
        0,
        "{}",
        terminal.contents()
    );
    let screen = terminal.contents();
    assert!(screen.contains("ok "), "the summary follows:\n{screen}");

    // What the console did is in the report like any operator command.
    let report = read_json(dir.path().join("report.json"));
    let steps = report["steps"].as_array().expect("steps");
    let played: Vec<(&str, &str)> = steps
        .iter()
        .filter(|step| step["id"].as_str().is_some_and(|id| id.starts_with("op")))
        .map(|step| {
            (
                step["id"].as_str().unwrap(),
                step["action"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        played.contains(&("op1.1", "mute_all")) && played.contains(&("op1.2", "lock")),
        "the panic scene's steps: {played:?}\n{report:#}"
    );
    // And every key, journaled as coming through the console.
    let runs = dir.path().join("state").join("runs");
    let journal = std::fs::read_dir(&runs)
        .expect("a journal")
        .map(|entry| entry.unwrap().path())
        .find(|path| !path.is_dir())
        .expect("a journal file");
    let commands: Vec<String> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["event"] == "operator" && event["via"] == "console")
        .map(|event| event["command"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        commands,
        ["hold", "resume", "scene panic", "go"],
        "{}",
        journal.display()
    );
}

#[tokio::test]
async fn the_console_needs_a_terminal() {
    let out = Run::command(&["console", "--meeting", "914044873"])
        .output()
        .await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("the console needs a terminal"),
        "{out:?}"
    );
}

#[tokio::test]
async fn run_console_is_refused_before_anything_starts_without_a_terminal() {
    let (out, dir) = Run::playbook(DRILL)
        .arg("--sim")
        .arg("--console")
        .output_with_dir()
        .await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("the console needs a terminal"),
        "{out:?}"
    );
    assert!(out.stdout.is_empty(), "nothing ran: {out:?}");
    assert!(
        !dir.path().join("state").exists(),
        "no lock, journal or socket was made"
    );
}

#[test]
fn a_console_that_cannot_have_its_channel_stops_the_run_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    // A socket's path may not be this long: the channel cannot listen.
    let deep = dir.path().join("d".repeat(120));
    std::fs::create_dir(&deep).unwrap();
    std::fs::write(deep.join("drill.yaml"), DRILL).unwrap();
    let mut terminal = Terminal::start(&deep, &["run", "--sim", "--console", "drill.yaml"]);
    assert_eq!(terminal.exit_code(Duration::from_secs(20)), 1);
    let screen = terminal.contents();
    assert!(screen.contains("cannot listen on"), "{screen}");
    assert!(!screen.contains("Quiet room"), "no step ran: {screen}");
}

#[test]
fn the_run_over_the_outcome_stays_up_then_the_summary_follows() {
    let dir = tempfile::tempdir().unwrap();
    let short = DRILL
        .replace("wait: 60s", "wait: 1s")
        .replace("wait: 3s", "wait: 1s");
    std::fs::write(dir.path().join("drill.yaml"), short).unwrap();
    let mut terminal = Terminal::start(dir.path(), &["run", "--sim", "--console", "drill.yaml"]);
    let screen = terminal.wait_for("the outcome", |s| s.contains("the run is over: ok"));
    assert!(screen.contains("press any key"), "{screen}");
    assert!(terminal.alternate());
    terminal.press("x");
    assert_eq!(terminal.exit_code(Duration::from_secs(20)), 0);
    let screen = terminal.wait_for("the summary", |s| s.contains("Rehearsal meeting"));
    assert!(!terminal.alternate(), "the screen is given back:\n{screen}");
}

#[tokio::test]
async fn a_second_operator_attaches_with_emcee_console() {
    let (mut run, dir) = Run::playbook(DRILL)
        .arg("--sim")
        .arg("--control")
        .spawn_plain();
    let control = dir.path().join("state").join("control");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_dir(&control).is_ok_and(|mut entries| entries.next().is_some()) {
        assert!(Instant::now() < deadline, "the run never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let path = dir.path().to_owned();
    let screen = tokio::task::spawn_blocking(move || {
        let mut terminal = Terminal::start(&path, &["console", "--meeting", "914044873"]);
        terminal.wait_for("the console", |s| s.contains("▶ 2 Long pause"));
        terminal.press("h");
        terminal.wait_for("HELD", |s| s.contains("HELD"));
        // Resized: drawn again at the new size, and refused politely below 80×24.
        terminal.resize(40, 120);
        terminal.wait_for("the console at 120 columns", |s| {
            s.lines()
                .any(|line| line.contains("h resume") && line.contains("L lower all"))
        });
        terminal.resize(20, 60);
        terminal.wait_for("the size refused", |s| {
            s.contains("terminal too small (need 80×24)") && !s.contains("Timeline")
        });
        terminal.resize(24, 80);
        terminal.wait_for("the console again", |s| s.contains("Timeline"));
        terminal.press("q");
        let code = terminal.exit_code(Duration::from_secs(20));
        let screen = terminal.contents();
        assert_eq!(code, 0, "{screen}");
        screen
    })
    .await
    .unwrap();
    assert!(
        screen.contains("left the console; the run goes on"),
        "{screen}"
    );
    // The run goes on, held, after the console left.
    assert!(run.try_wait().unwrap().is_none(), "the run goes on");
    let status = Run::command(&["cue", "status", "--meeting", "914044873"])
        .env(
            "EMCEE_STATE_DIR",
            dir.path().join("state").to_str().unwrap(),
        )
        .output()
        .await;
    assert!(status.stdout.contains("held"), "{status:?}");
    run.start_kill().unwrap();
    let _ = run.wait().await;
}
