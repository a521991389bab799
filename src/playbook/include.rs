//! `include: FILE`: steps kept in another file, with `vars`. Includes are resolved when
//! the playbook is loaded: each becomes a block that remembers the file its steps came
//! from (so every message about them points into that file) and the variables it sets.
//! Paths are relative to the including file; a cycle is an error showing the chain.
//! Resolving is bounded: in the depth of includes and of blocks, in the steps and in
//! the bytes all inclusions add up to, so that files which include each other many
//! times over cannot multiply without end.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde::Deserialize;

use super::step::Included;
use super::step::Step;
use crate::error::{Diagnostic, Error};
use crate::node::Node;
use crate::source::SourceFile;
use crate::yaml::{self, Pos, Spanned};

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

/// Most steps a playbook may hold once its includes are resolved: files that include
/// others several times multiply, and 19 two-line files would otherwise make 786,431.
pub(crate) const MAX_STEPS: usize = 50_000;
/// Most files one include may go through, the playbook itself not counted.
pub(crate) const MAX_INCLUDE_DEPTH: usize = 16;
/// Most bytes all included files may hold together, a file counted each time it is
/// included: each inclusion is read, parsed, kept and hashed on its own.
pub(crate) const MAX_INCLUDED_BYTES: usize = 64 << 20;
/// Most levels of blocks within blocks, across included files: checking, planning and
/// running recurse once per level.
pub(crate) const MAX_NESTING: usize = 64;

/// The state of resolving one playbook's includes.
pub(crate) struct Resolver {
    /// The files being included, outermost first, to find cycles.
    chain: Vec<(PathBuf, String)>,
    /// Steps met so far, blocks and their contents alike.
    steps: usize,
    /// Blocks the steps being resolved are inside.
    nesting: usize,
    /// Bytes of included files read so far.
    bytes: usize,
    /// A limit passed: resolving stops at once with this.
    over: Option<Diagnostic>,
}

impl Resolver {
    /// For a playbook at `own` (canonical) shown as `name`.
    pub(crate) fn new(own: Option<PathBuf>, name: &str) -> Resolver {
        Resolver {
            chain: own.into_iter().map(|p| (p, name.to_owned())).collect(),
            steps: 0,
            nesting: 0,
            bytes: 0,
            over: None,
        }
    }

    /// Resolves every include under `steps`, which came from `file`, at `at` in it.
    /// Several lists (the playbook's steps, its scenes) share one resolver's limits.
    pub(crate) fn resolve_all(
        &mut self,
        steps: &mut [Spanned<Step>],
        file: &Arc<SourceFile>,
        at: Pos,
    ) -> Result<(), Error> {
        let result = if self.admit(steps.len(), file, at) {
            self.resolve(steps, file)
        } else {
            Ok(())
        };
        match &self.over {
            Some(diagnostic) => Err(diagnostic.clone().into()),
            None => result,
        }
    }

    /// Counts a list of steps at `at` in `file` against the limits; false once over.
    fn admit(&mut self, count: usize, file: &Arc<SourceFile>, at: Pos) -> bool {
        if self.over.is_some() {
            return false;
        }
        self.steps += count;
        let over = if self.steps > MAX_STEPS {
            Some((
                format!(
                    "the playbook has more than {MAX_STEPS} steps once its includes are resolved"
                ),
                "a file included several times adds its steps each time; include fewer, or split the playbook",
            ))
        } else if self.nesting > MAX_NESTING {
            Some((
                format!("blocks are nested more than {MAX_NESTING} deep"),
                "flatten the blocks, or the includes that hold them",
            ))
        } else {
            None
        };
        if let Some((message, help)) = over {
            self.over = Some(Diagnostic::new(file, at.span(file), message).with_help(help));
            return false;
        }
        true
    }

    /// Resolves the includes of steps already admitted.
    fn resolve(
        &mut self,
        steps: &mut [Spanned<Step>],
        file: &Arc<SourceFile>,
    ) -> Result<(), Error> {
        let mut problems = Vec::new();
        for step in steps.iter_mut() {
            if let Err(error) = self.resolve_step(step, file) {
                match error {
                    Error::Invalid(found) => problems.extend(found),
                    other => return Err(other),
                }
            }
            if self.over.is_some() {
                return Ok(());
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(problems))
        }
    }

    fn resolve_step(
        &mut self,
        step: &mut Spanned<Step>,
        file: &Arc<SourceFile>,
    ) -> Result<(), Error> {
        self.nesting += 1;
        let mut result = Ok(());
        for list in [
            &mut step.value.steps,
            &mut step.value.rescue,
            &mut step.value.always,
        ]
        .into_iter()
        .flatten()
        {
            if !self.admit(list.len(), file, list.pos) {
                break;
            }
            result = self.resolve(&mut list.value, file);
            if result.is_err() || self.over.is_some() {
                break;
            }
        }
        let result = result.and_then(|()| self.include(step, file));
        self.nesting -= 1;
        result
    }

    /// Replaces an `include` step with a block of the included file's steps.
    fn include(&mut self, step: &mut Spanned<Step>, file: &Arc<SourceFile>) -> Result<(), Error> {
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
        let at = |message: String| Diagnostic::new(file, spec.path.pos.span(file), message);
        let base = Path::new(file.name()).parent().unwrap_or(Path::new(""));
        let path = base.join(&spec.path.value);
        let canonical = std::fs::canonicalize(&path)
            .map_err(|e| at(format!("cannot include {}: {e}", path.display())))?;
        if let Some(start) = self.chain.iter().position(|(p, _)| *p == canonical) {
            let mut names: Vec<String> = self.chain[start..]
                .iter()
                .map(|(_, name)| name.clone())
                .collect();
            names.push(path.display().to_string());
            return Err(at(format!("include cycle: {}", names.join(" → ")))
                .with_help("a file cannot include itself, directly or through others")
                .into());
        }
        // The playbook itself is the chain's first entry when it has a path.
        let depth = self.chain.len() + usize::from(self.chain.is_empty());
        if depth > MAX_INCLUDE_DEPTH {
            return Err(at(format!(
                "includes are nested more than {MAX_INCLUDE_DEPTH} deep: {} → {}",
                self.chain.first().map_or("", |(_, name)| name.as_str()),
                path.display()
            ))
            .with_help("include the files from fewer levels")
            .into());
        }
        let bytes = crate::source::read_bytes(&path, crate::source::MAX_INPUT_BYTES)
            .map_err(|e| at(format!("cannot read {}: {e}", path.display())))?;
        self.bytes += bytes.len();
        if self.bytes > MAX_INCLUDED_BYTES {
            self.over = Some(
                at(format!(
                    "the included files hold more than {} in all",
                    crate::source::human_bytes(MAX_INCLUDED_BYTES as u64)
                ))
                .with_help("a file included several times counts each time; include fewer"),
            );
            return Ok(());
        }
        let included = SourceFile::from_bytes(path.display().to_string(), bytes)?;
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
        if !self.admit(steps.len(), file, spec.path.pos) {
            return Ok(());
        }
        self.chain.push((canonical, path.display().to_string()));
        let result = self.resolve(&mut steps, &included);
        self.chain.pop();
        result?;
        step.value.steps = Some(Spanned::new(steps, name.pos));
        step.value.included = Some(Included {
            file: included,
            given: spec.vars,
            defaults,
        });
        Ok(())
    }
}
