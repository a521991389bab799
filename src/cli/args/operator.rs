//! The operator's commands as clap sees them: `emcee cue` and `emcee console`.

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Debug, clap::Args)]
pub struct CueArgs {
    #[command(subcommand)]
    pub command: CueCommandArg,

    /// The meeting whose run to tell (required).
    #[arg(long, value_name = "ID", global = true)]
    pub meeting: Option<String>,

    /// Only a run against this endpoint ("the built-in emulator" for a rehearsal).
    #[arg(long, value_name = "URL", global = true)]
    pub endpoint: Option<String>,

    /// Where runs keep their control sockets.
    #[arg(long, env = "EMCEE_STATE_DIR", value_name = "DIR", global = true)]
    pub state_dir: Option<PathBuf>,

    /// The run to tell, when several runs of the meeting listen.
    #[arg(long = "run", value_name = "ID", global = true)]
    pub run_id: Option<String>,

    /// Print the run's reply as JSON on standard output, also when it refuses (exit 1),
    /// and `{"ok": false, "message": WHY}` when no run answers (exit 2 or 3).
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum CueCommandArg {
    /// Start no new step until `resume`; waits keep counting.
    Hold,
    /// Go on after `hold`.
    Resume,
    /// End the current wait or countdown and start the next step now (while held:
    /// that one step).
    Go,
    /// Skip the next step not yet started, or the step with this id.
    Skip { step: Option<String> },
    /// Stop as SIGTERM does: `always` steps run, and the run exits 5.
    Abort,
    /// Play a scene of the playbook now, between steps.
    Scene { name: String },
    /// One action now: `do mute "Bob Li"`, or `do mute --id PID` on exactly one
    /// participant.
    Do {
        action: String,
        /// A display name, as a playbook's selector would be (templates allowed).
        #[arg(conflicts_with = "id")]
        selector: Option<String>,
        /// Exactly the participant with this id, taken literally.
        #[arg(long)]
        id: Option<String>,
    },
    /// Where the run is: the current step, the next cue and its countdown, held or
    /// not, the feed.
    Status,
}

#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
    /// The meeting whose run to attach to.
    #[arg(long, value_name = "ID")]
    pub meeting: String,

    /// Only a run against this endpoint ("the built-in emulator" for a rehearsal).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,

    /// Where runs keep their control sockets.
    #[arg(long, env = "EMCEE_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// The run to attach to, when several runs of the meeting listen.
    #[arg(long = "run", value_name = "ID")]
    pub run_id: Option<String>,
}
