//! The baseline of the runner-overhead benchmark: a bare reqwest keep-alive loop that
//! logs in and then makes the same hand calls as the benchmark playbook, nothing else.
//! Given `name:NAME` for PID, it reads the online list once and takes that person's id,
//! as a client that resolves a name once would.
//!
//! Usage: baseline_loop BASE_URL MEETING PASSWORD PID|name:NAME COUNT

use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, meeting, password, pid, count] = &args[..] else {
        eprintln!("usage: baseline_loop BASE_URL MEETING PASSWORD PID COUNT");
        std::process::exit(2);
    };
    let count: usize = count.parse().expect("COUNT is a number");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let answer: serde_json::Value = client
        .get(format!("{base}/v1/mmc/control/conferences/token"))
        .query(&[("conferenceID", meeting.as_str())])
        .header("X-Password", password.as_str())
        .header("X-Login-Type", "1")
        .send()
        .await
        .expect("token call")
        .json()
        .await
        .expect("token answer");
    let token = answer["data"]["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let pid = match pid.strip_prefix("name:") {
        Some(name) => {
            let info: serde_json::Value = client
                .get(format!("{base}/v1/mmc/control/conferences/realTimeInfo"))
                .query(&[("conferenceID", meeting.as_str())])
                .header("X-Conference-Authorization", &token)
                .send()
                .await
                .expect("realTimeInfo call")
                .json()
                .await
                .expect("realTimeInfo answer");
            info["participants"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == name)
                .and_then(|p| p["pid"].as_str())
                .expect("the named participant is online")
                .to_owned()
        }
        None => pid.clone(),
    };
    let url = format!("{base}/v1/mmc/control/conferences/participants/hands");
    for i in 0..count {
        let response = client
            .put(&url)
            .query(&[
                ("conferenceID", meeting.as_str()),
                ("participantID", pid.as_str()),
            ])
            .header("X-Conference-Authorization", &token)
            .header("content-type", "application/json")
            .body(if i % 2 == 0 {
                r#"{"handsState":1}"#
            } else {
                r#"{"handsState":0}"#
            })
            .send()
            .await
            .expect("call answered");
        assert_eq!(response.status(), 200);
        response.bytes().await.expect("body");
    }
}
