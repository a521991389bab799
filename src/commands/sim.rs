//! `emcee sim`: serve the emulator until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::error::Error;
use crate::signals::Signals;
use crate::sim::{self, Seed, SimOptions};

/// `emcee sim`, as plain options.
#[derive(Debug, Clone)]
pub(crate) struct SimCommand {
    pub bind: SocketAddr,
    pub seed: Option<PathBuf>,
    pub tls: bool,
    pub tls_cert_out: Option<PathBuf>,
    pub rng_seed: u64,
}

pub(crate) async fn serve(command: SimCommand) -> Result<(), Error> {
    let seed = match &command.seed {
        Some(path) => Seed::load(path)?,
        None => Seed::default(),
    };
    if !command.bind.ip().is_loopback() {
        tracing::warn!(
            "listening on {}: the emulator has no access control; anyone who can reach it can change it",
            command.bind.ip()
        );
    }
    let meetings = seed.meetings.len();
    let options = SimOptions {
        bind: command.bind,
        tls: command.tls,
        rng_seed: command.rng_seed,
        ..SimOptions::default()
    };
    // Watch for signals before announcing the URL: whoever reads the URL may signal at once.
    let signals = Signals::new()?;
    let handle = sim::start_with(seed, options).await?;
    if let (Some(path), Some(pem)) = (&command.tls_cert_out, handle.cert_pem()) {
        std::fs::write(path, pem).map_err(|e| {
            Error::io(
                format!("cannot write the certificate to {}", path.display()),
                e,
            )
        })?;
    }
    // The URL alone on stdout, so scripts can read it; the rest is for people.
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", handle.base_url())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::io("cannot write to standard output", e))?;
    let ids: Vec<String> = handle.meetings().into_iter().map(|m| m.id).collect();
    tracing::info!(
        "emulator ready: {meetings} meeting(s){}; admin API at {}/_sim/; Ctrl-C to stop",
        if ids.is_empty() {
            String::new()
        } else {
            format!(" ({})", ids.join(", "))
        },
        handle.base_url()
    );
    let signal = signals.wait().await;
    tracing::info!("{signal}: stopping");
    handle.stop().await;
    Ok(())
}
