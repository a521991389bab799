//! Runs against a server that misbehaves: redirects, an endless body, silence, HTML,
//! token answers already expired, long `Retry-After`s, and `http` paths that try to
//! leave the API. The run must end with the documented exit code and a clear message,
//! and never hand the credentials to anyone else.

use std::time::Duration;

use serde_json::json;

use crate::hostile_server::{Hostile, Reply};
use crate::support::{Output, PASSWORD, Run};

/// A playbook with the host password, quick retries (two attempts), and `steps`.
fn playbook(steps: &str) -> String {
    format!(
        "name: Hostile\nmeeting:\n  id: \"914044873\"\n  host_password: \"{{{{ secret('EMCEE_HOST_PASSWORD') }}}}\"\ndefaults:\n  retry: {{ attempts: 2, initial: 10ms, max: 10ms }}\nsteps:\n{steps}"
    )
}

/// Runs `run` against `server`, with a watchdog against hangs only.
async fn against(run: Run, server: &Hostile) -> Output {
    tokio::time::timeout(Duration::from_secs(60), run.against_url(server.url()))
        .await
        .expect("the run ends")
}

fn says(output: &Output, text: &str) {
    assert!(
        output.transcript().contains(text),
        "expected {text:?} in:\n{}",
        output.transcript()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_not_followed_and_the_credentials_stay_home() {
    let elsewhere = Hostile::start(|_| Reply::token()).await;
    let location = format!("{}/v1/mmc/control/conferences/token", elsewhere.url());
    let at_login = {
        let location = location.clone();
        Hostile::start(move |_| Reply::with(307, &[("location", &location)], "")).await
    };
    let output = against(Run::playbook(&playbook("  - lock: {}\n")), &at_login).await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    says(
        &output,
        &format!("HTTP 307 redirect to {location}, not followed"),
    );
    assert_eq!(at_login.seen().len(), 1, "a redirect is final, not retried");
    assert_eq!(
        at_login.seen()[0].header("X-Password"),
        Some(PASSWORD),
        "the endpoint itself was asked"
    );

    // Once logged in, a redirected control call would carry the token.
    let at_call = {
        let location = location.clone();
        Hostile::start(move |seen| match seen.is_token_call() {
            true => Reply::token(),
            false => Reply::with(307, &[("location", &location)], ""),
        })
        .await
    };
    let output = against(Run::playbook(&playbook("  - lock: {}\n")), &at_call).await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    says(&output, "HTTP 307 redirect to");
    assert_eq!(at_call.control_calls(), 1);
    assert!(
        elsewhere.seen().is_empty(),
        "the redirect target was called: {:?}",
        elsewhere.seen()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_is_cut_off_at_the_cap() {
    let server = Hostile::start(|_| Reply::Endless).await;
    let output = against(Run::playbook(&playbook("  - lock: {}\n")), &server).await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    says(&output, "the answer's body passed 4 MiB and was cut off");
    // The lifecycle's first ask, then the step's call and its retry.
    assert_eq!(server.token_calls(), 3, "a transport failure is retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_is_unreachable_before_a_token_and_a_step_failure_after() {
    let silent = Hostile::start(|_| Reply::Silent).await;
    let steps = "  - lock: {}\n    timeout: 2s\n";
    let output = against(Run::playbook(&playbook(steps)), &silent).await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    says(
        &output,
        "timed out after 2s without a usable answer from the API",
    );

    // With a given token, the same until the API first accepts it.
    let given = playbook(steps).replace(
        "host_password: \"{{ secret('EMCEE_HOST_PASSWORD') }}\"",
        "token: \"{{ secret('EMCEE_TOKEN') }}\"",
    );
    assert!(given.contains("EMCEE_TOKEN"));
    let output = against(
        Run::playbook(&given).env("EMCEE_TOKEN", "given-token"),
        &silent,
    )
    .await;
    assert_eq!(output.code, 3, "{}", output.transcript());

    let silent_after_login = Hostile::start(|seen| match seen.is_token_call() {
        true => Reply::token(),
        false => Reply::Silent,
    })
    .await;
    let output = against(Run::playbook(&playbook(steps)), &silent_after_login).await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    says(&output, "timed out after 2s");
    assert!(!output.stdout.contains("without a usable answer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_and_other_text_are_reported_as_such() {
    let portal = Hostile::start(|_| {
        Reply::with(
            200,
            &[("content-type", "text/html")],
            "<html><body>Please log in to the hotel wifi</body></html>",
        )
    })
    .await;
    let output = against(Run::playbook(&playbook("  - lock: {}\n")), &portal).await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    says(&output, "HTTP 200, but the answer is an HTML page");

    // A success whose body is not JSON is retried like a 5xx, then fails the step.
    let text = Hostile::start(|seen| match seen.is_token_call() {
        true => Reply::token(),
        false => Reply::with(200, &[("content-type", "application/json")], "OK"),
    })
    .await;
    let output = against(Run::playbook(&playbook("  - lock: {}\n")), &text).await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    says(&output, "HTTP 200, but the answer is not JSON");
    assert_eq!(text.control_calls(), 2, "retried like a 5xx");

    let proxy = Hostile::start(|seen| match seen.is_token_call() {
        true => Reply::token(),
        false => Reply::with(
            502,
            &[("content-type", "text/html")],
            "<h1>Bad gateway</h1>",
        ),
    })
    .await;
    let output = against(Run::playbook(&playbook("  - lock: {}\n")), &proxy).await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    says(&output, "HTTP 502 the answer is an HTML page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_answered_already_expired_is_not_renewed_over_and_over() {
    let server = Hostile::start(|seen| match seen.is_token_call() {
        true => Reply::expired_token(),
        false => Reply::ok(),
    })
    .await;
    let steps = "  - lock: {}\n  - wait: 3s\n  - unlock: {}\n";
    let output = against(
        Run::playbook(&playbook(steps)).arg("--rate-limit").arg("0"),
        &server,
    )
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(server.control_calls(), 2);
    // Renewals are a second apart at least, whatever expiry the service states, and
    // stop after their budget (30 an hour): never more than the login and those.
    let tokens = server.token_calls();
    assert!((1..=31).contains(&tokens), "{tokens} token calls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_beyond_the_step_time_limit_fails_at_once() {
    let server = Hostile::start(|seen| match seen.is_token_call() {
        true => Reply::token(),
        false => Reply::with(
            429,
            &[("content-type", "application/json"), ("retry-after", "120")],
            &json!({"error_code": "MMC.100000429", "error_msg": "too many requests"}).to_string(),
        ),
    })
    .await;
    let steps =
        "  - lock: {}\n    timeout: 30s\n    retry: { attempts: 3, initial: 10ms, max: 10ms }\n";
    let output = against(Run::playbook(&playbook(steps)), &server).await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    says(&output, "throttled, retry after 120 s");
    assert_eq!(server.control_calls(), 1, "not waited for, not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_path_that_leaves_the_api_is_refused_by_check_and_at_run_time() {
    let checked = Run::command(&["check", "playbook.yaml"])
        .file(
            "playbook.yaml",
            &playbook("  - http: { method: GET, path: \"@evil.example:8443/x\" }\n"),
        )
        .output()
        .await;
    assert_eq!(checked.code, 2, "{}", checked.transcript());
    says(&checked, "path `@evil.example:8443/x` must start with `/`");
    says(&checked, "playbook.yaml:8:");

    // A templated path is checked again once rendered, before anything is sent.
    let evil = Hostile::start(|_| Reply::ok()).await;
    let endpoint = Hostile::start(|seen| match seen.is_token_call() {
        true => Reply::token(),
        false => Reply::ok(),
    })
    .await;
    let port = evil.url().rsplit(':').next().unwrap().to_owned();
    let steps = format!(
        "  - lock: {{}}\n  - http: {{ method: GET, path: \"{{{{ target }}}}\" }}\nvars:\n  target: \"@127.0.0.1:{port}/x\"\n"
    );
    let output = against(Run::playbook(&playbook(&steps)), &endpoint).await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    says(
        &output,
        &format!("path `@127.0.0.1:{port}/x` must start with `/`"),
    );
    assert!(evil.seen().is_empty(), "{:?}", evil.seen());
    let sent: Vec<String> = endpoint
        .seen()
        .iter()
        .filter(|s| !s.is_token_call())
        .map(|s| format!("{} {}", s.method, s.path()))
        .collect();
    assert_eq!(
        sent,
        ["PUT /v1/mmc/control/conferences/lock"],
        "only the lock"
    );
}
