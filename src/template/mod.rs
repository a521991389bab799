//! Templating: a minijinja environment with strict undefined variables and the
//! functions `secret(NAME)`, `env(NAME)` and `now()`. Fields are rendered one at a
//! time after parsing, never the file as text, so every error keeps its position.
//! A string that is a single `{{ expression }}` keeps the expression's type (a list
//! stays a list); any other template renders to a string.

pub(crate) mod budget;
mod check;
mod context;

use std::collections::BTreeSet;
use std::sync::Arc;

use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value};
use serde_json::Value as Json;

use crate::clock::SharedClock;
use crate::node::Node;
use crate::secrets::Secrets;
use crate::yaml::{Pos, Spanned};

pub(crate) use context::Context;

/// Names every template may use besides variables.
pub(crate) const FUNCTIONS: &[&str] = &["secret", "env", "now"];

/// A template problem, at the position of the field it is in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TemplateError {
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
    pub(crate) fn exceeds_bounds(&self) -> bool {
        budget::is_exceeded_message(&self.message)
    }
}

/// Whether a string holds template syntax at all.
pub(crate) fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// The expression inside `{{ … }}` when the string is exactly one such block.
fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%"))
        .then_some(inner.trim())
}

pub(crate) struct Engine {
    env: Environment<'static>,
    secrets: Arc<Secrets>,
}

impl Engine {
    pub(crate) fn new(secrets: Arc<Secrets>, clock: SharedClock) -> Engine {
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

    pub(crate) fn secrets(&self) -> &Arc<Secrets> {
        &self.secrets
    }

    /// Renders every string of a node tree; non-template values pass through.
    pub(crate) fn render_node(
        &self,
        node: &Spanned<Node>,
        vars: &Context,
    ) -> Result<Json, TemplateError> {
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
    pub(crate) fn render_text(
        &self,
        text: &str,
        pos: Pos,
        vars: &Context,
    ) -> Result<Json, TemplateError> {
        if let Some(expr) = single_expression(text) {
            let value = self.eval(expr, pos, vars)?;
            return to_json(&value, pos);
        }
        budget::render(&self.env, text, vars.value())
            .map(Json::String)
            .map_err(|e| self.error(e, pos))
    }

    /// Renders a string field that must stay a string.
    pub(crate) fn render_string(
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
    pub(crate) fn eval(
        &self,
        expr: &str,
        pos: Pos,
        vars: &Context,
    ) -> Result<Value, TemplateError> {
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
    pub(crate) fn expression_names(&self, expr: &str) -> Option<BTreeSet<String>> {
        let compiled = self.env.compile_expression(expr).ok()?;
        Some(compiled.undeclared_variables(false).into_iter().collect())
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
        assert!(syntax[0].message.contains("syntax"), "{syntax:?}");
        assert!(
            e.check("ceo ==", true, Pos::default(), &known)[0]
                .message
                .contains("syntax")
        );
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
