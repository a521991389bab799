//! Secret values — passwords and tokens — as they are looked up, so that every piece
//! of text emcee prints, logs or writes can be redacted by value.

use std::sync::{Arc, RwLock};

/// Values shorter than this cannot be redacted without mangling ordinary text.
pub const MIN_REDACTED_LEN: usize = 4;

const MASK: &str = "***";

/// Every secret of the process, for output that has no [`Secrets`] at hand (log lines).
static ALL: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// `text` with every secret this process has seen replaced by `***`.
pub fn redact_all(text: &str) -> String {
    redact_with(&ALL.read().unwrap_or_else(|e| e.into_inner()), text)
}

fn redact_with(values: &[String], text: &str) -> String {
    // Nearly every line holds no secret: no copy to make then.
    if !values.iter().any(|v| text.contains(v.as_str())) {
        return text.to_owned();
    }
    let mut out = text.to_owned();
    for value in values {
        if out.contains(value.as_str()) {
            out = out.replace(value.as_str(), MASK);
        }
    }
    out
}

fn insert_sorted(values: &mut Vec<String>, value: &str) {
    if !values.iter().any(|v| v == value) {
        values.push(value.to_owned());
        // Longest first, so that a secret containing another is masked whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }
}

#[derive(Debug, Default)]
pub struct Secrets {
    values: RwLock<Vec<String>>,
    warned_short: std::sync::atomic::AtomicBool,
    /// Under `--sim`, an unset secret becomes a rehearsal placeholder instead of an error.
    placeholders: bool,
}

impl Secrets {
    pub fn new(placeholders: bool) -> Arc<Secrets> {
        Arc::new(Secrets {
            values: RwLock::default(),
            warned_short: Default::default(),
            placeholders,
        })
    }

    /// Records a value to redact from now on.
    pub fn remember(&self, value: &str) {
        if value.len() < MIN_REDACTED_LEN {
            let first = !self
                .warned_short
                .swap(true, std::sync::atomic::Ordering::Relaxed);
            if !value.is_empty() && first {
                tracing::warn!(
                    "a secret shorter than {MIN_REDACTED_LEN} characters cannot be redacted from output"
                );
            }
            return;
        }
        insert_sorted(
            &mut self.values.write().unwrap_or_else(|e| e.into_inner()),
            value,
        );
        insert_sorted(&mut ALL.write().unwrap_or_else(|e| e.into_inner()), value);
    }

    /// `text` with every remembered secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        redact_with(&self.values.read().unwrap_or_else(|e| e.into_inner()), text)
    }

    /// `secret(NAME)`: the environment variable, else the file named by `NAME_FILE`.
    pub fn lookup(&self, name: &str) -> Result<String, String> {
        if let Some(value) = std::env::var_os(name) {
            let value = value
                .into_string()
                .map_err(|_| format!("secret {name} is not valid UTF-8"))?;
            self.remember(&value);
            return Ok(value);
        }
        let file_var = format!("{name}_FILE");
        if let Some(path) = std::env::var_os(&file_var) {
            let cap = crate::source::MAX_SECRET_BYTES;
            let text = crate::source::read_text(std::path::Path::new(&path), cap).map_err(|e| {
                format!(
                    "secret {name}: cannot read {file_var}={}: {e}",
                    path.to_string_lossy()
                )
            })?;
            let value = text.trim_end_matches(['\n', '\r']).to_owned();
            self.remember(&value);
            return Ok(value);
        }
        if self.placeholders {
            let value = format!("rehearsal-{}", name.to_lowercase());
            self.remember(&value);
            return Ok(value);
        }
        Err(format!(
            "secret {name} is not set: set the environment variable {name}, or {file_var} to a file holding it"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_remembered_values_longest_first() {
        let secrets = Secrets::new(false);
        secrets.remember("abcd");
        secrets.remember("abcdef");
        secrets.remember("xy");
        assert_eq!(
            secrets.redact("pw=abcdef, short=abcd, xy"),
            "pw=***, short=***, xy"
        );
    }

    #[test]
    fn placeholders_only_in_rehearsal() {
        let name = "EMCEE_TEST_SURELY_UNSET_SECRET";
        assert!(
            Secrets::new(false)
                .lookup(name)
                .unwrap_err()
                .contains("not set")
        );
        assert_eq!(
            Secrets::new(true).lookup(name).unwrap(),
            "rehearsal-emcee_test_surely_unset_secret"
        );
    }
}
