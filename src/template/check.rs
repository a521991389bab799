//! Checking templates before a run: syntax, variables defined nowhere, filters,
//! tests and functions the engine does not have (minijinja finds those only when a
//! call is reached, in the middle of a run), and templates tried out with the
//! variables known before a run to find those that pass the bounds on work.

use std::collections::BTreeSet;

use minijinja::ErrorKind;
use serde_json::Value as Json;

use super::{Context, Engine, FUNCTIONS, TemplateError, budget, is_template};
use crate::node::Node;
use crate::yaml::{Pos, Spanned};

/// minijinja's filters with the features emcee builds it with, for "did you mean"
/// (the engine is asked whether a filter exists; a test keeps this list true).
pub(super) const FILTERS: &[&str] = &[
    "abs",
    "attr",
    "batch",
    "bool",
    "capitalize",
    "chain",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "format",
    "groupby",
    "indent",
    "int",
    "items",
    "join",
    "last",
    "length",
    "lines",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "pprint",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "safe",
    "select",
    "selectattr",
    "slice",
    "sort",
    "split",
    "string",
    "sum",
    "title",
    "tojson",
    "trim",
    "unique",
    "upper",
    "zip",
];

/// minijinja's tests (`x is defined`), as [`FILTERS`].
pub(super) const TESTS: &[&str] = &[
    "boolean",
    "defined",
    "divisibleby",
    "endingwith",
    "eq",
    "equalto",
    "escaped",
    "even",
    "false",
    "filter",
    "float",
    "ge",
    "greaterthan",
    "gt",
    "in",
    "int",
    "integer",
    "iterable",
    "le",
    "lessthan",
    "lower",
    "lt",
    "mapping",
    "ne",
    "none",
    "number",
    "odd",
    "safe",
    "sameas",
    "sequence",
    "startingwith",
    "string",
    "test",
    "true",
    "undefined",
    "upper",
];

/// The filters, tests and functions a template calls.
#[derive(Debug, Default)]
struct Calls {
    filters: BTreeSet<String>,
    tests: BTreeSet<String>,
    functions: BTreeSet<String>,
}

impl Engine {
    /// What can be known without running: syntax errors, and variables used but
    /// defined nowhere in `known` (names a template or expression could see).
    pub(crate) fn check(
        &self,
        text: &str,
        is_expression: bool,
        pos: Pos,
        known: &BTreeSet<String>,
    ) -> Vec<TemplateError> {
        let names = if is_expression {
            match self.env.compile_expression(text) {
                Ok(expr) => expr.undeclared_variables(false),
                Err(e) => return vec![self.error(e, pos)],
            }
        } else {
            if !is_template(text) {
                return Vec::new();
            }
            match self.env.template_from_str(text) {
                Ok(template) => template.undeclared_variables(false),
                Err(e) => return vec![self.error(e, pos)],
            }
        };
        let calls = self.calls(text, is_expression);
        let mut errors = self.unknown_callables(&calls, pos);
        let mut names: Vec<String> = names.into_iter().collect();
        names.sort();
        for name in names {
            if known.contains(&name) || self.is_global(&name) {
                continue;
            }
            errors.push(if calls.functions.contains(&name) {
                let functions = self.functions();
                let help = match crate::error::did_you_mean(&name, &functions) {
                    Some(candidate) => format!("did you mean `{candidate}`?"),
                    None => format!("the functions are: {}", functions.join(", ")),
                };
                TemplateError {
                    pos,
                    message: format!("unknown function `{name}`"),
                    undefined: None,
                    help: Some(help),
                }
            } else {
                TemplateError {
                    pos,
                    message: format!("undefined variable `{name}`"),
                    undefined: Some(name),
                    help: None,
                }
            });
        }
        errors
    }

    /// Filters and tests a template calls that the engine does not have: minijinja
    /// only finds them when the call is reached, in the middle of a run.
    fn unknown_callables(&self, calls: &Calls, pos: Pos) -> Vec<TemplateError> {
        let mut errors = Vec::new();
        for (kind, names, candidates, known) in [
            ("filter", &calls.filters, FILTERS, ErrorKind::UnknownFilter),
            ("test", &calls.tests, TESTS, ErrorKind::UnknownTest),
        ] {
            for name in names {
                if self.has(kind, name, known) {
                    continue;
                }
                let help = match crate::error::did_you_mean(name, candidates) {
                    Some(candidate) => format!("did you mean `{candidate}`?"),
                    None => format!("the {kind}s are: {}", candidates.join(", ")),
                };
                errors.push(TemplateError {
                    pos,
                    message: format!("unknown {kind} `{name}`"),
                    undefined: None,
                    help: Some(help),
                });
            }
        }
        errors
    }

    /// Whether the engine has the filter or test `name`: asked by applying it, since
    /// minijinja does not list them.
    fn has(&self, kind: &str, name: &str, unknown: ErrorKind) -> bool {
        let probe = match kind {
            "filter" => format!("{{{{ none | {name} }}}}"),
            _ => format!("{{{{ none is {name} }}}}"),
        };
        !matches!(self.env.render_str(&probe, ()), Err(e) if e.kind() == unknown)
    }

    /// Every function a template may call: ours and minijinja's.
    fn functions(&self) -> Vec<&str> {
        let mut names: Vec<&str> = FUNCTIONS.to_vec();
        names.extend(self.env.globals().map(|(name, _)| name));
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The filters, tests and functions a template (or an expression) calls, read from
    /// its compiled instructions: the stable API tells only the variables it reads.
    fn calls(&self, text: &str, is_expression: bool) -> Calls {
        use minijinja::machinery::{Instruction, get_compiled_template};
        let wrapped;
        let source = if is_expression {
            wrapped = format!("{{{{ {text} }}}}");
            &wrapped
        } else {
            text
        };
        let mut calls = Calls::default();
        let Ok(template) = self.env.template_from_str(source) else {
            return calls;
        };
        let compiled = get_compiled_template(&template);
        for instructions in std::iter::once(&compiled.instructions).chain(compiled.blocks.values())
        {
            let mut index = 0;
            while let Some(instruction) = instructions.get(index) {
                let (set, name) = match instruction {
                    Instruction::ApplyFilter(name, ..) => (&mut calls.filters, name),
                    Instruction::PerformTest(name, ..) => (&mut calls.tests, name),
                    Instruction::CallFunction(name, ..) => (&mut calls.functions, name),
                    _ => {
                        index += 1;
                        continue;
                    }
                };
                set.insert((*name).to_owned());
                index += 1;
            }
        }
        calls
    }

    /// Tries a template (or an expression) out with the variables known before a run,
    /// and reports it only if it passes the bounds on work and output: any other error
    /// may be a variable the run will define.
    pub(crate) fn trial(
        &self,
        text: &str,
        is_expression: bool,
        pos: Pos,
        vars: &Context,
    ) -> Option<TemplateError> {
        if self.reads_secrets(text, is_expression) {
            return None;
        }
        let result = if is_expression {
            self.env.compile_expression(text).and_then(|expr| {
                budget::start();
                expr.eval(vars.value())
                    .and_then(|value| budget::check_value(&value))
            })
        } else if is_template(text) {
            budget::render(&self.env, text, vars.value()).map(drop)
        } else {
            Ok(())
        };
        match result {
            Err(error) if budget::is_exceeded(&error) => Some(self.error(error, pos)),
            _ => None,
        }
    }

    /// A value as it renders before a run, to try later templates out with; `None` if
    /// it cannot be known yet.
    pub(crate) fn trial_value(&self, node: &Spanned<Node>, vars: &Context) -> Option<Json> {
        fn texts<'a>(node: &'a Node, out: &mut Vec<&'a str>) {
            match node {
                Node::Str(text) => out.push(text),
                Node::Seq(items) => items.iter().for_each(|i| texts(&i.value, out)),
                Node::Map(map) => map.values().for_each(|v| texts(&v.value, out)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        texts(&node.value, &mut found);
        if found.iter().any(|text| self.reads_secrets(text, false)) {
            return None;
        }
        self.render_node(node, vars).ok()
    }

    /// Whether a template calls `secret()`: trying templates out before a run reads no
    /// secrets, so such a template is bounded when it runs.
    fn reads_secrets(&self, text: &str, is_expression: bool) -> bool {
        let names = if is_expression {
            self.env
                .compile_expression(text)
                .map(|expr| expr.undeclared_variables(false))
        } else if is_template(text) {
            self.env
                .template_from_str(text)
                .map(|template| template.undeclared_variables(false))
        } else {
            return false;
        };
        names.is_ok_and(|names| names.contains("secret"))
    }
}

#[cfg(test)]
mod callable_tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::secrets::Secrets;

    fn check(text: &str, is_expression: bool) -> Vec<(String, Option<String>)> {
        let e = Engine::new(Secrets::new(false), SystemClock::shared());
        let known: BTreeSet<String> = ["x".to_owned()].into();
        e.check(text, is_expression, Pos::default(), &known)
            .into_iter()
            .map(|error| (error.message, error.help))
            .collect()
    }

    #[test]
    fn unknown_filters_tests_and_functions_are_found_before_a_run() {
        let found = check("{{ x | b64encode }} {{ x | urlencode }}", false);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].0, "unknown filter `b64encode`");
        assert!(found[0].1.as_deref().unwrap().contains("tojson"));
        assert_eq!(found[1].0, "unknown filter `urlencode`");
        assert_eq!(
            check("{{ x | lenght }}", false),
            [(
                "unknown filter `lenght`".to_owned(),
                Some("did you mean `length`?".to_owned())
            )]
        );
        // In a branch a run may never take, in expressions, in tests and macros.
        assert_eq!(
            check("{% if false %}{{ x | uper }}{% endif %}", false).len(),
            1
        );
        assert_eq!(
            check("x | lenght > 0", true)[0].0,
            "unknown filter `lenght`"
        );
        assert_eq!(check("x is defind", true)[0].0, "unknown test `defind`");
        let function = check("{{ b64encode(x) }}", false);
        assert_eq!(function[0].0, "unknown function `b64encode`");
        assert_eq!(
            check("{{ secrte('X') }}", false)[0].1.as_deref(),
            Some("did you mean `secret`?")
        );
        assert!(
            check(
                "{% macro m(a) %}{{ a | upper }}{% endmacro %}{{ m(x) }}",
                false
            )
            .is_empty()
        );
        assert!(
            check(
                "{{ x | length }} {{ range(3) | list }} {{ x is defined }}",
                false
            )
            .is_empty()
        );
    }

    #[test]
    fn the_lists_for_did_you_mean_are_what_the_engine_has() {
        let e = Engine::new(Secrets::new(false), SystemClock::shared());
        for name in FILTERS {
            assert!(e.has("filter", name, ErrorKind::UnknownFilter), "{name}");
        }
        for name in TESTS {
            assert!(e.has("test", name, ErrorKind::UnknownTest), "{name}");
        }
        assert!(!e.has("filter", "b64encode", ErrorKind::UnknownFilter));
    }
}
