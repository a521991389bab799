//! The command line as clap sees it. These types stop here: [`super`] turns them into
//! plain option structs before anything else runs. Doc comments become `--help`.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand};

/// Run meeting choreography from a YAML playbook against Huawei Cloud Meeting.
#[derive(Debug, Parser)]
#[command(name = "emcee", version, about, propagate_version = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,

    /// More log output (-v, -vv).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,

    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the meeting emulator: the meeting-control API plus an admin API under /_sim/.
    ///
    /// Prints its base URL on standard output when ready and runs until Ctrl-C or SIGTERM.
    Sim(SimArgs),
}

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Address to listen on. Keep it on loopback: the emulator has no access control.
    #[arg(long, default_value = "127.0.0.1", env = "EMCEE_SIM_BIND")]
    pub bind: IpAddr,

    /// Port to listen on; 0 picks a free one (the printed URL shows which).
    #[arg(long, default_value_t = 8787, env = "EMCEE_SIM_PORT")]
    pub port: u16,

    /// YAML file of meetings, participants and accounts to start with.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,

    /// Serve HTTPS with a self-signed certificate made at start.
    #[arg(long)]
    pub tls: bool,

    /// Write the self-signed certificate (PEM) here, for clients to trust.
    #[arg(long, value_name = "PATH", requires = "tls")]
    pub tls_cert_out: Option<PathBuf>,

    /// Seed for identifiers and fault probabilities: the same seed and calls give
    /// the same pids, tokens and faults.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub rng_seed: u64,
}
