//! From the command line to the library: parse with clap, convert into plain options,
//! set up logging and the runtime, run the command, and map any error to its exit code.

mod args;

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::error::{Error, ExitCode};
use crate::sim::{self, Seed, SimOptions};

pub use args::Args;

/// `emcee sim`, as plain options.
#[derive(Debug, Clone)]
pub struct SimCommand {
    pub bind: SocketAddr,
    pub seed: Option<PathBuf>,
    pub tls: bool,
    pub tls_cert_out: Option<PathBuf>,
    pub rng_seed: u64,
}

impl From<args::SimArgs> for SimCommand {
    fn from(args: args::SimArgs) -> Self {
        SimCommand {
            bind: SocketAddr::new(args.bind, args.port),
            seed: args.seed,
            tls: args.tls,
            tls_cert_out: args.tls_cert_out,
            rng_seed: args.rng_seed,
        }
    }
}

/// Whether stderr gets colour: a terminal, and `NO_COLOR` unset.
fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("EMCEE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("warn,emcee={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color())
        .with_target(false)
        .try_init();
}

/// The whole program: what `main` calls.
pub fn main() -> std::process::ExitCode {
    let args = Args::parse();
    init_logging(args.verbose, args.quiet);
    let result = match args.command {
        args::Command::Sim(sim_args) => run_sim(sim_args.into()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprint!("{}", error.render(color()));
            exit_code(error.exit_code())
        }
    }
}

fn exit_code(code: ExitCode) -> std::process::ExitCode {
    std::process::ExitCode::from(u8::try_from(code.code()).unwrap_or(1))
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the async runtime", e))
}

fn run_sim(command: SimCommand) -> Result<(), Error> {
    let seed = match &command.seed {
        Some(path) => Seed::load(path)?,
        None => Seed::default(),
    };
    runtime()?.block_on(serve_sim(command, seed))
}

async fn serve_sim(command: SimCommand, seed: Seed) -> Result<(), Error> {
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

/// Ctrl-C and SIGTERM, watched from creation on.
struct Signals {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Signals, Error> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                terminate: signal(SignalKind::terminate())
                    .map_err(|e| Error::io("cannot watch for SIGTERM", e))?,
                interrupt: signal(SignalKind::interrupt())
                    .map_err(|e| Error::io("cannot watch for SIGINT", e))?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Waits for either and says which arrived.
    async fn wait(mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.terminate.recv() => "SIGTERM",
                _ = self.interrupt.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
