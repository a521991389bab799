//! Runs that listen for operator commands, and `emcee cue` sent to them.

use super::*;

/// A rehearsal that listens on its control socket (`emcee run --sim --control`),
/// started and waited for until its socket is there; `emcee cue` can then talk to it.
pub(crate) struct Listening {
    child: tokio::process::Child,
    dir: tempfile::TempDir,
    state_dir: std::path::PathBuf,
    /// The run's socket.
    pub(crate) socket: std::path::PathBuf,
}

impl Run {
    /// Starts the playbook as a rehearsal that listens, its state in the run's
    /// directory, and waits (at most 30 s) for its socket.
    pub(crate) async fn listening(self) -> Listening {
        let state_dir = self.dir.path().join("state");
        self.listening_in(&state_dir).await
    }

    /// As [`Run::listening`], with the state (and so the sockets) in `state_dir`: two
    /// runs given the same one are two runs a client has to choose between.
    pub(crate) async fn listening_in(self, state_dir: &std::path::Path) -> Listening {
        let control = state_dir.join("control");
        let before = sockets(&control);
        let mut command = tokio::process::Command::new(assert_cmd::cargo::cargo_bin!("emcee"));
        command
            .args(&self.args)
            .args(["--sim", "--control", "--progress", "never"])
            .current_dir(self.dir.path())
            .kill_on_drop(true)
            .env("EMCEE_DETERMINISTIC", "1")
            .env("NO_COLOR", "1")
            .env("EMCEE_STATE_DIR", state_dir)
            .env_remove(HOST_PASSWORD_ENV)
            .env_remove("EMCEE_ENDPOINT")
            .env_remove("EMCEE_LOG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let child = command.spawn().expect("emcee starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let socket = loop {
            if let Some(new) = sockets(&control).into_iter().find(|s| !before.contains(s)) {
                break new;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the run did not listen within 30 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        Listening {
            child,
            dir: self.dir,
            state_dir: state_dir.to_owned(),
            socket,
        }
    }
}

/// The sockets in a control directory.
pub(crate) fn sockets(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|e| e == "sock"))
                .collect()
        })
        .unwrap_or_default()
}

impl Listening {
    pub(crate) fn state_dir(&self) -> &std::path::Path {
        &self.state_dir
    }

    /// The run's id, from its socket's name.
    pub(crate) fn run_id(&self) -> String {
        self.socket
            .file_stem()
            .expect("a socket name")
            .to_string_lossy()
            .into_owned()
    }

    /// `emcee cue ARGS --meeting MEETING --state-dir DIR`.
    pub(crate) async fn cue(&self, args: &[&str]) -> Output {
        cue_in(&self.state_dir, args).await
    }

    /// Waits (at most 60 s) for the run to end: its output.
    pub(crate) async fn finish(self) -> (Output, tempfile::TempDir) {
        let output = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            self.child.wait_with_output(),
        )
        .await
        .expect("the run ends")
        .expect("the run's output");
        (
            Output {
                code: output.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            },
            self.dir,
        )
    }
}

/// `emcee cue ARGS --meeting MEETING --state-dir DIR`, whether a run listens or not.
pub(crate) async fn cue_in(state_dir: &std::path::Path, args: &[&str]) -> Output {
    let mut all = vec!["cue"];
    all.extend_from_slice(args);
    let state = state_dir.to_string_lossy().into_owned();
    all.extend_from_slice(&["--meeting", MEETING, "--state-dir", &state]);
    Run::command(&all).output().await
}
