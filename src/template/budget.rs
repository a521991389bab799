//! Bounds on the work and output of one field's template, so that a template that loops
//! for ever or grows a huge string fails that field, at its position, instead of
//! hanging the run while it holds the meeting's lock or filling memory.
//!
//! - Fuel: minijinja counts the instructions a template runs and stops at [`FUEL`].
//!   This bounds loops, loops inside loops and recursion.
//! - Output: what a field renders, and every value a template emits (into its output
//!   or into a `{% set %}` block), counts against [`MAX_OUTPUT_BYTES`]; so does the
//!   value of a lone `{{ expression }}`.
//!
//! minijinja itself refuses a `range` of more than 100,000 items and a string repeated
//! past 100 MB, and repeats a list lazily.

use std::cell::Cell;
use std::io;

use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind, Output, State};

/// Instructions one template may run. Real fields take tens to a few thousand (a loop
/// over a few hundred participants); this leaves ample room and still stops a runaway
/// template within a fraction of a second.
pub(crate) const FUEL: u64 = 100_000;

/// Most bytes one field may render to, and emit in all while rendering; also the most
/// a lone expression's value may take as JSON, which leaves room for the online list
/// of a meeting of many thousands, registered and looped over.
pub(crate) const MAX_OUTPUT_BYTES: usize = 8 << 20;

thread_local! {
    /// Bytes emitted by the template being rendered on this thread (rendering is
    /// synchronous, so one counter per thread is one per render).
    static EMITTED: Cell<usize> = const { Cell::new(0) };
}

/// Turns fuel on and counts every emitted value against the output bound.
pub(crate) fn install(env: &mut Environment<'static>) {
    env.set_fuel(Some(FUEL));
    env.set_formatter(|out: &mut Output, state: &mut State, value: &Value| {
        let len = value
            .as_str()
            .map_or_else(|| value.to_string().len(), str::len);
        spend(len)?;
        minijinja::escape_formatter(out, state, value)
    });
}

/// Starts a new render's count.
pub(crate) fn start() {
    EMITTED.with(|emitted| emitted.set(0));
}

fn spend(len: usize) -> Result<(), Error> {
    EMITTED.with(|emitted| {
        let total = emitted.get().saturating_add(len);
        emitted.set(total);
        if total > MAX_OUTPUT_BYTES {
            Err(too_large())
        } else {
            Ok(())
        }
    })
}

fn too_large() -> Error {
    Error::new(ErrorKind::InvalidOperation, too_large_message())
}

fn too_large_message() -> String {
    format!(
        "the template renders more than {}, the most one field may",
        crate::source::human_bytes(MAX_OUTPUT_BYTES as u64)
    )
}

/// Whether an error is one of these bounds (rather than, say, a variable a run would
/// define), and so worth reporting when a template is tried out before the run.
pub(crate) fn is_exceeded(error: &Error) -> bool {
    error.kind() == ErrorKind::OutOfFuel || error.detail().is_some_and(|d| d == too_large_message())
}

/// Whether a message (of a template error) is one of these bounds'.
pub(crate) fn is_exceeded_message(message: &str) -> bool {
    message == out_of_fuel_message() || message == too_large_message()
}

/// The message for running out of fuel.
pub(crate) fn out_of_fuel_message() -> String {
    format!(
        "the template does too much work: it ran more than {FUEL} instructions (a very long loop, or loops inside loops?)"
    )
}

/// A writer that takes at most [`MAX_OUTPUT_BYTES`].
#[derive(Default)]
pub(crate) struct Capped {
    pub bytes: Vec<u8>,
    pub exceeded: bool,
}

impl io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_OUTPUT_BYTES {
            self.exceeded = true;
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                too_large_message(),
            ));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Renders `text`, bounded, to a string.
pub(crate) fn render(env: &Environment<'static>, text: &str, ctx: Value) -> Result<String, Error> {
    let template = env.template_from_str(text)?;
    start();
    let mut out = Capped::default();
    match template.render_captured_to(ctx, &mut out) {
        Ok(_) => Ok(String::from_utf8_lossy(&out.bytes).into_owned()),
        Err(_) if out.exceeded => Err(too_large()),
        Err(error) => Err(error),
    }
}

/// Checks that a value's JSON form fits the output bound, without building more than
/// that of it (a lazily repeated list can be far larger than it looks).
pub(crate) fn check_value(value: &Value) -> Result<(), Error> {
    let mut out = Capped::default();
    match serde_json::to_writer(&mut out, value) {
        Err(_) if out.exceeded => Err(too_large()),
        // Other failures are reported by the conversion that follows.
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment<'static> {
        let mut env = Environment::new();
        install(&mut env);
        env
    }

    fn render_one(text: &str) -> Result<String, Error> {
        render(&env(), text, Value::from(()))
    }

    #[test]
    fn ordinary_templates_render() {
        assert_eq!(
            render_one("{% for i in range(3) %}{{ i }}{% endfor %}").unwrap(),
            "012"
        );
        assert_eq!(render_one("{{ 'x' * 1000 }}").unwrap().len(), 1000);
    }

    #[test]
    fn loops_inside_loops_run_out_of_fuel() {
        let error = render_one(
            "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        )
        .unwrap_err();
        assert!(is_exceeded(&error), "{error}");
        assert_eq!(error.kind(), ErrorKind::OutOfFuel);
    }

    #[test]
    fn output_and_emitted_values_are_capped() {
        // Into the output.
        let over = MAX_OUTPUT_BYTES + 1;
        let error = render_one(&format!("{{{{ 'x' * {over} }}}}")).unwrap_err();
        assert!(is_exceeded(&error), "{error}");
        // Raw text, many times over.
        let chunk = MAX_OUTPUT_BYTES / 50;
        let raw = format!(
            "{{% for i in range(100) %}}{}{{% endfor %}}",
            "y".repeat(chunk)
        );
        assert!(is_exceeded(&render_one(&raw).unwrap_err()));
        // Into a `set` block, never output.
        let error = render_one(&format!(
            "{{% set big %}}{{% for i in range(100) %}}{{{{ 'x' * {chunk} }}}}{{% endfor %}}{{% endset %}}{{{{ big | length }}}}"
        ))
        .unwrap_err();
        assert!(is_exceeded(&error), "{error}");
        // Exactly at the cap is fine.
        let at_cap = format!("{{{{ 'x' * {MAX_OUTPUT_BYTES} }}}}");
        assert_eq!(render_one(&at_cap).unwrap().len(), MAX_OUTPUT_BYTES);
    }

    #[test]
    fn each_render_starts_its_own_count() {
        let env = env();
        let half = format!("{{{{ 'x' * {} }}}}", MAX_OUTPUT_BYTES / 2 + 1);
        for _ in 0..3 {
            render(&env, &half, Value::from(())).unwrap();
        }
    }

    #[test]
    fn trying_out_finds_runaways_and_reads_no_secrets() {
        use crate::secrets::Secrets;
        use crate::template::{Context, Engine};
        let engine = Engine::new(Secrets::new(false), crate::clock::SystemClock::shared());
        let pos = crate::yaml::Pos::default();
        let runaway =
            "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}";
        let found = engine.trial(runaway, false, pos, &Context::new()).unwrap();
        assert!(found.exceeds_bounds(), "{found:?}");
        // A variable only a run defines: nothing to report before it.
        assert!(
            engine
                .trial("{{ later | length }}", false, pos, &Context::new())
                .is_none()
        );
        let asks_for_a_secret = runaway.replace(
            "{% endfor %}{% endfor %}",
            "{{ secret('S') }}{% endfor %}{% endfor %}",
        );
        assert!(
            engine
                .trial(&asks_for_a_secret, false, pos, &Context::new())
                .is_none()
        );
    }

    #[test]
    fn a_value_too_large_is_caught_without_building_it() {
        // A list repeated lazily: a hundred million items, checked after 1 MiB of them.
        let env = env();
        let value = env
            .compile_expression("[1, 2] * 50000000")
            .unwrap()
            .eval(())
            .unwrap();
        assert!(is_exceeded(&check_value(&value).unwrap_err()));
        assert!(check_value(&Value::from("small")).is_ok());
    }
}
