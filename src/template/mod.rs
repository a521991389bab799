//! Templating: a minijinja environment with strict undefined variables and the
//! functions `secret(NAME)`, `env(NAME)` and `now()`. Fields are rendered one at a
//! time after parsing, never the file as text, so every error keeps its position.
//! A string that is a single `{{ expression }}` keeps the expression's type (a list
//! stays a list); any other template renders to a string.

pub mod budget;
pub mod vars;

use std::collections::BTreeSet;
use std::sync::Arc;

use indexmap::IndexMap;
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};
use serde_json::Value as Json;

pub use crate::secrets::{MASK, MIN_REDACTED_LEN, Secrets, redact_all}; // moved: re-export until the branches are merged

use crate::clock::SharedClock;
use crate::node::Node;
use crate::yaml::{Pos, Spanned};

/// Names every template may use besides variables.
pub const FUNCTIONS: &[&str] = &["secret", "env", "now"];

/// minijinja's filters with the features emcee builds it with, for "did you mean"
/// (the engine is asked whether a filter exists; a test keeps this list true).
pub const FILTERS: &[&str] = &[
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
pub const TESTS: &[&str] = &[
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

/// A template problem, at the position of the field it is in.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    pub pos: Pos,
    pub message: String,
    /// A variable the template names but nothing defines, for "did you mean".
    pub undefined: Option<String>,
    /// What to do about it, when the engine knows better than its caller.
    pub help: Option<String>,
}

impl TemplateError {
    /// Whether the template passed the bounds on its work or output, rather than
    /// failing for want of something a run may provide.
    pub fn exceeds_bounds(&self) -> bool {
        budget::is_exceeded_message(&self.message)
    }
}

/// Whether a string holds template syntax at all.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// The expression inside `{{ … }}` when the string is exactly one such block.
fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%"))
        .then_some(inner.trim())
}

pub struct Engine {
    env: Environment<'static>,
    secrets: Arc<Secrets>,
}

impl Engine {
    pub fn new(secrets: Arc<Secrets>, clock: SharedClock) -> Engine {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        budget::install(&mut env);
        let lookup = Arc::clone(&secrets);
        env.add_function("secret", move |name: String| {
            lookup
                .lookup(&name)
                .map_err(|message| minijinja::Error::new(ErrorKind::InvalidOperation, message))
        });
        env.add_function("env", |name: String, default: Option<String>| {
            match (std::env::var(&name), default) {
                (Ok(value), _) => Ok(value),
                (Err(_), Some(default)) => Ok(default),
                (Err(_), None) => Err(minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    format!("environment variable {name} is not set (give env('{name}', 'default') to fall back)"),
                )),
            }
        });
        env.add_function("now", move || clock.now().to_string());
        Engine { env, secrets }
    }

    pub fn secrets(&self) -> &Arc<Secrets> {
        &self.secrets
    }

    /// Renders every string of a node tree; non-template values pass through.
    pub fn render_node(&self, node: &Spanned<Node>, vars: &Context) -> Result<Json, TemplateError> {
        match &node.value {
            Node::Str(text) if is_template(text) => {
                self.watched(text, vars, || self.render_text(text, node.pos, vars))
            }
            Node::Seq(items) => items
                .iter()
                .map(|item| self.render_node(item, vars))
                .collect::<Result<Vec<_>, _>>()
                .map(Json::Array),
            Node::Map(map) => {
                let mut out = serde_json::Map::new();
                for (key, value) in map {
                    out.insert(key.clone(), self.render_node(value, vars)?);
                }
                Ok(Json::Object(out))
            }
            other => Ok(other.to_json()),
        }
    }

    /// A field's render, noting whether it shows a secret (see [`Secrets::uses`]): it
    /// calls `secret()`, or reads a variable that holds one (in whatever form a filter,
    /// a slice or `repr` then prints it).
    fn watched(
        &self,
        text: &str,
        vars: &Context,
        render: impl FnOnce() -> Result<Json, TemplateError>,
    ) -> Result<Json, TemplateError> {
        let mark = self.secrets.uses();
        let rendered = render()?;
        // The variables a template reads are told by the names it mentions: the
        // engine's own list leaves out those only sliced (`{{ pw[1:] }}`), and a name
        // mentioned but not read only makes the field hidden when it need not be.
        if self.secrets.uses() == mark
            && self.secrets.any()
            && vars.names().any(|name| {
                mentions(text, name) && vars.get(name).is_some_and(|v| self.secrets.shows_secret(v))
            })
        {
            self.secrets.note_use();
        }
        self.secrets.rendered(mark, &rendered);
        Ok(rendered)
    }

    /// Renders one templated string: a lone `{{ expr }}` keeps its type.
    pub fn render_text(&self, text: &str, pos: Pos, vars: &Context) -> Result<Json, TemplateError> {
        if let Some(expr) = single_expression(text) {
            let value = self.eval(expr, pos, vars)?;
            return to_json(&value, pos);
        }
        budget::render(&self.env, text, vars.value())
            .map(Json::String)
            .map_err(|e| self.error(e, pos))
    }

    /// Renders a string field that must stay a string.
    pub fn render_string(
        &self,
        text: &Spanned<String>,
        vars: &Context,
    ) -> Result<String, TemplateError> {
        if !is_template(text) {
            return Ok(text.value.clone());
        }
        match self.watched(text, vars, || self.render_text(text, text.pos, vars))? {
            Json::String(s) => Ok(s),
            other => Ok(other.to_string()),
        }
    }

    /// Evaluates an expression (a `when`, an `assert`).
    pub fn eval(&self, expr: &str, pos: Pos, vars: &Context) -> Result<Value, TemplateError> {
        let compiled = self
            .env
            .compile_expression(expr)
            .map_err(|e| self.error(e, pos))?;
        budget::start();
        let value = compiled
            .eval(vars.value())
            .and_then(|value| budget::check_value(&value).map(|()| value))
            .map_err(|e| self.error(e, pos))?;
        if value.is_undefined() {
            let names = compiled.undeclared_variables(false);
            let missing = names
                .into_iter()
                .find(|n| !vars.contains(n) && !self.is_global(n));
            return Err(TemplateError {
                pos,
                message: match &missing {
                    Some(name) => format!("undefined variable `{name}`"),
                    None => format!("`{expr}` is undefined"),
                },
                undefined: missing,
                help: None,
            });
        }
        Ok(value)
    }

    /// The names an expression reads or calls; `None` if it does not compile.
    pub fn expression_names(&self, expr: &str) -> Option<BTreeSet<String>> {
        let compiled = self.env.compile_expression(expr).ok()?;
        Some(compiled.undeclared_variables(false).into_iter().collect())
    }

    /// What can be known without running: syntax errors, and variables used but
    /// defined nowhere in `known` (names a template or expression could see).
    pub fn check(
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
    pub fn trial(
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
    pub fn trial_value(&self, node: &Spanned<Node>, vars: &Context) -> Option<Json> {
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

    /// A function or value every template has: ours (`secret`…) and minijinja's own
    /// (`range`, `dict`, `namespace`…).
    fn is_global(&self, name: &str) -> bool {
        FUNCTIONS.contains(&name) || self.env.globals().any(|(global, _)| global == name)
    }

    fn error(&self, error: minijinja::Error, pos: Pos) -> TemplateError {
        let kind = error.kind();
        let message = match (kind, error.detail()) {
            (ErrorKind::UndefinedError, Some(detail)) => format!("undefined value: {detail}"),
            (ErrorKind::UndefinedError, None) => "undefined variable".to_owned(),
            (ErrorKind::SyntaxError, Some(detail)) => format!("template syntax error: {detail}"),
            (ErrorKind::OutOfFuel, _) => budget::out_of_fuel_message(),
            (_, Some(detail)) => detail.to_owned(),
            (kind, None) => kind.to_string(),
        };
        TemplateError {
            pos,
            message: self.secrets.redact(&message),
            undefined: None,
            help: None,
        }
    }
}

/// Whether `text` holds `name` as a whole word.
fn mentions(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(word)
            && !text[at + name.len()..].chars().next().is_some_and(word)
    })
}

fn to_json(value: &Value, pos: Pos) -> Result<Json, TemplateError> {
    serde_json::to_value(value).map_err(|e| TemplateError {
        pos,
        message: format!("the expression's value cannot be used here: {e}"),
        undefined: None,
        help: None,
    })
}

/// The variables in scope: playbook `vars`, files, `-e`, registered results, loop items.
/// Which source wins is decided in [`vars`].
#[derive(Debug, Clone, Default)]
pub struct Context {
    vars: IndexMap<String, Json>,
    /// Names given with `-e`: no include's `vars` replace them.
    pinned: Arc<BTreeSet<String>>,
    cached: std::cell::OnceCell<Value>,
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    pub fn set(&mut self, name: impl Into<String>, value: Json) {
        self.vars.insert(name.into(), value);
        self.cached = std::cell::OnceCell::new();
    }

    /// Marks a name as given with `-e`, above every level but the run's own.
    pub fn pin(&mut self, name: &str) {
        Arc::make_mut(&mut self.pinned).insert(name.to_owned());
    }

    pub fn is_pinned(&self, name: &str) -> bool {
        self.pinned.contains(name)
    }

    pub fn remove(&mut self, name: &str) {
        self.vars.shift_remove(name);
        self.cached = std::cell::OnceCell::new();
    }

    pub fn get(&self, name: &str) -> Option<&Json> {
        self.vars.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.vars.keys()
    }

    /// The variables as a template context, built once per change.
    pub fn value(&self) -> Value {
        self.cached
            .get_or_init(|| Value::from(minijinja::value::Serde(&self.vars)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use serde_json::json;

    fn engine() -> Engine {
        Engine::new(Secrets::new(false), SystemClock::shared())
    }

    fn vars() -> Context {
        let mut vars = Context::new();
        vars.set("panel", json!(["Bob Li", "Carol Wu"]));
        vars.set("ceo", json!("Alice Zhang"));
        vars
    }

    #[test]
    fn single_expressions_keep_their_type() {
        let e = engine();
        let pos = Pos::default();
        assert_eq!(
            e.render_text("{{ panel }}", pos, &vars()).unwrap(),
            json!(["Bob Li", "Carol Wu"])
        );
        assert_eq!(
            e.render_text(" {{ panel | length }} ", pos, &vars())
                .unwrap(),
            json!(2)
        );
        assert_eq!(
            e.render_text("Hi {{ ceo }}", pos, &vars()).unwrap(),
            json!("Hi Alice Zhang")
        );
        assert_eq!(
            e.render_text("{{ ceo }}{{ ceo }}", pos, &vars())
                .unwrap()
                .as_str()
                .unwrap()
                .len(),
            22
        );
    }

    #[test]
    fn undefined_variables_are_errors() {
        let e = engine();
        let error = e
            .render_text("{{ coe }}", Pos::default(), &vars())
            .unwrap_err();
        assert_eq!(error.undefined.as_deref(), Some("coe"));
        assert!(
            e.render_text("Hi {{ coe }}", Pos::default(), &vars())
                .is_err()
        );
        let known: BTreeSet<String> = ["ceo".to_owned()].into();
        let found = e.check(
            "{{ ceo }} and {{ cfo }} {{ secret('X') }}",
            false,
            Pos::default(),
            &known,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].undefined.as_deref(), Some("cfo"));
        let syntax = e.check("{{ ceo ", false, Pos::default(), &known);
        assert!(syntax[0].message.contains("syntax"), "{:?}", syntax);
        assert!(
            e.check("ceo ==", true, Pos::default(), &known)[0]
                .message
                .contains("syntax")
        );
    }
}

#[cfg(test)]
mod callable_tests {
    use super::*;
    use crate::clock::SystemClock;

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

#[cfg(test)]
mod secret_tests {
    use super::*;
    use crate::clock::SystemClock;
    use serde_json::json;

    /// Renders `text`, telling whether the field is secret.
    fn secret_field(e: &Engine, text: &str, vars: &Context) -> (Json, bool) {
        let mark = e.secrets().uses();
        let node = Spanned {
            value: Node::Str(text.into()),
            pos: Pos::default(),
        };
        let value = e.render_node(&node, vars).unwrap();
        (value, e.secrets().uses() != mark)
    }

    #[test]
    fn fields_that_use_secrets_are_secret() {
        let e = Engine::new(Secrets::new(true), SystemClock::shared());
        let mut vars = Context::new();
        vars.set("ceo", json!("Alice Zhang"));
        vars.set("cel", json!(1000));
        for text in [
            "{{ secret('EMCEE_T') }}",
            "{{ secret('EMCEE_T')[1:] }}",
            "pw {{ secret('EMCEE_T') | length }}",
            "{{ secret('EMCEE_T') is defined }}",
        ] {
            assert!(secret_field(&e, text, &vars).1, "{text}");
        }
        let (list, secret) = secret_field(&e, "{{ [secret('EMCEE_T'), 'a'] }}", &vars);
        assert!(secret);
        vars.set("l", list);
        let (said, secret) = secret_field(&e, "said {{ secret('EMCEE_T')[2:] }}", &vars);
        assert!(secret);
        vars.set("r", json!({ "msg": said }));
        // Reading a variable that holds a secret, or what a secret field produced, in
        // any form (a slice, the repr of a list or map).
        for text in [
            "{{ l[0][1:] }}",
            "x {{ l }}",
            "{{ r }}",
            "{{ r.msg[3:] | upper }}",
        ] {
            assert!(secret_field(&e, text, &vars).1, "{text}");
        }
        for text in ["{{ ceo }}", "{{ ceo[1:] }}", "Hi {{ cel }}", "l"] {
            assert!(!secret_field(&e, text, &vars).1, "{text}");
        }
    }

    #[test]
    fn names_are_mentioned_as_whole_words() {
        assert!(mentions("{{ l[0][1:] }}", "l"));
        assert!(mentions("{{ pw|upper }}", "pw"));
        assert!(!mentions("{{ lower }}", "l"));
        assert!(!mentions("{{ my_pw }}", "pw"));
    }
}
