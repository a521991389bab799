//! The built binary: `emcee sim` prints its URL, serves, stops cleanly on a signal,
//! serves TLS with a certificate it can write out, and rejects bad seed files with a
//! located error and exit 2.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

fn emcee() -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin!("emcee"));
    command
        .env_remove("EMCEE_SIM_PORT")
        .env_remove("EMCEE_SIM_BIND")
        .env("NO_COLOR", "1");
    command
}

struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str]) -> Served {
    let mut child = emcee()
        .args(["sim", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("emcee starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("a URL line");
    let url = line.trim().to_owned();
    assert!(url.starts_with("http"), "first line is the URL: {url:?}");
    Served { child, url }
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "emcee sim did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args(["-s", name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn seed_file(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("seed.yaml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn serves_the_seed_on_a_free_port_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_file(&dir, TOWN_HALL);
    let mut served = serve(&["--seed", &seed]);
    let port: u16 = served.url.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(port, 0, "the printed URL shows the real port");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let meeting: Value = client
        .get(format!("{}/_sim/meetings/{MEETING}", served.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meeting["subject"], "Town hall");
    signal(&served.child, "TERM");
    assert!(
        wait_exit(&mut served.child).success(),
        "a clean stop exits 0"
    );
}

#[tokio::test]
async fn a_guest_turned_away_from_a_meeting_not_started_is_logged() {
    install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_file(
        &dir,
        "meetings:\n  - id: \"914044873\"\n    host_password: \"123456\"\n    status: scheduled\n    participants:\n      - { name: Alice Zhang, role: host, joins_after: 1h }\n      - { name: Carol Wu, joins_after: 1m }\n",
    );
    let mut served = serve(&["--seed", &seed]);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let advanced = client
        .post(format!("{}/_sim/clock/advance", served.url))
        .header("content-type", "application/json")
        .body(r#"{"by": "2m"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(advanced.status(), 200);
    let meeting: Value = client
        .get(format!("{}/_sim/meetings/{MEETING}", served.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meeting["participants"], serde_json::json!([]));
    signal(&served.child, "TERM");
    assert!(wait_exit(&mut served.child).success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut served.child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("Carol Wu is not admitted to meeting 914044873: MMC.111071004"),
        "{stderr}"
    );
}

#[tokio::test]
async fn stops_on_sigint_too() {
    let mut served = serve(&[]);
    signal(&served.child, "INT");
    assert!(wait_exit(&mut served.child).success());
}

#[tokio::test]
async fn serves_https_with_a_certificate_written_out() {
    install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_file(&dir, TOWN_HALL);
    let cert = dir.path().join("cert.pem");
    let served = serve(&[
        "--seed",
        &seed,
        "--tls",
        "--tls-cert-out",
        cert.to_str().unwrap(),
    ]);
    assert!(
        served.url.starts_with("https://127.0.0.1:"),
        "{}",
        served.url
    );
    let pem = std::fs::read(&cert).expect("certificate written");
    let client = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    let response = client
        .get(format!("{}/v1/mmc/control/conferences/token", served.url))
        .query(&[("conferenceID", MEETING)])
        .header("X-Password", PASSWORD)
        .header("X-Login-Type", "1")
        .send()
        .await
        .expect("TLS handshake with the written certificate");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["data"]["wsURL"]
            .as_str()
            .unwrap()
            .starts_with("wss://")
    );
}

#[test]
fn a_bad_seed_file_is_reported_with_its_position_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_file(
        &dir,
        "meetings:\n  - id: \"914044873\"\n    host_password: a\n    particpants: []\n",
    );
    let output = emcee()
        .args(["sim", "--port", "0", "--seed", &seed])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr)
        .unwrap()
        .replace(&seed, "seed.yaml");
    insta::assert_snapshot!(stderr);
}

#[test]
fn a_missing_seed_file_is_an_error_not_a_panic() {
    let output = emcee()
        .args(["sim", "--port", "0", "--seed", "/nonexistent/seed.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("error: cannot read /nonexistent/seed.yaml"),
        "{stderr}"
    );
}

#[test]
fn a_busy_port_is_an_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let output = emcee().args(["sim", "--port", &port]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("cannot listen on 127.0.0.1:")
    );
}

#[test]
fn tls_cert_out_requires_tls() {
    let output = emcee()
        .args(["sim", "--tls-cert-out", "x.pem"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn the_example_seeds_load() {
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/seeds")).unwrap() {
        let path = entry.unwrap().path();
        let seed = emcee::sim::Seed::load(&path).unwrap_or_else(|e| panic!("{}", e.render(false)));
        assert!(!seed.meetings.is_empty(), "{}", path.display());
    }
}
