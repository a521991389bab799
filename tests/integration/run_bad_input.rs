//! Bad playbooks, each kept under `tests/bad/`: every one ends with a message that says
//! what and where, and the exit code of the design — never a panic. Static problems
//! are found by `emcee check`; the rest by `emcee run --sim`.

use crate::support::*;

fn rel(path: &std::path::Path) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/");
    path.to_string_lossy().trim_start_matches(root).to_owned()
}

#[test]
fn check_reports_each_bad_playbook() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bad/check"),
        "*.yaml",
        |path| {
            let output = runtime.block_on(
                Run::command(&["check", &rel(path)]).output_in(env!("CARGO_MANIFEST_DIR")),
            );
            assert_eq!(output.code, 2, "{}", output.transcript());
            assert!(
                output.stderr.starts_with("error: "),
                "{}",
                output.transcript()
            );
            assert!(
                !output.stderr.contains("panicked"),
                "{}",
                output.transcript()
            );
            insta::assert_snapshot!(output.transcript());
        }
    );
}

#[test]
fn run_reports_each_failing_playbook() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bad/run"),
        "*.yaml",
        |path| {
            let output = runtime.block_on(
                Run::command(&["run", &rel(path), "--sim"]).output_in(env!("CARGO_MANIFEST_DIR")),
            );
            assert_eq!(output.code, 1, "{}", output.transcript());
            assert!(output.stdout.contains("FAILED"), "{}", output.transcript());
            insta::assert_snapshot!(output.transcript());
        }
    );
}

#[tokio::test]
async fn a_wrong_password_or_unknown_meeting_exits_3() {
    let emu = Emu::start(TOWN_HALL).await;
    let playbook = |id: &str| {
        format!(
            "name: T\nmeeting:\n  id: \"{id}\"\n  host_password: \"{{{{ secret('EMCEE_HOST_PASSWORD') }}}}\"\nsteps:\n  - lock: {{}}\n"
        )
    };
    let wrong = Run::playbook(&playbook(MEETING))
        .arg("--endpoint")
        .arg(emu.handle.base_url())
        .env(HOST_PASSWORD_ENV, "wrong-password")
        .output()
        .await;
    assert_eq!(wrong.code, 3, "{}", wrong.transcript());
    assert!(
        wrong.stdout.contains("MMC.111072065"),
        "{}",
        wrong.transcript()
    );
    assert!(
        !wrong.transcript().contains("wrong-password"),
        "the password leaked: {}",
        wrong.transcript()
    );
    let unknown = Run::playbook(&playbook("999888777")).against(&emu).await;
    assert_eq!(unknown.code, 3, "{}", unknown.transcript());
    assert!(
        unknown.stdout.contains("CONF_NOT_FOUND_OR_AUTH_FAILED"),
        "{}",
        unknown.transcript()
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_exits_3_after_retries() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let output = Run::playbook(
        "name: T\nmeeting:\n  id: \"914044873\"\n  host_password: \"{{ secret('EMCEE_HOST_PASSWORD') }}\"\ndefaults:\n  retry: { attempts: 2, initial: 10ms, max: 10ms }\nsteps:\n  - lock: {}\n",
    )
    .arg("--endpoint")
    .arg(&url)
    .env(HOST_PASSWORD_ENV, PASSWORD)
    .output()
    .await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    assert!(
        output.stdout.contains("cannot reach the API"),
        "{}",
        output.transcript()
    );
}

#[tokio::test]
async fn plain_http_off_loopback_is_refused_before_anything_runs() {
    let output = Run::playbook(
        "name: T\nmeeting:\n  id: \"914044873\"\n  host_password: x\nsteps:\n  - lock: {}\n",
    )
    .arg("--endpoint")
    .arg("http://192.0.2.10:8787")
    .output()
    .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output.stderr.contains("clear text"),
        "{}",
        output.transcript()
    );
}

#[tokio::test]
async fn an_unset_secret_is_a_located_error_outside_rehearsal() {
    let output = Run::playbook(
        "name: T\nmeeting:\n  id: \"914044873\"\n  host_password: \"{{ secret('EMCEE_HOST_PASSWORD') }}\"\nsteps:\n  - lock: {}\n",
    )
    .arg("--endpoint")
    .arg("http://127.0.0.1:9")
    .output()
    .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    insta::assert_snapshot!(output.stderr);
}
