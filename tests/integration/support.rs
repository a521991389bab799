//! The one small harness every test uses: an emulator started in process on port 0,
//! a client for it, and helpers to call the API and read the emulator's state.

use std::sync::Once;

use emcee::sim::{self, Seed, SimHandle, SimOptions};
use emcee::source::SourceFile;
use serde_json::Value;

mod control;
pub(crate) use control::*;

pub(crate) const MEETING: &str = "914044873";
pub(crate) const PASSWORD: &str = "123456";
pub(crate) const OTHER_MEETING: &str = "222333444";
pub(crate) const OTHER_PASSWORD: &str = "999999";
pub(crate) const CONTROL: &str = "/v1/mmc/control/conferences";

/// The town hall most tests use: Alice hosts, Dave co-hosts, Bob's hand is up.
pub(crate) const TOWN_HALL: &str = r#"
meetings:
  - id: "914044873"
    subject: Town hall
    host_password: "123456"
    guest_password: "654321"
    participants:
      - { name: Alice Zhang, phone: "+8613800000001", role: host }
      - { name: Bob Li, phone: "+8613800000002", hand: raised, mute: true, video: true }
      - { name: Carol Wu, phone: "+8613800000003" }
      - { name: Dave Ma, phone: "+8613800000004", role: cohost }
  - id: "222333444"
    subject: Other
    host_password: "999999"
    participants:
      - { name: Eve Qian, role: host }
accounts:
  - { account: demo, password: demo-pass }
"#;

pub(crate) fn seed(yaml: &str) -> Seed {
    Seed::parse(&SourceFile::new("seed.yaml", yaml)).expect("test seed parses")
}

pub(crate) fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

pub(crate) struct Emu {
    pub handle: SimHandle,
    pub client: reqwest::Client,
}

/// One HTTP answer, reduced to what tests look at.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: Value,
    pub request_id: Option<String>,
    pub retry_after: Option<String>,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    #[track_caller]
    pub(crate) fn ok(&self) -> &Self {
        assert_eq!(self.status, 200, "expected 200, got {self:?}");
        self
    }

    #[track_caller]
    pub(crate) fn error(&self, status: u16, code: &str) -> &Self {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.body["error_code"], code, "{self:?}");
        assert!(self.body["error_msg"].is_string(), "{self:?}");
        self
    }

    /// A header of the answer, when present and readable.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    pub(crate) fn msg_contains(&self, text: &str) -> &Self {
        let msg = self.body["error_msg"].as_str().unwrap_or_default();
        assert!(msg.contains(text), "error_msg {msg:?} lacks {text:?}");
        self
    }
}

impl Emu {
    pub(crate) async fn start(yaml: &str) -> Emu {
        Self::start_with(yaml, SimOptions::default()).await
    }

    pub(crate) async fn start_with(yaml: &str, options: SimOptions) -> Emu {
        install_crypto();
        let handle = sim::start_with(seed(yaml), options)
            .await
            .expect("emulator starts");
        let mut builder = reqwest::Client::builder().no_proxy();
        if let Some(pem) = handle.cert_pem() {
            let cert = reqwest::Certificate::from_pem(pem.as_bytes()).expect("pem");
            builder = builder.tls_certs_only([cert]);
        }
        Emu {
            handle,
            client: builder.build().expect("client"),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.handle.base_url())
    }

    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request reaches the emulator");
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let request_id = header("x-request-id");
        let retry_after = header("retry-after");
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer {
            status,
            body,
            request_id,
            retry_after,
            headers,
        }
    }

    /// Logs in with a host password, returning the whole answer.
    pub(crate) async fn token_call(
        &self,
        meeting: &str,
        password: Option<&str>,
        keep_alive: Option<&str>,
    ) -> Answer {
        let mut request = self
            .client
            .get(self.url(&format!("{CONTROL}/token")))
            .query(&[("conferenceID", meeting)])
            .header("X-Login-Type", "1");
        if let Some(password) = password {
            request = request.header("X-Password", password);
        }
        if let Some(token) = keep_alive {
            request = request.header("X-Conference-Authorization", token);
        }
        self.send(request).await
    }

    pub(crate) async fn login(&self, meeting: &str, password: &str) -> String {
        let answer = self.token_call(meeting, Some(password), None).await;
        answer.ok();
        answer.body["data"]["token"].as_str().unwrap().to_owned()
    }

    /// A control call: `tail` after `/v1/mmc/control/conferences`, the conference id
    /// and optional participant in the query, the token raw in the header.
    pub(crate) async fn control(
        &self,
        method: &str,
        tail: &str,
        meeting: &str,
        pid: Option<&str>,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut query = vec![("conferenceID", meeting)];
        if let Some(pid) = pid {
            query.push(("participantID", pid));
        }
        let mut request = self
            .client
            .request(method, self.url(&format!("{CONTROL}{tail}")))
            .query(&query);
        if let Some(token) = token {
            request = request.header("X-Conference-Authorization", token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        self.send(request).await
    }

    /// An admin call; all but GETs say their (possibly empty) body is JSON, since the
    /// admin API refuses anything else.
    pub(crate) async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.client.request(method.clone(), self.url(path));
        if method != reqwest::Method::GET {
            request = request.header("content-type", "application/json");
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        self.send(request).await
    }

    /// The meeting's full state from `GET /_sim/meetings/{id}`.
    pub(crate) async fn meeting(&self, id: &str) -> Value {
        let answer = self
            .admin("GET", &format!("/_sim/meetings/{id}"), None)
            .await;
        answer.ok();
        answer.body
    }

    pub(crate) async fn pid(&self, meeting: &str, name: &str) -> String {
        let state = self.meeting(meeting).await;
        state["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not online"))["pid"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub(crate) async fn participant(&self, meeting: &str, name: &str) -> Value {
        let state = self.meeting(meeting).await;
        state["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub(crate) async fn requests(&self) -> Vec<Value> {
        let answer = self.admin("GET", "/_sim/requests", None).await;
        answer.ok();
        answer.body.as_array().unwrap().clone()
    }

    pub(crate) async fn faults(&self, config: Value) {
        self.admin("PUT", "/_sim/faults", Some(config)).await.ok();
    }

    pub(crate) async fn advance(&self, by: &str) {
        self.admin(
            "POST",
            "/_sim/clock/advance",
            Some(serde_json::json!({ "by": by })),
        )
        .await
        .ok();
    }
}

/// Control calls on one meeting with one token: what a host's client does.
pub(crate) struct Host<'a> {
    emu: &'a Emu,
    meeting: &'a str,
    pub token: String,
}

impl Emu {
    /// Logs in to `meeting` and returns the session for its control calls.
    pub(crate) async fn host(&self, meeting: &'static str, password: &str) -> Host<'_> {
        let token = self.login(meeting, password).await;
        Host {
            emu: self,
            meeting,
            token,
        }
    }
}

impl Host<'_> {
    pub(crate) async fn call(
        &self,
        method: &str,
        tail: &str,
        pid: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        self.emu
            .control(method, tail, self.meeting, pid, Some(&self.token), body)
            .await
    }

    pub(crate) async fn get(&self, tail: &str) -> Answer {
        self.call("GET", tail, None, None).await
    }

    /// A meeting-wide PUT with a body.
    pub(crate) async fn put(&self, tail: &str, body: Value) -> Answer {
        self.call("PUT", tail, None, Some(body)).await
    }

    /// A PUT naming a participant.
    pub(crate) async fn put_to(&self, tail: &str, pid: &str, body: Option<Value>) -> Answer {
        self.call("PUT", tail, Some(pid), body).await
    }

    pub(crate) async fn post(&self, tail: &str, body: Value) -> Answer {
        self.call("POST", tail, None, Some(body)).await
    }
}

/// What a run of the binary printed, and how it exited.
#[derive(Debug)]
pub(crate) struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Both streams with the exit code, for snapshots.
    pub(crate) fn transcript(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A run of the built `emcee` binary: a playbook in a temporary directory, the
/// arguments, and the environment (deterministic output, no colour, no stray settings).
pub(crate) struct Run {
    dir: tempfile::TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

pub(crate) const HOST_PASSWORD_ENV: &str = "EMCEE_HOST_PASSWORD";

/// A playbook called `name` for [`MEETING`], the host password from the environment,
/// with these `steps` (YAML list items, indented under `steps:`).
pub(crate) fn playbook_with_steps(name: &str, steps: &str) -> String {
    format!(
        "name: {name}\nmeeting:\n  id: \"{MEETING}\"\n  host_password: \"{{{{ secret('{HOST_PASSWORD_ENV}') }}}}\"\nsteps:\n{steps}"
    )
}

impl Run {
    /// `emcee run PLAYBOOK` with the playbook's text written to `playbook.yaml`.
    pub(crate) fn playbook(text: &str) -> Run {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("playbook.yaml"), text).expect("playbook written");
        Run {
            dir,
            args: vec!["run".into(), "playbook.yaml".into()],
            env: Vec::new(),
        }
    }

    /// Any other command, run in a fresh directory.
    pub(crate) fn command(args: &[&str]) -> Run {
        Run {
            dir: tempfile::tempdir().expect("temp dir"),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: Vec::new(),
        }
    }

    pub(crate) fn arg(mut self, arg: &str) -> Run {
        self.args.push(arg.into());
        self
    }

    pub(crate) fn env(mut self, key: &str, value: &str) -> Run {
        self.env.push((key.into(), value.into()));
        self
    }

    pub(crate) fn file(self, name: &str, text: &str) -> Run {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("directory made");
        std::fs::write(path, text).expect("file written");
        self
    }

    /// Against a harness emulator, with the town hall's host password in the environment.
    pub(crate) async fn against(self, emu: &Emu) -> Output {
        self.against_url(emu.handle.base_url()).await
    }

    /// Against an emulator at `url`; the future owns everything, so it can be spawned.
    pub(crate) fn against_url(
        self,
        url: &str,
    ) -> impl std::future::Future<Output = Output> + Send + 'static {
        let run = self
            .arg("--endpoint")
            .arg(url)
            .env(HOST_PASSWORD_ENV, PASSWORD);
        async move { run.output().await }
    }

    pub(crate) async fn output(self) -> Output {
        self.output_in(self.dir.path()).await
    }

    /// Against a harness emulator; the run's directory is handed back for the test to
    /// read (and is removed when the test drops it).
    pub(crate) async fn against_keeping_dir(self, emu: &Emu) -> (Output, tempfile::TempDir) {
        self.arg("--endpoint")
            .arg(emu.handle.base_url())
            .env(HOST_PASSWORD_ENV, PASSWORD)
            .output_with_dir()
            .await
    }

    /// Starts the command as it is (no endpoint added) without waiting for it.
    pub(crate) fn spawn_plain(self) -> (tokio::process::Child, tempfile::TempDir) {
        let mut command = tokio::process::Command::new(assert_cmd::cargo::cargo_bin!("emcee"));
        command
            .args(&self.args)
            .current_dir(self.dir.path())
            .env("EMCEE_DETERMINISTIC", "1")
            .env("NO_COLOR", "1")
            .env("EMCEE_STATE_DIR", self.dir.path().join("state"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        (command.spawn().expect("emcee starts"), self.dir)
    }

    /// Starts the run against a harness emulator without waiting for it, for tests
    /// that signal it.
    pub(crate) fn spawn(self, emu: &Emu) -> (tokio::process::Child, tempfile::TempDir) {
        self.arg("--endpoint")
            .arg(emu.handle.base_url())
            .env(HOST_PASSWORD_ENV, PASSWORD)
            .spawn_plain()
    }

    /// Runs, and hands back the run's directory with what it wrote.
    pub(crate) async fn output_with_dir(self) -> (Output, tempfile::TempDir) {
        let output = self.output_in(self.dir.path()).await;
        (output, self.dir)
    }

    /// Rehearses on the emulator with its request log kept: the output, and the calls
    /// the emulator received (none when the run wrote no log; a log that is not JSON
    /// fails the test).
    pub(crate) async fn rehearse(self) -> (Output, Vec<Value>) {
        let (output, requests) = self
            .arg("--sim")
            .arg("--sim-requests")
            .arg("requests.json")
            .output_keeping_dir()
            .await;
        let requests = if requests.is_empty() {
            Vec::new()
        } else {
            serde_json::from_str(&requests).expect("the request log is JSON")
        };
        (output, requests)
    }

    /// Runs, then hands back the text of `requests.json` the run wrote in its directory.
    pub(crate) async fn output_keeping_dir(self) -> (Output, String) {
        let output = self.output_in(self.dir.path()).await;
        let requests =
            std::fs::read_to_string(self.dir.path().join("requests.json")).unwrap_or_default();
        (output, requests)
    }

    /// Runs with `dir` as the working directory instead of the temporary one.
    pub(crate) async fn output_in(&self, dir: impl AsRef<std::path::Path>) -> Output {
        let mut command = tokio::process::Command::new(assert_cmd::cargo::cargo_bin!("emcee"));
        command
            .args(&self.args)
            .current_dir(dir.as_ref())
            // A test that gives up on a run (a watchdog) ends it too.
            .kill_on_drop(true)
            .env("EMCEE_DETERMINISTIC", "1")
            // Locks and journals stay with the test.
            .env("EMCEE_STATE_DIR", self.dir.path().join("state"))
            .env("NO_COLOR", "1")
            .env_remove(HOST_PASSWORD_ENV)
            .env_remove("EMCEE_ENDPOINT")
            .env_remove("EMCEE_LOG")
            .env_remove("EMCEE_PROGRESS")
            .env_remove("EMCEE_LOG_FORMAT");
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let output = command.output().await.expect("emcee runs");
        Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// The last path segment of each call in a request log, leaving out the token and
/// online-list reads and the push feed's opening (its socket token and upgrade): what
/// the run did, in order.
pub(crate) fn action_calls(requests: &[Value]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            r["path"]
                .as_str()
                .unwrap_or("")
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .filter(|p| !matches!(p.as_str(), "token" | "realTimeInfo" | "wsToken" | "conn"))
        .collect()
}

/// A JSON file, parsed.
pub(crate) fn read_json(path: impl AsRef<std::path::Path>) -> Value {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
