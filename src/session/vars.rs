//! Template variables: where each comes from, and which source wins. Every command
//! (`run`, `plan`, `check`) takes its variables from here, and the executor and the
//! planner scope includes with [`crate::playbook::scope::IncludeScope`], so the
//! precedence is decided in one place. Lowest first:
//!
//! 1. the playbook's `vars:` (each may use those before it);
//! 2. `--vars-file FILE`, later files over earlier ones;
//! 3. an included file's default `vars:`, for its steps;
//! 4. the include's own `vars:`, for its steps;
//! 5. `-e`, later over earlier.
//!
//! `item`, `loop`, registered results and `set` values belong to the run. `-e` may
//! not name them: a value from the command line that the run silently replaced, or
//! that hid what a step registered, would be worse than an error.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value as Json;

use crate::error::{Diagnostic, Error};
use crate::node::Node;
use crate::playbook::{KnownVars, Playbook, Step};
use crate::source::SourceFile;
use crate::template::{Context, Engine};
use crate::yaml::Spanned;

/// Names only a loop sets.
pub(crate) const RESERVED: &[&str] = &["item", "loop"];

/// Parses one `-e`: `KEY=VALUE` gives the string VALUE exactly as typed, and
/// `KEY:=YAML` a typed value (`n:=3`, `panel:=[Bob Li, Carol Wu]`, `on:=true`).
pub(crate) fn parse_cli(arg: &str) -> Result<(String, Json), Error> {
    let usage = |why: &str| Error::Usage(format!("-e {arg}: {why}"));
    let Some((key, value)) = arg.split_once('=') else {
        return Err(usage(
            "write KEY=VALUE for a string, or KEY:=YAML for a typed value",
        ));
    };
    let (name, typed) = match key.strip_suffix(':') {
        Some(name) => (name.trim(), true),
        None => (key.trim(), false),
    };
    check_name(name).map_err(|why| usage(&why))?;
    let value = if typed {
        let file = SourceFile::new(format!("-e {name}:="), value);
        crate::yaml::parse::<Json>(&file)?
    } else {
        Json::String(value.to_owned())
    };
    Ok((name.to_owned(), value))
}

/// Whether `-e` (or a schedule job's `vars`) may set `name`.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let identifier = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !identifier {
        return Err(
            "the name must be letters, digits and underscores, starting with a letter".into(),
        );
    }
    if RESERVED.contains(&name) {
        return Err(format!(
            "`{name}` is set by `loop` for each item; -e cannot set it"
        ));
    }
    Ok(())
}

/// A `--vars-file`: a YAML map of names to values.
pub(crate) fn read_file(path: &Path) -> Result<Vec<(String, Json)>, Error> {
    let file = SourceFile::read(path)?;
    let value: Spanned<Node> = crate::yaml::parse(&file)?;
    match value.value {
        Node::Map(map) => Ok(map.into_iter().map(|(k, v)| (k, v.to_json())).collect()),
        other => Err(Diagnostic::new(
            &file,
            value.pos.span(&file),
            format!(
                "a vars file is a map of names to values, not {}",
                other.kind()
            ),
        )
        .into()),
    }
}

/// The variables given outside the playbook.
#[derive(Debug, Clone, Default)]
pub(crate) struct ExtraVars {
    /// From `--vars-file`, in order.
    pub files: Vec<(String, Json)>,
    /// From `-e`, in order.
    pub cli: Vec<(String, Json)>,
}

impl ExtraVars {
    /// `-e` values already parsed (see [`parse_cli`]) and the vars files to read.
    pub(crate) fn load(cli: &[(String, Json)], files: &[PathBuf]) -> Result<ExtraVars, Error> {
        let mut read = Vec::new();
        for file in files {
            read.extend(read_file(file)?);
        }
        Ok(ExtraVars {
            files: read,
            cli: cli.to_vec(),
        })
    }

    /// Every name given outside the playbook.
    pub(crate) fn names(&self) -> BTreeSet<String> {
        self.files
            .iter()
            .chain(&self.cli)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The checks a playbook must pass before it runs with these variables: the
    /// playbook's own, and no `-e` naming what a step registers or `set`s.
    pub(crate) fn check(&self, playbook: &Playbook) -> Vec<Diagnostic> {
        let mut problems = crate::playbook::check(playbook, &KnownVars(self.names()));
        let pinned: BTreeSet<&str> = self.cli.iter().map(|(k, _)| k.as_str()).collect();
        if !pinned.is_empty() {
            shadowed(&playbook.file, &playbook.doc.steps, &pinned, &mut problems);
            for scene in playbook.doc.scenes.values() {
                shadowed(&playbook.file, scene, &pinned, &mut problems);
            }
        }
        problems
    }

    /// The variables in scope at the start of a run.
    pub(crate) fn prepare(&self, playbook: &Playbook, engine: &Engine) -> Result<Context, Error> {
        let mut vars = Context::new();
        for (name, value) in &self.files {
            vars.set(name.clone(), value.clone());
        }
        for (name, value) in &self.cli {
            vars.set(name.clone(), value.clone());
            vars.pin(name);
        }
        // A playbook var given outside is not rendered at all: its template may need
        // something only the outside value was meant to replace.
        let outside = self.names();
        for (name, node) in &playbook.doc.vars {
            if outside.contains(name) {
                continue;
            }
            let value = engine.render_node(node, &vars).map_err(|e| {
                Error::from(Diagnostic::new(
                    &playbook.file,
                    e.pos.span(&playbook.file),
                    e.message,
                ))
            })?;
            vars.set(name.clone(), value);
        }
        Ok(vars)
    }
}

/// Reports each step under `steps` (from `file`) that registers or `set`s a name given
/// with `-e`.
fn shadowed(
    file: &Arc<SourceFile>,
    steps: &[Spanned<Step>],
    pinned: &BTreeSet<&str>,
    problems: &mut Vec<Diagnostic>,
) {
    let help = "-e cannot set what the run itself sets; rename the variable or the result";
    for step in steps {
        if let Some(register) = &step.register
            && pinned.contains(register.value.as_str())
        {
            problems.push(
                Diagnostic::new(
                    file,
                    register.pos.span(file),
                    format!(
                        "`-e {}` names the result this step registers",
                        register.value
                    ),
                )
                .with_help(help),
            );
        }
        for (name, args) in &step.actions {
            if name.value == "set"
                && let Node::Map(map) = &args.value
            {
                for (key, value) in map {
                    if pinned.contains(key.as_str()) {
                        problems.push(
                            Diagnostic::new(
                                file,
                                value.pos.span(file),
                                format!("`-e {key}` names a variable this step sets"),
                            )
                            .with_help(help),
                        );
                    }
                }
            }
        }
        let inner = step.included.as_ref().map_or(file, |i| &i.file);
        if let Some(list) = &step.steps {
            shadowed(inner, list, pinned, problems);
        }
        for list in [&step.rescue, &step.always].into_iter().flatten() {
            shadowed(file, list, pinned, problems);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::playbook::scope::tests::{included, scoped};
    use crate::secrets::Secrets;
    use serde_json::json;

    fn engine() -> Engine {
        Engine::new(Secrets::new(false), SystemClock::shared())
    }

    fn playbook(text: &str) -> Playbook {
        Playbook::parse(SourceFile::new("p.yaml", text)).unwrap()
    }

    const PLAYBOOK: &str = "name: p\nmeeting: { id: \"914044873\", token: t }\nvars:\n  who: playbook\n  greeting: \"Hi {{ who }}\"\nsteps:\n  - log: \"{{ greeting }}\"\n";

    fn cli(args: &[&str]) -> Vec<(String, Json)> {
        args.iter().map(|a| parse_cli(a).unwrap()).collect()
    }

    #[test]
    fn cli_values_are_strings_as_typed() {
        assert_eq!(
            parse_cli("conference_id=012345678").unwrap(),
            ("conference_id".into(), json!("012345678"))
        );
        assert_eq!(
            parse_cli("ceo=Dr. Alice: CEO").unwrap().1,
            json!("Dr. Alice: CEO")
        );
        assert_eq!(parse_cli("n=3").unwrap().1, json!("3"));
        assert_eq!(parse_cli("eq=a=b").unwrap().1, json!("a=b"));
        assert_eq!(parse_cli("empty=").unwrap().1, json!(""));
    }

    #[test]
    fn typed_cli_values_are_yaml() {
        assert_eq!(parse_cli("n:=3").unwrap(), ("n".into(), json!(3)));
        assert_eq!(
            parse_cli("panel:=[Bob Li, Carol Wu]").unwrap().1,
            json!(["Bob Li", "Carol Wu"])
        );
        assert_eq!(parse_cli("on:=true").unwrap().1, json!(true));
        assert_eq!(parse_cli("id:=\"012\"").unwrap().1, json!("012"));
        assert!(matches!(parse_cli("bad:=[a, "), Err(Error::Invalid(_))));
    }

    #[test]
    fn cli_names_are_checked() {
        for arg in ["novalue", "=x", "two words=x", "1st=x", "item=x", "loop:=1"] {
            assert!(
                matches!(parse_cli(arg), Err(Error::Usage(_))),
                "{arg} accepted"
            );
        }
    }

    #[test]
    fn level_1_playbook_vars_render_in_order() {
        let vars = ExtraVars::default()
            .prepare(&playbook(PLAYBOOK), &engine())
            .unwrap();
        assert_eq!(vars.get("greeting"), Some(&json!("Hi playbook")));
    }

    #[test]
    fn level_2_vars_files_beat_the_playbook_and_later_files_earlier_ones() {
        let extra = ExtraVars {
            files: vec![
                ("who".into(), json!("first")),
                ("who".into(), json!("file")),
            ],
            cli: Vec::new(),
        };
        let vars = extra.prepare(&playbook(PLAYBOOK), &engine()).unwrap();
        assert_eq!(vars.get("who"), Some(&json!("file")));
        assert_eq!(vars.get("greeting"), Some(&json!("Hi file")));
    }

    #[test]
    fn level_5_cli_beats_files_and_playbook_and_later_cli_earlier() {
        let extra = ExtraVars {
            files: vec![("who".into(), json!("file"))],
            cli: cli(&["who=first", "who=cli"]),
        };
        let vars = extra.prepare(&playbook(PLAYBOOK), &engine()).unwrap();
        assert_eq!(vars.get("who"), Some(&json!("cli")));
        assert_eq!(vars.get("greeting"), Some(&json!("Hi cli")));
        assert!(vars.is_pinned("who") && !vars.is_pinned("greeting"));
    }

    #[test]
    fn cli_beats_include_defaults_and_include_site_vars() {
        let extra = ExtraVars {
            files: Vec::new(),
            cli: cli(&["who=cli", "other=cli too"]),
        };
        let mut vars = extra.prepare(&playbook(PLAYBOOK), &engine()).unwrap();
        let inside = scoped(
            &included(&[("who", "site")], &[("other", "default")]),
            &mut vars,
        );
        assert_eq!(inside.get("who"), Some(&json!("cli")));
        assert_eq!(inside.get("other"), Some(&json!("cli too")));
    }

    #[test]
    fn cli_may_not_name_registered_or_set_results() {
        let p = playbook(
            "name: p\nmeeting: { id: \"914044873\", token: t }\nsteps:\n  - participants: {}\n    register: people\n  - set: { count: 3 }\n  - log: \"{{ people }} {{ count }}\"\n",
        );
        let extra = ExtraVars {
            files: vec![("people".into(), json!("from a file is fine"))],
            cli: Vec::new(),
        };
        assert!(extra.check(&p).is_empty());
        let extra = ExtraVars {
            files: Vec::new(),
            cli: cli(&["people=x", "count:=1"]),
        };
        let problems = extra.check(&p);
        let messages: Vec<String> = problems.iter().map(|d| d.position()).collect();
        assert_eq!(messages, ["p.yaml:5:15", "p.yaml:6:19"], "{problems:?}");
    }
}
