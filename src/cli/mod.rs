//! From the command line to the library: parse with clap, convert into plain options,
//! set up logging and the runtime, run the command, and map any error to its exit code.

mod args;

use std::io::IsTerminal;
use std::net::SocketAddr;

use clap::Parser;

use crate::commands::check::CheckOptions;
use crate::commands::run::RunOptions;
use crate::commands::sim::SimCommand;
use crate::commands::{self};
use crate::error::{Error, ExitCode};
use crate::session::{DisplayOptions, LogFormat, Progress};

pub use args::Args;

/// Whether stderr gets colour: a terminal, and `NO_COLOR` unset.
fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn init_logging(verbose: u8, quiet: bool, sim_requests: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("EMCEE_LOG").unwrap_or_else(|_| {
        let requests = if sim_requests && !quiet {
            "info"
        } else {
            "off"
        };
        tracing_subscriber::EnvFilter::new(format!(
            "warn,emcee={level},{}={requests}",
            crate::sim::REQUEST_LOG_TARGET
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| RedactingStderr)
        // A log line that cannot be written (the terminal hung up) is lost, not
        // reported on that same stderr, which would panic the thread that logged.
        .log_internal_errors(false)
        .with_ansi(color())
        .with_target(false);
    let _ = if crate::determinism::deterministic() {
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
}

/// Log lines on stderr, with every secret of the process masked and every control
/// character escaped. The formatter writes each event whole, one line, so a secret is
/// never split across two writes, and a line break inside one is not the formatter's.
struct RedactingStderr;

impl std::io::Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = log_line(&String::from_utf8_lossy(buf));
        // Held back while a console is on the screen, which it would write over.
        if crate::output::held_back(&text) {
            return Ok(buf.len());
        }
        // A log line is not worth stopping for: a stderr gone (the terminal hung up)
        // loses it, and the run goes on to stop as the hangup asks.
        let _ = std::io::stderr().write_all(text.as_bytes());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// One log line as stderr shows it: secrets masked, control characters escaped, the
/// line's own end kept.
fn log_line(text: &str) -> String {
    let text = crate::secrets::redact_all(text);
    let (line, end) = match text.strip_suffix('\n') {
        Some(line) => (line, "\n"),
        None => (text.as_str(), ""),
    };
    // Escape sequences left in the line are the formatter's colours: the logging layer
    // escapes those of the values it prints.
    let shown = line
        .split('\x1b')
        .map(crate::printable::printable)
        .collect::<Vec<_>>()
        .join("\x1b");
    format!("{shown}{end}")
}

impl From<args::SelectArgs> for crate::playbook::select::Selection {
    fn from(args: args::SelectArgs) -> Self {
        crate::playbook::select::Selection {
            tags: args.tags,
            skip_tags: args.skip_tags,
            start_at: args.start_at,
        }
    }
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

impl From<args::LogFormatArg> for LogFormat {
    fn from(arg: args::LogFormatArg) -> Self {
        match arg {
            args::LogFormatArg::Text => LogFormat::Text,
            args::LogFormatArg::Json => LogFormat::Json,
        }
    }
}

fn key_values(vars: &[String]) -> Result<Vec<(String, serde_json::Value)>, Error> {
    vars.iter()
        .map(|arg| crate::session::vars::parse_cli(arg))
        .collect()
}

impl TryFrom<args::RunArgs> for RunOptions {
    type Error = Error;
    fn try_from(args: args::RunArgs) -> Result<Self, Error> {
        Ok(RunOptions {
            playbook: args.playbook,
            vars: key_values(&args.vars.vars)?,
            vars_files: args.vars.vars_file,
            endpoint: args.endpoint,
            allow_insecure_http: args.allow_insecure_http,
            sim: args.sim,
            control: args.control,
            console: args.console,
            fast_forward: args.fast_forward,
            sim_requests: args.sim_requests,
            selection: args.select.into(),
            state_dir: args.state_dir,
            reports: args.reports,
            resume: args.resume,
            rate_limit: args.rate_limit,
            deadline: args.deadline,
            start: args.start,
            not_started: args.not_started.map(|policy| match policy {
                args::NotStartedArg::Wait => crate::playbook::NotStarted::Wait,
                args::NotStartedArg::Start => crate::playbook::NotStarted::Start,
                args::NotStartedArg::Fail => crate::playbook::NotStarted::Fail,
            }),
            events: args.events.map(|mode| match mode {
                args::EventsArg::Auto => crate::playbook::Events::Auto,
                args::EventsArg::Off => crate::playbook::Events::Off,
                args::EventsArg::Required => crate::playbook::Events::Required,
            }),
            display: DisplayOptions {
                progress: match args.progress {
                    args::ProgressArg::Auto => Progress::Auto,
                    args::ProgressArg::Always => Progress::Always,
                    args::ProgressArg::Never => Progress::Never,
                },
                log_format: args.log_format.into(),
                color: std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
                quiet: false,
            },
        })
    }
}

impl From<args::LiveArgs> for Option<crate::session::live::LiveOptions> {
    fn from(args: args::LiveArgs) -> Self {
        args.live.then_some(crate::session::live::LiveOptions {
            endpoint: args.endpoint,
            allow_insecure_http: args.allow_insecure_http,
        })
    }
}

impl TryFrom<args::MeetingArgs> for commands::status::Which {
    type Error = Error;
    fn try_from(args: args::MeetingArgs) -> Result<Self, Error> {
        use commands::status::Which;
        match (args.meeting, args.playbook) {
            (Some(id), _) => Ok(Which::Meeting(id)),
            (None, Some(path)) => Ok(Which::Playbook {
                path,
                vars: key_values(&args.vars.vars)?,
                vars_files: args.vars.vars_file,
            }),
            (None, None) => Err(Error::Usage("give a PLAYBOOK or --meeting ID".into())),
        }
    }
}

impl From<args::StatusFormatArg> for commands::status::StatusFormat {
    fn from(arg: args::StatusFormatArg) -> Self {
        match arg {
            args::StatusFormatArg::Human => commands::status::StatusFormat::Human,
            args::StatusFormatArg::Json => commands::status::StatusFormat::Json,
        }
    }
}

impl TryFrom<args::StatusArgs> for commands::status::StatusOptions {
    type Error = Error;
    fn try_from(args: args::StatusArgs) -> Result<Self, Error> {
        let endpoint = args.target.endpoint.clone();
        let allow_insecure_http = args.target.allow_insecure_http;
        let which = args.target.try_into()?;
        Ok(commands::status::StatusOptions {
            which,
            endpoint,
            allow_insecure_http,
            format: args.format.into(),
            watch: args.watch,
            count: args.count,
        })
    }
}

impl TryFrom<args::CueArgs> for commands::cue::CueOptions {
    type Error = Error;
    fn try_from(args: args::CueArgs) -> Result<Self, Error> {
        use crate::control::protocol::Command;
        let Some(meeting) = args.meeting else {
            return Err(Error::Usage(
                "which meeting's run? give --meeting ID".into(),
            ));
        };
        Ok(commands::cue::CueOptions {
            command: match args.command {
                args::CueCommandArg::Hold => Command::Hold,
                args::CueCommandArg::Resume => Command::Resume,
                args::CueCommandArg::Go => Command::Go,
                args::CueCommandArg::Skip { step } => Command::Skip { step },
                args::CueCommandArg::Abort => Command::Abort,
                args::CueCommandArg::Scene { name } => Command::Scene { name },
                args::CueCommandArg::Do {
                    action,
                    selector,
                    id,
                } => Command::Do {
                    action,
                    selector,
                    participant: id,
                },
                args::CueCommandArg::Status => Command::Status,
            },
            meeting,
            endpoint: args.endpoint,
            state_dir: args.state_dir,
            run: args.run_id,
            json: args.json,
        })
    }
}

/// The whole program: what `main` calls.
pub fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let serving = matches!(args.command, args::Command::Sim(_));
    init_logging(args.verbose, args.quiet, serving);
    let result = dispatch(args.command, args.quiet);
    match result {
        Ok(code) => exit_code(code),
        Err(error) => {
            eprint!("{}", crate::secrets::redact_all(&error.render(color())));
            exit_code(error.exit_code())
        }
    }
}

fn dispatch(command: args::Command, quiet: bool) -> Result<ExitCode, Error> {
    match command {
        args::Command::Run(run_args) => {
            // Refused before anything starts: no lock taken, no call made.
            if run_args.console {
                crate::console::need_terminal()?;
            }
            let mut options = RunOptions::try_from(run_args)?;
            options.display.quiet = quiet;
            // Sequential calls: the current-thread runtime costs about half the CPU per call.
            current_thread()?.block_on(commands::run::run(options))
        }
        args::Command::Check(check) => {
            let vars = crate::session::vars::ExtraVars::load(
                &key_values(&check.vars.vars)?,
                &check.vars.vars_file,
            )?;
            commands::check::run(&CheckOptions {
                playbooks: check.playbooks,
                vars,
                selection: check.select.into(),
                live: check.live.into(),
                color: color(),
                format: match check.format {
                    args::CheckFormatArg::Human => commands::check::CheckFormat::Human,
                    args::CheckFormatArg::Github => commands::check::CheckFormat::Github,
                    args::CheckFormatArg::Json => commands::check::CheckFormat::Json,
                },
            })
        }
        args::Command::Plan(plan) => commands::plan::run(&commands::plan::PlanOptions {
            vars: key_values(&plan.vars.vars)?,
            vars_files: plan.vars.vars_file,
            playbook: plan.playbook,
            sim: plan.sim,
            start: plan.start,
            meeting_start: plan.meeting_start,
            selection: plan.select.into(),
            format: match plan.format {
                args::PlanFormatArg::Table => commands::plan::PlanFormat::Table,
                args::PlanFormatArg::Json => commands::plan::PlanFormat::Json,
            },
            live: plan.live.into(),
        }),
        args::Command::Status(status) => {
            let options = commands::status::StatusOptions::try_from(status)?;
            current_thread()?.block_on(commands::status::run(options))
        }
        args::Command::Watch(watch) => {
            let options = commands::watch::WatchOptions {
                endpoint: watch.target.endpoint.clone(),
                allow_insecure_http: watch.target.allow_insecure_http,
                which: watch.target.try_into()?,
                format: watch.format.into(),
                count: watch.count,
            };
            current_thread()?.block_on(commands::watch::run(options))
        }
        args::Command::Report {
            journal,
            reports,
            state_dir,
        } => commands::report::run(&journal, &reports, state_dir.as_deref()),
        args::Command::Schedule {
            file,
            print_crontab,
            cron_flavour,
            system_zone,
            print_systemd,
            next,
            log_format,
        } => {
            let options = commands::schedule::ScheduleOptions {
                file,
                print_crontab,
                cron_flavour: match cron_flavour {
                    args::CronFlavourArg::Cronie => crate::schedule::CronFlavour::Cronie,
                    args::CronFlavourArg::Debian => crate::schedule::CronFlavour::Debian,
                },
                system_zone,
                print_systemd,
                next,
                log_format: log_format.into(),
            };
            current_thread()?.block_on(commands::schedule::run(options))
        }
        args::Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Args as clap::CommandFactory>::command(),
                "emcee",
                &mut out,
            );
            crate::output::print_out(&String::from_utf8_lossy(&out))?;
            Ok(ExitCode::Success)
        }
        args::Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Args as clap::CommandFactory>::command())
                .render(&mut out)
                .map_err(|e| Error::io("cannot render the man page", e))?;
            crate::output::print_out(&String::from_utf8_lossy(&out))?;
            Ok(ExitCode::Success)
        }
        args::Command::Actions { name } => {
            crate::output::print_out(&commands::actions::text(name.as_deref())?)?;
            Ok(ExitCode::Success)
        }
        args::Command::Schema { report, schedule } => {
            crate::output::print_out(&if report {
                crate::report::report_schema()
            } else if schedule {
                crate::schedule::schema()
            } else {
                commands::schema::text()
            })?;
            Ok(ExitCode::Success)
        }
        args::Command::Cue(cue) => {
            let options = commands::cue::CueOptions::try_from(cue)?;
            current_thread()?.block_on(commands::cue::run(options))
        }
        args::Command::Console(console) => {
            // Refused before anything else: no run is looked for without a terminal.
            crate::console::need_terminal()?;
            current_thread()?.block_on(commands::console::run(commands::console::ConsoleOptions {
                meeting: console.meeting,
                endpoint: console.endpoint,
                state_dir: console.state_dir,
                run: console.run_id,
            }))
        }
        args::Command::Sim(sim_args) => {
            multi_thread()?.block_on(commands::sim::serve(sim_args.into()))?;
            Ok(ExitCode::Success)
        }
    }
}

fn exit_code(code: ExitCode) -> std::process::ExitCode {
    std::process::ExitCode::from(u8::try_from(code.code()).unwrap_or(1))
}

fn multi_thread() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the async runtime", e))
}

fn current_thread() -> Result<tokio::runtime::Runtime, Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the async runtime", e))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Args;

    /// The error clap gives for `emcee ARGS`, or `None` when it accepts them.
    fn refusal(args: &[&str]) -> Option<String> {
        let argv = std::iter::once("emcee").chain(args.iter().copied());
        Args::try_parse_from(argv).err().map(|e| e.to_string())
    }

    #[test]
    fn rehearsal_flags_need_sim() {
        for flag in [
            &["--fast-forward"][..],
            &["--sim-requests", "log.json"],
            &["--start", "09:50"],
        ] {
            let args: Vec<&str> = ["run", "p.yaml"].iter().chain(flag).copied().collect();
            let error = refusal(&args).unwrap_or_else(|| panic!("{flag:?} without --sim"));
            assert!(
                error.contains("required arguments were not provided"),
                "{error}"
            );
            let with_sim: Vec<&str> = args.iter().copied().chain(["--sim"]).collect();
            assert_eq!(refusal(&with_sim), None, "{flag:?} with --sim");
        }
        let error = refusal(&["run", "p.yaml", "--sim", "--endpoint", "https://x"]).unwrap();
        assert!(error.contains("cannot be used with"), "{error}");
    }

    #[test]
    fn a_resumed_run_starts_where_it_stopped_not_at_start_at() {
        let error = refusal(&["run", "p.yaml", "--resume", "last", "--start-at", "3"]).unwrap();
        assert!(error.contains("cannot be used with"), "{error}");
        assert_eq!(refusal(&["run", "p.yaml", "--resume", "last"]), None);
        assert_eq!(refusal(&["run", "p.yaml", "--start-at", "3"]), None);
    }

    #[test]
    fn log_lines_keep_one_line_and_their_colours() {
        // The logging layer has escaped the value's ESC already; what is left is its
        // colour codes, and the line breaks and bidi controls of the value.
        let line = "\x1b[2mWARN\x1b[0m joined: Eve\\x1b[2J\r\nfake line\u{202e}x\n";
        assert_eq!(
            super::log_line(line),
            "\x1b[2mWARN\x1b[0m joined: Eve\\x1b[2J\\u{d}\\u{a}fake line\\u{202e}x\n"
        );
    }
}
