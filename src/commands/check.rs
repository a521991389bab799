//! `emcee check PATH...`: parse, type-check, template-check and lint without
//! contacting anything; every problem in every file is reported, for a person, as
//! GitHub annotations, or as JSON. With `--live` (and only then) each sound
//! playbook's meeting is looked at, read only, to check its selectors.
//!
//! A directory stands for the `*.yaml` and `*.yml` files under it. Of those, a file
//! with `meeting:` is a playbook; a file a checked playbook includes is checked
//! through it (with the variables it is given); any other is a fragment, checked on
//! its own with its variables taken as given by includers elsewhere.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::{Diagnostic, Error, ExitCode};
use crate::node::Node;
use crate::playbook::{self, Playbook};
use crate::source::SourceFile;

#[derive(Debug, Clone, Default)]
pub(crate) struct CheckOptions {
    /// Files and directories.
    pub playbooks: Vec<PathBuf>,
    /// Variables given outside the playbooks (`-e`, `--vars-file`).
    pub vars: crate::session::ExtraVars,
    /// Tags and `--start-at` to check against each playbook.
    pub selection: crate::playbook::select::Selection,
    pub color: bool,
    pub format: CheckFormat,
    /// `--live`: each sound playbook's selectors checked against its live meeting.
    pub live: Option<crate::session::live::LiveOptions>,
}

/// How problems are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum CheckFormat {
    /// Each problem with its source line and a caret, on standard error; `ok:` lines
    /// for good files on standard output.
    #[default]
    Human,
    /// GitHub Actions workflow commands on standard output, one `::error` per problem.
    Github,
    /// One JSON document on standard output: see [`json_report`].
    Json,
}

/// What one file came to.
struct Outcome {
    /// Where the file comes in the order named and found.
    order: usize,
    path: PathBuf,
    /// How it was checked: "playbook" or "fragment".
    kind: &'static str,
    steps: usize,
    problems: Vec<Diagnostic>,
    /// Not problems, but worth a look: fan-outs whose own `timeout` is shorter than the
    /// rate limit lets them take; with `--live`, selectors the meeting does not bear out.
    warnings: Vec<String>,
    /// With `--live`: why the playbook's meeting could not be looked at (exit 3).
    unreachable: Option<String>,
}

/// Checks each file; writes problems and good files in the chosen format. Exit 0 when
/// every file is sound, 2 when any has a problem.
pub(crate) fn run(options: &CheckOptions) -> Result<ExitCode, Error> {
    let known = playbook::KnownVars(options.vars.names());
    let (named, found) = expand(&options.playbooks)?;
    let live = match &options.live {
        Some(live) => Some((live.endpoint()?, crate::session::live::runtime()?)),
        None => None,
    };
    let mut outcomes = Vec::new();
    // Playbooks first: what they include is known once they are loaded.
    let mut included: BTreeSet<PathBuf> = BTreeSet::new();
    let mut fragments = Vec::new();
    let paths = named
        .into_iter()
        .map(|p| (p, true))
        .chain(found.into_iter().map(|p| (p, false)));
    for (order, (path, explicit)) in paths.enumerate() {
        if !explicit && !has_meeting(&path) {
            fragments.push((order, path));
            continue;
        }
        let outcome = match Playbook::load_all(&path) {
            Ok((loaded, mut problems)) => {
                for step in loaded.walk() {
                    if let Some(inclusion) = &step.included
                        && let Ok(canonical) = std::fs::canonicalize(inclusion.file.name())
                    {
                        included.insert(canonical);
                    }
                }
                problems.extend(options.vars.check(&loaded));
                in_file_order(&mut problems);
                if problems.is_empty()
                    && let Err(error) = options.selection.validate(&loaded)
                {
                    problems.extend(diagnostics(error)?);
                }
                let mut warnings = if problems.is_empty() {
                    crate::plan::timeline::crowd::short_fan_out_timeouts(&loaded)
                } else {
                    Vec::new()
                };
                let steps = loaded.walk().len();
                let mut unreachable = None;
                if let Some((endpoint, runtime)) = &live
                    && problems.is_empty()
                {
                    let prepared = crate::session::live::prepared(loaded, options.vars.clone());
                    let checked = prepared.and_then(|prepared| {
                        runtime.block_on(crate::session::live::check_playbook(
                            &prepared,
                            endpoint,
                            &options.selection,
                        ))
                    });
                    match checked {
                        Ok(checked) => warnings.extend(checked.lines(&path.display().to_string())),
                        Err(Error::Unreachable(why)) => {
                            unreachable = Some(crate::secrets::redact_all(&why));
                        }
                        Err(other) => problems.extend(diagnostics(other)?),
                    }
                }
                Outcome {
                    order,
                    path,
                    kind: "playbook",
                    steps,
                    problems,
                    warnings,
                    unreachable,
                }
            }
            Err(error) => Outcome {
                order,
                path,
                kind: "playbook",
                steps: 0,
                problems: diagnostics(error)?,
                warnings: Vec::new(),
                unreachable: None,
            },
        };
        outcomes.push(outcome);
    }
    for (order, path) in fragments {
        if std::fs::canonicalize(&path).is_ok_and(|c| included.contains(&c)) {
            continue;
        }
        let outcome = match Playbook::fragment(&path) {
            Ok((loaded, mut problems)) => {
                problems.extend(playbook::check_fragment(&loaded, &known));
                in_file_order(&mut problems);
                // The stand-in's include step is not one of the fragment's.
                Outcome {
                    order,
                    path,
                    kind: "fragment",
                    steps: loaded.walk().len().saturating_sub(1),
                    problems,
                    warnings: Vec::new(),
                    unreachable: None,
                }
            }
            Err(error) => Outcome {
                order,
                path,
                kind: "fragment",
                steps: 0,
                problems: diagnostics(error)?,
                warnings: Vec::new(),
                unreachable: None,
            },
        };
        outcomes.push(outcome);
    }
    outcomes.sort_by_key(|o| o.order);
    let failed = outcomes.iter().filter(|o| !o.problems.is_empty()).count();
    match options.format {
        CheckFormat::Human => human(&outcomes, failed, options.color)?,
        CheckFormat::Github => {
            let mut out = String::new();
            for outcome in &outcomes {
                for problem in &outcome.problems {
                    out.push_str(&github_annotation(problem));
                    out.push('\n');
                }
                for warning in &outcome.warnings {
                    out.push_str(&format!(
                        "::warning file={},title=emcee check::{}\n",
                        outcome.path.display().to_string().replace(',', "%2C"),
                        warning.replace('%', "%25").replace('\n', "%0A")
                    ));
                }
                if let Some(why) = &outcome.unreachable {
                    out.push_str(&format!(
                        "::error file={},title=emcee check::{}\n",
                        outcome.path.display().to_string().replace(',', "%2C"),
                        why.replace('%', "%25").replace('\n', "%0A")
                    ));
                }
            }
            crate::output::print_out(&out)?;
        }
        CheckFormat::Json => {
            let mut text = serde_json::to_string_pretty(&json_report(&outcomes))
                .map_err(|e| Error::Failed(e.to_string()))?;
            text.push('\n');
            crate::output::print_out(&text)?;
        }
    }
    let unreachable = outcomes.iter().any(|o| o.unreachable.is_some());
    // A playbook unfit to run matters more than a meeting that cannot be looked at.
    Ok(if failed > 0 {
        ExitCode::Invalid
    } else if unreachable {
        ExitCode::Unreachable
    } else {
        ExitCode::Success
    })
}

/// Problems the loader read past and those the checker found, by file and position.
fn in_file_order(problems: &mut [Diagnostic]) {
    problems.sort_by(|a, b| (a.file.name(), a.span.offset).cmp(&(b.file.name(), b.span.offset)));
}

/// The problems of an error that concerns the file; any other error stops the command.
fn diagnostics(error: Error) -> Result<Vec<Diagnostic>, Error> {
    match error {
        Error::Invalid(problems) => Ok(problems),
        other => Err(other),
    }
}

fn human(outcomes: &[Outcome], failed: usize, color: bool) -> Result<(), Error> {
    for outcome in outcomes {
        for warning in &outcome.warnings {
            eprintln!("warning: {}", crate::printable::printable(warning));
        }
        if let Some(why) = &outcome.unreachable {
            eprintln!(
                "error: {}: {}",
                outcome.path.display(),
                crate::printable::printable(why)
            );
        }
        if outcome.problems.is_empty() {
            let kind = if outcome.kind == "fragment" {
                ", a fragment"
            } else {
                ""
            };
            crate::output::print_out(&format!(
                "ok: {} ({} steps{kind})\n",
                outcome.path.display(),
                outcome.steps
            ))?;
        } else {
            eprint!("{}", Error::Invalid(outcome.problems.clone()).render(color));
        }
    }
    if failed > 0 && outcomes.len() > 1 {
        eprintln!("{failed} of {} files have problems", outcomes.len());
    }
    Ok(())
}

/// The files named, and those found under the directories named, in a fixed order:
/// each directory's entries by name. Hidden files and directories are skipped, and
/// symbolic links to directories are not followed, so a link loop cannot hang it.
fn expand(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<PathBuf>), Error> {
    let mut named = Vec::new();
    let mut found = Vec::new();
    for path in paths {
        if !path.is_dir() {
            named.push(path.clone());
            continue;
        }
        let walk = walkdir::WalkDir::new(path)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| entry.depth() == 0 || !is_hidden(entry.path()));
        for entry in walk {
            let entry = entry.map_err(|e| {
                Error::io(
                    format!("cannot read {}", path.display()),
                    std::io::Error::other(e.to_string()),
                )
            })?;
            let is_yaml = entry
                .path()
                .extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml");
            // A link to a file counts; a link to a directory is not entered.
            if is_yaml && entry.path().is_file() {
                found.push(entry.into_path());
            }
        }
    }
    Ok((named, found))
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with('.'))
}

/// Whether a file's top level has `meeting:`, which makes it a playbook. A file that
/// cannot be read or parsed is taken for one, to be reported as one.
fn has_meeting(path: &Path) -> bool {
    let Ok(file) = SourceFile::read(path) else {
        return true;
    };
    match crate::yaml::parse::<Node>(&file) {
        Ok(Node::Map(map)) => map.contains_key("meeting"),
        Ok(_) => false,
        Err(_) => true,
    }
}

/// Where a problem starts and ends: 1-based lines and character columns, the end
/// exclusive.
fn range(problem: &Diagnostic) -> ((usize, usize), (usize, usize)) {
    let file = &problem.file;
    (
        file.line_col(problem.span.offset),
        file.line_col(problem.span.offset + problem.span.len),
    )
}

/// `::error file=F,line=L,col=C,endLine=L,endColumn=C,title=emcee check::message`,
/// escaped as GitHub's workflow commands require; the help follows on a line of its own.
pub(crate) fn github_annotation(problem: &Diagnostic) -> String {
    fn data(text: &str) -> String {
        text.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    fn property(text: &str) -> String {
        data(text).replace(':', "%3A").replace(',', "%2C")
    }
    let ((line, column), (end_line, end_column)) = range(problem);
    let mut message = crate::printable::printable(&problem.message).into_owned();
    if let Some(help) = &problem.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    format!(
        "::error file={},line={line},col={column},endLine={end_line},endColumn={end_column},title={}::{}",
        property(problem.file.name()),
        property("emcee check"),
        data(&message),
    )
}

/// The `--format json` document, stable for tools to read:
/// `{"files": [{"file", "kind", "steps", "ok", "warnings", "unreachable"}], "problems":
/// [{"file", "line", "column", "end": {"line", "column"}, "severity", "message",
/// "help"}]}`. Lines and
/// columns are 1-based, columns count characters, `end` is exclusive, `severity` is
/// "error", and `help` is null when there is none. `kind` is "playbook" or "fragment".
/// `unreachable` is why `--live` could not look at the playbook's meeting, or null.
fn json_report(outcomes: &[Outcome]) -> serde_json::Value {
    let files: Vec<_> = outcomes
        .iter()
        .map(|o| {
            serde_json::json!({
                "file": o.path.display().to_string(),
                "kind": o.kind,
                "steps": o.steps,
                "ok": o.problems.is_empty(),
                "warnings": o.warnings,
                "unreachable": o.unreachable,
            })
        })
        .collect();
    let problems: Vec<_> = outcomes
        .iter()
        .flat_map(|o| &o.problems)
        .map(|problem| {
            let ((line, column), (end_line, end_column)) = range(problem);
            serde_json::json!({
                "file": problem.file.name(),
                "line": line,
                "column": column,
                "end": {"line": end_line, "column": end_column},
                "severity": "error",
                "message": problem.message,
                "help": problem.help,
            })
        })
        .collect();
    serde_json::json!({"files": files, "problems": problems})
}
