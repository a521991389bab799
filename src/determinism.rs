//! Values that differ from one run to the next (instants, durations, run ids) and
//! their fixed placeholders under `EMCEE_DETERMINISTIC`, so that two rehearsals print
//! the same bytes. At the ground of the crate: the executor and every display use it.

/// `EMCEE_DETERMINISTIC=1` leaves out timestamps and timings, for snapshot tests.
pub(crate) fn deterministic() -> bool {
    std::env::var_os("EMCEE_DETERMINISTIC").is_some_and(|v| !v.is_empty() && v != "0")
}

/// A value that differs from one run to the next (an instant, a duration, a run id) as
/// output shows it: itself, or with `EMCEE_DETERMINISTIC` a fixed placeholder of the same
/// type, so that two rehearsals print the same bytes in every format. Everything that
/// puts such a value in output passes it through here.
pub(crate) fn varying<T: Varying>(value: T) -> T {
    if deterministic() {
        T::placeholder()
    } else {
        value
    }
}

/// A type of value that differs from run to run, and its placeholder.
pub(crate) trait Varying {
    fn placeholder() -> Self;
}

impl Varying for jiff::Timestamp {
    /// The Unix epoch: still a valid instant for whatever reads the output.
    fn placeholder() -> Self {
        jiff::Timestamp::UNIX_EPOCH
    }
}

impl Varying for std::time::Duration {
    fn placeholder() -> Self {
        std::time::Duration::ZERO
    }
}

impl Varying for i64 {
    fn placeholder() -> Self {
        0
    }
}

impl Varying for u64 {
    fn placeholder() -> Self {
        0
    }
}

/// Run ids.
impl Varying for String {
    fn placeholder() -> Self {
        "deterministic".to_owned()
    }
}

/// Passes the RFC 3339 instants under `keys`, anywhere in `value`, through [`varying`].
pub(crate) fn varying_instants(value: &mut serde_json::Value, keys: &[&str]) {
    use serde_json::Value;
    if !deterministic() {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                match field {
                    Value::String(text)
                        if keys.contains(&key.as_str())
                            && text.parse::<jiff::Timestamp>().is_ok() =>
                    {
                        *text = varying(jiff::Timestamp::now()).to_string();
                    }
                    other => varying_instants(other, keys),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                varying_instants(item, keys);
            }
        }
        _ => {}
    }
}
