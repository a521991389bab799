//! The emulator of Huawei Cloud Meeting's meeting-control API (`emcee sim`, and
//! `--sim` in process): a stateful HTTP server that answers like the real service, so
//! playbooks can be rehearsed offline and tested in CI, plus an admin API under
//! `/_sim/` for state, participants, the request log and fault injection.

mod admin;
mod admin_rules;
mod api_error;
mod control;
mod faults;
mod feed;
mod guard;
mod handover;
mod ids;
mod invitations;
mod lifecycle;
mod management;
mod meeting;
mod middleware;
mod request_log;
mod rules;
mod schedule;
mod seed;
mod server;
mod state;
mod tls;
mod waiting_room;
mod wakeups;
mod wire;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::{FaultConfig, FaultRule};
pub use feed::FeedFaults;
pub use meeting::{AttendeeView, MeetingView, ParticipantView};
pub use middleware::REQUEST_LOG_TARGET;
pub use request_log::LoggedRequest;
pub use schedule::ConfState;
pub use seed::{AccountSeed, Seed};
pub use server::ServerLimits;
pub use state::DEFAULT_TOKEN_TTL;

use crate::clock::{SharedClock, SystemClock};
use crate::error::Error;
use state::Sim;

/// How to serve the emulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Where to listen; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Serve HTTPS with a self-signed certificate made at start.
    pub tls: bool,
    /// Seeds identifiers and fault probabilities, so runs are reproducible.
    pub rng_seed: u64,
    pub clock: SharedClock,
    /// Connection limit and timeouts; the defaults suit an emulator left running.
    pub limits: ServerLimits,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            tls: false,
            rng_seed: 0,
            clock: SystemClock::shared(),
            limits: ServerLimits::default(),
        }
    }
}

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct SimHandle {
    base_url: String,
    local_addr: SocketAddr,
    cert_pem: Option<String>,
    sim: Arc<Sim>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// Carries out the schedule at its instants.
    wakeups: JoinHandle<()>,
}

/// Starts the emulator on a free loopback port.
pub async fn start(seed: Seed) -> Result<SimHandle, Error> {
    start_with(seed, SimOptions::default()).await
}

pub async fn start_with(seed: Seed, options: SimOptions) -> Result<SimHandle, Error> {
    let listener = TcpListener::bind(options.bind)
        .await
        .map_err(|e| Error::io(format!("cannot listen on {}", options.bind), e))?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| Error::io("cannot read the bound address", e))?;
    let (scheme, tls, cert_pem) = if options.tls {
        let certificate = tls::self_signed(local_addr.ip())?;
        (
            "https",
            Some(certificate.acceptor),
            Some(certificate.cert_pem),
        )
    } else {
        ("http", None, None)
    };
    let host = match local_addr.ip() {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    };
    let base_url = format!("{scheme}://{host}:{}", local_addr.port());

    let sim = Arc::new(Sim::new(seed, options.rng_seed, options.clock));
    sim.set_base_url(base_url.clone());
    let wakeups = wakeups::spawn(&sim);
    let router = router(Arc::clone(&sim));
    let (shutdown, receiver) = oneshot::channel();
    let task = tokio::spawn(server::serve(
        listener,
        router,
        tls,
        options.limits,
        receiver,
    ));
    Ok(SimHandle {
        base_url,
        local_addr,
        cert_pem,
        sim,
        shutdown: Some(shutdown),
        task: Some(task),
        wakeups,
    })
}

fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .merge(control::routes())
        .merge(admin::routes())
        .merge(admin_rules::routes())
        .merge(feed::routes())
        .fallback(admin::fallback)
        .method_not_allowed_fallback(admin::fallback)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&sim),
            middleware::around,
        ))
        .with_state(sim)
}

impl SimHandle {
    /// `http://127.0.0.1:PORT` (or `https://` with TLS): what clients call.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The self-signed certificate, PEM-encoded, when serving TLS.
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    pub fn clock(&self) -> &SharedClock {
        &self.sim.clock
    }

    /// The full state of one meeting, read in process.
    pub fn meeting(&self, id: &str) -> Option<MeetingView> {
        self.sim.lock().meetings.get(id).map(|m| m.view())
    }

    /// Accepts `token` as a host token for `meeting` (for rehearsing a playbook that
    /// brings its own token), valid for the usual lifetime.
    pub fn grant_token(&self, meeting: &str, token: &str) {
        let now = self.sim.clock.now();
        let mut state = self.sim.lock();
        let expires = now
            .checked_add(state.token_ttl())
            .unwrap_or(jiff::Timestamp::MAX);
        let session = state.meetings.get(meeting).map_or(0, |m| m.session);
        state.tokens.insert(
            token.to_owned(),
            state::Grant {
                meeting_id: meeting.to_owned(),
                role: 1,
                expires,
                session,
            },
        );
    }

    /// Starts a meeting as `POST /_sim/meetings/{id}/start` does; the error is the
    /// answer's code and message.
    pub fn start_meeting(&self, id: &str) -> Result<MeetingView, String> {
        let now = self.sim.clock.now();
        let mut state = self.sim.lock();
        state
            .start_meeting(id, now)
            .and_then(|_| Ok(state.meeting(id)?.view()))
            .map_err(|e| format!("{} {}", e.code, e.msg))
    }

    /// Ends a meeting as `POST /_sim/meetings/{id}/end` does.
    pub fn end_meeting(&self, id: &str) -> Result<MeetingView, String> {
        let mut state = self.sim.lock();
        state
            .end_meeting(id)
            .and_then(|()| Ok(state.meeting(id)?.view()))
            .map_err(|e| format!("{} {}", e.code, e.msg))
    }

    /// How many push-feed connections are open on a meeting.
    pub fn feed_connections(&self, meeting: &str) -> usize {
        self.sim.feeds.count(meeting)
    }

    /// The request log: every API call so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.sim.lock().log.since(0)
    }

    /// Every meeting, in creation order.
    pub fn meetings(&self) -> Vec<MeetingView> {
        self.sim
            .lock()
            .meetings
            .values()
            .map(|m| m.view())
            .collect()
    }

    /// Stops accepting connections and waits for in-flight requests to finish.
    pub async fn stop(mut self) {
        self.sim.feeds.close_all();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.wakeups.abort();
        self.sim.feeds.close_all();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
