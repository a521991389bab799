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
pub const FUEL: u64 = 100_000;

/// Most bytes one field may render to, and emit in all while rendering.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;

thread_local! {
    /// Bytes emitted by the template being rendered on this thread (rendering is
    /// synchronous, so one counter per thread is one per render).
    static EMITTED: Cell<usize> = const { Cell::new(0) };
}

/// Turns fuel on and counts every emitted value against the output bound.
pub fn install(env: &mut Environment<'static>) {
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
pub fn start() {
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
pub fn is_exceeded(error: &Error) -> bool {
    error.kind() == ErrorKind::OutOfFuel || error.detail().is_some_and(|d| d == too_large_message())
}

/// Whether a message (of a template error) is one of these bounds'.
pub fn is_exceeded_message(message: &str) -> bool {
    message == out_of_fuel_message() || message == too_large_message()
}

/// The message for running out of fuel.
pub fn out_of_fuel_message() -> String {
    format!(
        "the template does too much work: it ran more than {FUEL} instructions (a very long loop, or loops inside loops?)"
    )
}

/// A writer that takes at most [`MAX_OUTPUT_BYTES`].
#[derive(Default)]
pub struct Capped {
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
pub fn render(env: &Environment<'static>, text: &str, ctx: Value) -> Result<String, Error> {
    render_template(&env.template_from_str(text)?, ctx)
}

/// Renders a compiled template, bounded, to a string.
pub fn render_template(template: &minijinja::Template, ctx: Value) -> Result<String, Error> {
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
pub fn check_value(value: &Value) -> Result<(), Error> {
    let mut out = Capped::default();
    match serde_json::to_writer(&mut out, value) {
        Err(_) if out.exceeded => Err(too_large()),
        // Other failures are reported by the conversion that follows.
        _ => Ok(()),
    }
}
