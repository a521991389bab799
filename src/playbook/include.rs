//! `include: FILE`: steps kept in another file, with `vars`. Includes are resolved when
//! the playbook is loaded: each becomes a block that remembers the file its steps came
//! from (so every message about them points into that file) and the variables it sets.
//! Paths are relative to the including file; a cycle is an error showing the chain.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde::Deserialize;

use super::step::Step;
use crate::error::{Diagnostic, Error};
use crate::node::Node;
use crate::source::SourceFile;
use crate::yaml::{self, Spanned};

/// What an include brought in.
#[derive(Debug, Clone)]
pub struct Included {
    /// The file the steps came from.
    pub file: Arc<SourceFile>,
    /// The include's own `vars`, written in the including file.
    pub given: IndexMap<String, Spanned<Node>>,
    /// The included file's default `vars`, for those the include does not give.
    pub defaults: IndexMap<String, Spanned<Node>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IncludedMap {
    #[serde(default)]
    #[allow(dead_code)]
    name: Option<String>,
    #[serde(default)]
    vars: IndexMap<String, Spanned<Node>>,
    steps: Vec<Spanned<Step>>,
}

/// The include step's argument: a path, or `{file, vars}`.
struct Spec {
    path: Spanned<String>,
    vars: IndexMap<String, Spanned<Node>>,
}

fn spec(file: &Arc<SourceFile>, args: &Spanned<Node>) -> Result<Spec, Diagnostic> {
    match &args.value {
        Node::Str(path) => Ok(Spec {
            path: Spanned::new(path.clone(), args.pos),
            vars: IndexMap::new(),
        }),
        Node::Map(map) => {
            let mut path = None;
            let mut vars = IndexMap::new();
            for (key, value) in map {
                match (key.as_str(), &value.value) {
                    ("file", Node::Str(text)) => path = Some(Spanned::new(text.clone(), value.pos)),
                    ("vars", Node::Map(given)) => vars = given.clone(),
                    ("file" | "vars", other) => {
                        return Err(Diagnostic::new(
                            file,
                            value.pos.span(file),
                            format!("include: `{key}` cannot be {}", other.kind()),
                        ));
                    }
                    (other, _) => {
                        return Err(Diagnostic::new(
                            file,
                            value.pos.span(file),
                            format!("include: unknown key `{other}`"),
                        )
                        .with_help("an include takes `file` and `vars`"));
                    }
                }
            }
            let path = path.ok_or_else(|| {
                Diagnostic::new(file, args.pos.span(file), "include: `file` is missing").with_help(
                    "write `include: other.yaml` or `include: { file: other.yaml, vars: {...} }`",
                )
            })?;
            Ok(Spec { path, vars })
        }
        other => Err(Diagnostic::new(
            file,
            args.pos.span(file),
            format!("include takes a file name, not {}", other.kind()),
        )),
    }
}

/// Resolves every include under `steps`, which came from `file`. `chain` holds the
/// files being included, outermost first, to find cycles.
pub fn resolve(
    steps: &mut [Spanned<Step>],
    file: &Arc<SourceFile>,
    chain: &mut Vec<(PathBuf, String)>,
) -> Result<(), Error> {
    let mut problems = Vec::new();
    for step in steps.iter_mut() {
        if let Err(error) = resolve_step(step, file, chain) {
            match error {
                Error::Invalid(found) => problems.extend(found),
                other => return Err(other),
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(problems))
    }
}

fn resolve_step(
    step: &mut Spanned<Step>,
    file: &Arc<SourceFile>,
    chain: &mut Vec<(PathBuf, String)>,
) -> Result<(), Error> {
    for list in [
        &mut step.value.steps,
        &mut step.value.rescue,
        &mut step.value.always,
    ]
    .into_iter()
    .flatten()
    {
        resolve(&mut list.value, file, chain)?;
    }
    let Some(index) = step
        .actions
        .iter()
        .position(|(name, _)| name.value == "include")
    else {
        return Ok(());
    };
    if step.actions.len() > 1 || step.steps.is_some() {
        // The checker reports a step with two actions, or an action and a block.
        return Ok(());
    }
    let (name, args) = step.value.actions.remove(index);
    let spec = spec(file, &args)?;
    let base = Path::new(file.name()).parent().unwrap_or(Path::new(""));
    let path = base.join(&spec.path.value);
    let canonical = std::fs::canonicalize(&path).map_err(|e| {
        Diagnostic::new(
            file,
            spec.path.pos.span(file),
            format!("cannot include {}: {e}", path.display()),
        )
    })?;
    if let Some(start) = chain.iter().position(|(p, _)| *p == canonical) {
        let mut names: Vec<String> = chain[start..]
            .iter()
            .map(|(_, name)| name.clone())
            .collect();
        names.push(path.display().to_string());
        return Err(Diagnostic::new(
            file,
            spec.path.pos.span(file),
            format!("include cycle: {}", names.join(" → ")),
        )
        .with_help("a file cannot include itself, directly or through others")
        .into());
    }
    let included = SourceFile::new(
        path.display().to_string(),
        std::fs::read_to_string(&path).map_err(|e| {
            Diagnostic::new(
                file,
                spec.path.pos.span(file),
                format!("cannot read {}: {e}", path.display()),
            )
        })?,
    );
    // A list of steps, or a map with `steps` and default `vars`: look first, then read
    // as that (an untagged enum would lose the positions).
    let shape: Spanned<Node> = yaml::parse(&included)?;
    let (mut steps, defaults) = match shape.value {
        Node::Seq(_) => (
            yaml::parse::<Vec<Spanned<Step>>>(&included)?,
            IndexMap::new(),
        ),
        Node::Map(_) => {
            let map: IncludedMap = yaml::parse(&included)?;
            (map.steps, map.vars)
        }
        other => {
            return Err(Diagnostic::new(
                &included,
                shape.pos.span(&included),
                format!(
                    "an included file is a list of steps, or a map with `steps`; this is {}",
                    other.kind()
                ),
            )
            .into());
        }
    };
    chain.push((canonical, path.display().to_string()));
    let result = resolve(&mut steps, &included, chain);
    chain.pop();
    result?;
    step.value.steps = Some(Spanned::new(steps, name.pos));
    step.value.included = Some(Included {
        file: included,
        given: spec.vars,
        defaults,
    });
    Ok(())
}
