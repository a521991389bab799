//! Emulator throughput and latency for one control call over one keep-alive
//! connection, against a minimal axum handler answering the same request on the same
//! machine in the same run. Rounds alternate between the two so that machine noise
//! falls on both alike; the figures reported are medians over rounds.
//!
//! Run: `cargo bench --bench sim_throughput` (env `CALLS`, `ROUNDS` to change sizes).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::put;
use emcee::sim::{self, Seed};
use emcee::source::SourceFile;

const SEED: &str = r#"
meetings:
  - id: "914044873"
    host_password: "123456"
    participants:
      - { name: Alice Zhang, role: host }
      - { name: Bob Li }
"#;

struct Round {
    total: Duration,
    latencies: Vec<Duration>,
}

impl Round {
    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.total.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
    }
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Sequential calls over one keep-alive connection.
async fn measure(client: &reqwest::Client, url: &str, token: &str, calls: usize) -> Round {
    let call = || async {
        let response = client
            .put(url)
            .header("X-Conference-Authorization", token)
            .header("content-type", "application/json")
            .body(r#"{"isMute":1}"#)
            .send()
            .await
            .expect("call answered");
        assert_eq!(response.status(), 200);
        response.bytes().await.expect("body read");
    };
    for _ in 0..calls / 10 {
        call().await;
    }
    let mut latencies = Vec::with_capacity(calls);
    let started = Instant::now();
    for _ in 0..calls {
        let at = Instant::now();
        call().await;
        latencies.push(at.elapsed());
    }
    Round {
        total: started.elapsed(),
        latencies,
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let calls = env_or("CALLS", 20_000);
    let rounds = env_or("ROUNDS", 5);
    let _ = rustls::crypto::ring::default_provider().install_default();

    // Servers on their own runtime, the client on a current-thread one, as a runner is.
    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let seed = Seed::parse(&SourceFile::new("seed", SEED)).unwrap();
    let emulator = servers.block_on(sim::start(seed)).unwrap();
    let baseline: SocketAddr = servers.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route(
            "/v1/mmc/control/conferences/participants/mute",
            put(|| async {}),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    });

    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let (token, pid) = client_rt.block_on(async {
        let base = emulator.base_url();
        let body: serde_json::Value = client
            .get(format!(
                "{base}/v1/mmc/control/conferences/token?conferenceID=914044873"
            ))
            .header("X-Password", "123456")
            .header("X-Login-Type", "1")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = body["data"]["token"].as_str().unwrap().to_owned();
        let meeting = emulator.meeting("914044873").unwrap();
        (token, meeting.participants[1].pid.clone())
    });
    let query = format!("?conferenceID=914044873&participantID={pid}");
    let path = "/v1/mmc/control/conferences/participants/mute";
    let emulator_url = format!("{}{path}{query}", emulator.base_url());
    let baseline_url = format!("http://{baseline}{path}{query}");

    let mut emu_rounds = Vec::new();
    let mut base_rounds = Vec::new();
    client_rt.block_on(async {
        for _ in 0..rounds {
            emu_rounds.push(measure(&client, &emulator_url, &token, calls).await);
            base_rounds.push(measure(&client, &baseline_url, &token, calls).await);
        }
    });

    let stat = |rounds: &[Round], f: &dyn Fn(&Round) -> f64| {
        median(&mut rounds.iter().map(f).collect::<Vec<_>>())
    };
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let rows = [
        (
            "calls per second",
            stat(&emu_rounds, &|r| r.per_second()),
            stat(&base_rounds, &|r| r.per_second()),
        ),
        (
            "median latency (µs)",
            stat(&emu_rounds, &|r| micros(r.percentile(0.5))),
            stat(&base_rounds, &|r| micros(r.percentile(0.5))),
        ),
        (
            "p99 latency (µs)",
            stat(&emu_rounds, &|r| micros(r.percentile(0.99))),
            stat(&base_rounds, &|r| micros(r.percentile(0.99))),
        ),
    ];
    println!(
        "{rounds} rounds x {calls} sequential PUT .../participants/mute over one keep-alive connection, {} cores\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| measure | emulator | minimal axum handler | emulator / handler |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, emu, base) in rows {
        println!("| {name} | {emu:.0} | {base:.0} | {:.2} |", emu / base);
    }
    let log = emulator.meeting("914044873").map(|m| m.participants.len());
    assert_eq!(log, Some(2), "the emulator's state is intact after the run");
}
