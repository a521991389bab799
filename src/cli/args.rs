//! The command line as clap sees it. These types stop here: [`super`] turns them into
//! plain option structs before anything else runs. Doc comments become `--help`.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand};

mod operator;
pub(super) use operator::{ConsoleArgs, CueArgs, CueCommandArg};

/// Run meeting choreography from a YAML playbook against Huawei Cloud Meeting.
#[derive(Debug, Parser)]
#[command(name = "emcee", version, about, propagate_version = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,

    /// More log output (-v, -vv).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,

    /// Only errors: a run prints its failed steps and summary, and nothing if it succeeds.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a playbook against a meeting (or, with --sim, against the built-in emulator).
    Run(RunArgs),

    /// Parse, type-check and template-check playbooks without contacting anything
    /// (unless --live asks for a read-only look at each playbook's meeting).
    ///
    /// Every problem of every file is reported in one pass. A directory is searched
    /// (recursively, by name, hidden entries skipped) for *.yaml and *.yml files: a
    /// file with `meeting:` is a playbook; a file a checked playbook includes is
    /// checked through it; any other file is a fragment of steps, checked on its own
    /// with undefined variables allowed (its includers define them).
    ///
    /// Exits 0 when every file is fit to run, 2 with every problem found otherwise.
    Check(CheckArgs),

    /// Print the resolved timeline: when each cue fires, what it does, which API calls it
    /// makes. Nothing is contacted, unless --live asks for a read-only look at the
    /// meeting.
    ///
    /// Steps that --tags, --skip-tags or --start-at leave out, and steps whose `when` the
    /// variables already decide against, are listed as skipped, with the reason.
    Plan(PlanArgs),

    /// Describe every action, or one in full: arguments, API calls, an example.
    Actions {
        /// The action to describe.
        name: Option<String>,
    },

    /// Rebuild a run's reports from its journal.
    Report {
        /// The journal (`<state dir>/runs/<run id>.jsonl`), or `last`.
        journal: String,

        /// Where to write: json=PATH or junit=PATH (repeatable); the JSON report on
        /// standard output when absent.
        #[arg(long = "report", value_name = "FORMAT=PATH")]
        reports: Vec<crate::report::ReportTarget>,

        /// Where `last` looks for journals.
        #[arg(long, env = "EMCEE_STATE_DIR", value_name = "DIR")]
        state_dir: Option<PathBuf>,
    },

    /// Run playbooks at their times from a schedule file (cron expressions with time
    /// zones), one `emcee run` per firing, until SIGTERM.
    Schedule {
        /// The schedule file.
        file: PathBuf,
        /// Print the equivalent crontab lines instead. A job cron cannot run as written
        /// is printed commented out with the reason, and the command exits 1.
        #[arg(long, conflicts_with = "print_systemd")]
        print_crontab: bool,
        /// With --print-crontab: which cron reads it. cronie honours CRON_TZ; Debian's
        /// cron ignores it, so a job in another zone is converted to the system zone
        /// when both keep a fixed offset, and commented out otherwise.
        #[arg(long, value_enum, default_value_t = CronFlavourArg::Cronie, requires = "print_crontab")]
        cron_flavour: CronFlavourArg,
        /// With --print-crontab: the zone the machine's cron runs in (the local zone
        /// when absent), e.g. Etc/UTC.
        #[arg(long, value_name = "ZONE", requires = "print_crontab")]
        system_zone: Option<String>,
        /// Print a systemd service and timer per job instead (OnCalendar with the
        /// job's time zone). A job systemd cannot express is commented out; exit 1.
        #[arg(long)]
        print_systemd: bool,
        /// List the next N firings instead.
        #[arg(long, value_name = "N")]
        next: Option<usize>,
        /// Log lines as text or JSON.
        #[arg(long, value_enum, default_value_t = LogFormatArg::Text, env = "EMCEE_LOG_FORMAT")]
        log_format: LogFormatArg,
    },

    /// Print shell completions: `emcee completions bash > /etc/bash_completion.d/emcee`.
    Completions { shell: clap_complete::Shell },

    /// Print the man page (roff): `emcee man > emcee.1`.
    Man,

    /// Print the playbook JSON Schema (also in schemas/playbook.schema.json).
    Schema {
        /// The schema of `--report json=PATH` instead (schemas/report.schema.json).
        #[arg(long, conflicts_with = "schedule")]
        report: bool,
        /// The schema of schedule files instead (schemas/schedule.schema.json).
        #[arg(long)]
        schedule: bool,
    },

    /// Show a live meeting, read only: its state, who is in it and how (role, muted,
    /// hand, video), who is ringing or joining, and who is invited but not there.
    ///
    /// Only the token call and one read of the online list are made, never a control
    /// call. Broadcast, roll call, lock and recording are shown as unknown: the read
    /// does not carry them. A meeting that has not started or has ended is said so
    /// (exit 0); exit 3 when the meeting cannot be reached or logged into.
    Status(StatusArgs),

    /// Stream a live meeting's changes as they happen, from its push feed, until
    /// Ctrl-C (exit 0), the meeting's end (exit 0, "the meeting has ended") or the feed
    /// closing (exit 1 with the reason; there is no reconnect yet).
    ///
    /// First a block summarising the meeting, then one line per change, the time on
    /// the service's clock: joined, left, raised/lowered a hand, muted/unmuted, is now
    /// host/co-host, broadcasting, meeting locked/unlocked, recording started/stopped,
    /// invitation results ("Eve Sun: busy"), waiting room. With --format json, no block
    /// and one object a line: {"at": RFC 3339 time, "event": joined | left |
    /// hand_raised | hand_lowered | muted | unmuted | host | cohost | broadcasting |
    /// locked | unlocked | recording_started | recording_stopped | invite_result |
    /// waiting | ended, "name": who (when about someone), "code" and "result"
    /// (invite_result)}; first of all {"at", "event": "snapshot", "name": the title,
    /// "present": [names]}, not counted by --count. A wss:// feed is verified as the
    /// API's HTTPS. A meeting that has not started or has ended is said so as by
    /// `status` (exit 0); exit 3 when the meeting or its feed cannot be reached.
    Watch(WatchArgs),

    /// Tell a running show what to do, or ask where it is: the run of the meeting
    /// that listens on its control socket (`<state dir>/control/<run id>.sock`; every
    /// run against a service listens, a rehearsal with --control).
    ///
    /// Exit 0 when the run took the command (its message on standard output), 1 when
    /// it refused it (the message on standard error), 2 for bad usage or when several
    /// runs of the meeting listen and no --run picks one (they are listed), 3 when no
    /// run of the meeting listens.
    Cue(CueArgs),

    /// Attach the operator's console to a running show: a full-screen view of its
    /// timeline, roster, meeting and log, whose keys send the same commands as `emcee
    /// cue` (so a second operator can join). Needs a terminal (exit 2 otherwise).
    ///
    /// `q` leaves the console; the run goes on. Exit 0 when the console left or the
    /// run ended, 2 for bad usage or several matching runs without --run, 3 when no
    /// run of the meeting listens.
    Console(ConsoleArgs),

    /// Serve the meeting emulator: the meeting-control API plus an admin API under /_sim/.
    ///
    /// Prints its base URL on standard output when ready and runs until Ctrl-C or SIGTERM.
    Sim(SimArgs),
}

#[derive(Debug, clap::Args)]
pub struct VarArgs {
    /// Set a variable: KEY=VALUE sets the string VALUE exactly as typed; KEY:=YAML sets a
    /// typed value (n:=3 a number, panel:='[Bob Li, Carol Wu]' a list, on:=true). Beats
    /// every other source: the playbook's vars, --vars-file, and an include's vars.
    #[arg(short = 'e', long = "var", value_name = "KEY=VALUE|KEY:=YAML")]
    pub vars: Vec<String>,

    /// A YAML file of variables. Overrides the playbook's vars and earlier files; an
    /// include's vars and -e override it.
    #[arg(long, value_name = "FILE")]
    pub vars_file: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct SelectArgs {
    /// Run only the steps with one of these tags (a block's tags are its steps' too).
    #[arg(long, value_delimiter = ',', value_name = "TAG,...")]
    pub tags: Vec<String>,

    /// Skip the steps with one of these tags.
    #[arg(long, value_delimiter = ',', value_name = "TAG,...")]
    pub skip_tags: Vec<String>,

    /// Skip every step before this one (its name, or its id such as 3 or 3.2).
    #[arg(long, value_name = "STEP")]
    pub start_at: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The playbook to run.
    pub playbook: PathBuf,

    #[command(flatten)]
    pub vars: VarArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    /// Rehearse against the built-in emulator, seeded from the playbook's `rehearsal:`.
    /// Unset secrets become rehearsal placeholders.
    #[arg(long)]
    pub sim: bool,

    /// With --sim: waits and cues take no real time, while the timeline, token expiry
    /// and rehearsal arrivals happen at the right virtual instants.
    #[arg(long, requires = "sim")]
    pub fast_forward: bool,

    /// With --sim: start the rehearsal's clock at this instant instead of now, so that
    /// wall-clock cues behave the same whenever it runs: 2026-11-22T09:50:00+08:00,
    /// 2026-11-22T09:50 or 09:50 (in the playbook's time zone). With --fast-forward the
    /// virtual clock starts there; without, the clock is set to it and runs in real time.
    #[arg(long, value_name = "TIME", requires = "sim")]
    pub start: Option<String>,

    /// When the whole run must be over: +2h (after the run's first start, also when
    /// resumed), 10:30, 2026-11-22T10:30 or an RFC 3339 instant. Past it the current
    /// step stops, `always` steps run, and emcee exits 1. Overrides the playbook's
    /// `deadline`.
    #[arg(long, value_name = "TIME")]
    pub deadline: Option<String>,

    /// Write a report when the run ends, whatever its outcome: json=PATH or junit=PATH
    /// (one test case per step). Repeatable. `{run_id}` and `{date}` (the run's start
    /// date) in PATH are filled in, so that runs do not overwrite each other's reports.
    #[arg(long = "report", value_name = "FORMAT=PATH")]
    pub reports: Vec<crate::report::ReportTarget>,

    /// Continue an interrupted or failed run from its journal: the steps it finished
    /// are not run again, its cues keep their times. A path, or `last`: the newest
    /// journal of this playbook in this meeting at this endpoint (the log says which).
    /// It starts where that run stopped, so --start-at cannot be given with it.
    #[arg(long, value_name = "JOURNAL", conflicts_with = "start_at")]
    pub resume: Option<String>,

    /// Calls per minute per API that emcee allows itself, in bursts of as many (0: no
    /// limit). The playbook's `defaults.rate_limit`, or 90, when absent.
    #[arg(long, env = "EMCEE_RATE_LIMIT", value_name = "PER_MINUTE")]
    pub rate_limit: Option<u32>,

    /// Where the locks (one per meeting and endpoint) and the run journals are kept.
    #[arg(long, env = "EMCEE_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// What to do when the meeting has not started yet: wait for it, start it with the
    /// playbook's `account`, or fail at once (exit 3). Overrides the playbook's
    /// `meeting.not_started` (wait when neither says).
    #[arg(long, value_enum, value_name = "POLICY")]
    pub not_started: Option<NotStartedArg>,

    /// The meeting's push feed: use it when it opens and read the online list while it
    /// does not (auto), never open it (off), or stop with exit 3 when it cannot be
    /// opened at the first step that calls the API (required). Overrides the
    /// playbook's `meeting.events` (auto when neither says).
    #[arg(long, value_enum, value_name = "MODE")]
    pub events: Option<EventsArg>,

    /// With --sim: listen for operator commands (`emcee cue`) on the control socket,
    /// as a run against a service always does.
    #[arg(long, requires = "sim")]
    pub control: bool,

    /// Show the operator's console on this terminal (a terminal is required): the
    /// timeline, roster, meeting and log, with keys to hold, go, skip, abort, play the
    /// panic scene and act on participants. Implies --control with --sim. `q` leaves
    /// it; the run goes on with plain lines.
    #[arg(long)]
    pub console: bool,

    /// With --sim: write the emulator's request log (every call, when, and its answer)
    /// to this JSON file after the run.
    #[arg(long, value_name = "FILE", requires = "sim")]
    pub sim_requests: Option<PathBuf>,

    /// The API endpoint.
    #[arg(
        long,
        env = "EMCEE_ENDPOINT",
        value_name = "URL",
        conflicts_with = "sim"
    )]
    pub endpoint: Option<String>,

    /// Allow a plain-http endpoint that is not on loopback (the password would cross the
    /// network unencrypted).
    #[arg(long)]
    pub allow_insecure_http: bool,

    /// Progress bars: on a terminal (auto), always, or never (plain lines).
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto, env = "EMCEE_PROGRESS")]
    pub progress: ProgressArg,

    /// Output as text lines or JSON lines.
    #[arg(long, value_enum, default_value_t = LogFormatArg::Text, env = "EMCEE_LOG_FORMAT")]
    pub log_format: LogFormatArg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ProgressArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum NotStartedArg {
    Wait,
    Start,
    Fail,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum EventsArg {
    Auto,
    Off,
    Required,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CronFlavourArg {
    Cronie,
    Debian,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The playbook to plan.
    pub playbook: PathBuf,

    #[command(flatten)]
    pub vars: VarArgs,

    /// The steps a run with these would take; the others are listed as skipped.
    #[command(flatten)]
    pub select: SelectArgs,

    /// Check the targets against the playbook's rehearsal meeting, and warn about
    /// people it names who are not expected there by then.
    #[arg(long, conflicts_with = "live")]
    pub sim: bool,

    /// When the run would start: 2026-11-22T09:50:00+08:00, 2026-11-22T09:50 or 09:50
    /// (in the playbook's time zone). Now when absent.
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,

    /// When the meeting would start, for `meeting+10m` cues: a time as for --start, or
    /// +12m after the run's start. The run's start when absent (a run counts from when
    /// it first obtains the meeting's control token).
    #[arg(long, value_name = "TIME")]
    pub meeting_start: Option<String>,

    /// A table for people, or JSON.
    #[arg(long, value_enum, default_value_t = PlanFormatArg::Table)]
    pub format: PlanFormatArg,

    #[command(flatten)]
    pub live: LiveArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PlanFormatArg {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CheckFormatArg {
    Human,
    Github,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The playbooks to check, or directories to check every playbook under.
    #[arg(required = true, value_name = "PATH")]
    pub playbooks: Vec<PathBuf>,

    /// How to write problems. human: with the source line, on standard error.
    /// github: GitHub Actions annotations on standard output
    /// (`::error file=F,line=L,col=C,endLine=L,endColumn=C,title=emcee check::MESSAGE`).
    /// json: one document on standard output, `{"files": [{"file", "kind", "steps",
    /// "ok", "warnings", "unreachable"}], "problems": [{"file", "line", "column",
    /// "end": {"line", "column"}, "severity", "message", "help"}]}`; lines and
    /// columns 1-based, columns in characters, `end` exclusive, `severity` "error",
    /// `help` null when none, `kind` "playbook" or "fragment", `unreachable` why
    /// --live could not look at the playbook's meeting (else null).
    #[arg(long, value_enum, default_value_t = CheckFormatArg::Human)]
    pub format: CheckFormatArg,

    #[command(flatten)]
    pub vars: VarArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    #[command(flatten)]
    pub live: LiveArgs,
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

/// `--live` for `check` and `plan`: a read-only look at each playbook's meeting.
#[derive(Debug, clap::Args)]
pub struct LiveArgs {
    /// Log in to each playbook's meeting, read who is there and who is invited, and
    /// warn about selectors that match nobody, several people, or someone not in the
    /// meeting yet. No control call is made. Exit 3 when a meeting cannot be reached
    /// or logged into; a meeting not started yet is a note, not a failure.
    #[arg(long)]
    pub live: bool,

    /// With --live: the API endpoint.
    #[arg(long, env = "EMCEE_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,

    /// With --live: allow a plain-http endpoint that is not on loopback.
    #[arg(long)]
    pub allow_insecure_http: bool,
}

/// Which live meeting, and how to reach it: shared by `status` and `watch`.
#[derive(Debug, clap::Args)]
pub struct MeetingArgs {
    /// The playbook whose meeting to show (its `meeting:` id and credentials).
    #[arg(required_unless_present = "meeting", conflicts_with = "meeting")]
    pub playbook: Option<PathBuf>,

    /// The meeting to show instead; the host password from EMCEE_HOST_PASSWORD, or a
    /// control token from EMCEE_TOKEN (or a file named by EMCEE_HOST_PASSWORD_FILE or
    /// EMCEE_TOKEN_FILE).
    #[arg(long, value_name = "ID")]
    pub meeting: Option<String>,

    #[command(flatten)]
    pub vars: VarArgs,

    /// The API endpoint.
    #[arg(long, env = "EMCEE_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,

    /// Allow a plain-http endpoint that is not on loopback.
    #[arg(long)]
    pub allow_insecure_http: bool,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: MeetingArgs,

    /// Text for people, or one JSON document (one per refresh, a line each, with
    /// --watch).
    #[arg(long, value_enum, default_value_t = StatusFormatArg::Human)]
    pub format: StatusFormatArg,

    /// Refresh every INTERVAL (5s when given alone; at least 2s) until Ctrl-C: on a
    /// terminal the screen is redrawn, otherwise a block is printed per refresh.
    #[arg(long, value_name = "INTERVAL", num_args = 0..=1, default_missing_value = "5s")]
    pub watch: Option<String>,

    /// With --watch: stop after N looks.
    #[arg(long, value_name = "N", requires = "watch")]
    pub count: Option<u32>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum StatusFormatArg {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub target: MeetingArgs,

    /// Text for people, or one JSON object per change, a line each.
    #[arg(long, value_enum, default_value_t = StatusFormatArg::Human)]
    pub format: StatusFormatArg,

    /// Stop after N changes.
    #[arg(long, value_name = "N")]
    pub count: Option<u32>,
}
