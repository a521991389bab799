//! Secret values — passwords and tokens — as they are looked up, and the one place
//! output is cleaned of them.
//!
//! Structured output (JSON lines, the journal, reports, the emulator's request log,
//! `plan --format json`) is masked value by value *before* it is serialized: only the
//! text of string values is touched, never numbers or keys, so escaping cannot hide a
//! secret from the mask and the mask cannot break the document. Text output masks its
//! raw text. The masked strings are the secret values and their upper, lower, title
//! and reversed forms (what a template filter makes of them), none shorter than
//! [`MIN_REDACTED_LEN`] characters.
//!
//! A field rendered by a template that calls `secret()` is secret as a whole, whatever
//! the template made of the value (a slice, a hash, a sentence around it): renders
//! count their uses of secrets ([`Secrets::uses`]) so that displays can show `***`
//! instead, and what such a render produced is kept, not to be masked but to tell that
//! a later template which prints it (a registered result, say) shows a secret too.
//!
//! There is one registry of secrets: each [`Secrets`] is registered with the process
//! when it is made, and [`redact_all`] — for output that has no run at hand, log lines
//! and the final error — masks what every registered one knows. A `Secrets` that is
//! gone and never knew a secret is forgotten; one that knew some stays registered,
//! since an error printed after its run ended may still quote them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Values shorter than this cannot be redacted without mangling ordinary text.
pub(crate) const MIN_REDACTED_LEN: usize = 4;

/// What a secret, or a field showing one, is replaced by.
pub(crate) const MASK: &str = "***";

/// At most this many secret-derived field values are kept to recognise later (a long
/// loop over secrets must not grow memory without bound).
const MAX_DERIVED: usize = 4096;

/// Every [`Secrets`] of the process, for output that has no run at hand.
static REGISTERED: Mutex<Vec<Arc<Secrets>>> = Mutex::new(Vec::new());

fn registered() -> std::sync::MutexGuard<'static, Vec<Arc<Secrets>>> {
    REGISTERED.lock().unwrap_or_else(|e| e.into_inner())
}

/// `text` with every secret this process has seen replaced by `***`.
pub(crate) fn redact_all(text: &str) -> String {
    let registered = registered();
    // Nearly every line holds no secret: nothing to gather then.
    if !registered.iter().any(|secrets| {
        read(&secrets.masked)
            .iter()
            .any(|v| text.contains(v.as_str()))
    }) {
        return text.to_owned();
    }
    let mut values: Vec<String> = Vec::new();
    for secrets in registered.iter() {
        values.extend(read(&secrets.masked).iter().cloned());
    }
    // Longest first across every run too, so that a secret containing another is
    // masked whole.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values.dedup();
    redact_with(&values, text)
}

fn read(lock: &RwLock<Vec<String>>) -> std::sync::RwLockReadGuard<'_, Vec<String>> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write(lock: &RwLock<Vec<String>>) -> std::sync::RwLockWriteGuard<'_, Vec<String>> {
    lock.write().unwrap_or_else(|e| e.into_inner())
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

/// The forms of a secret to mask: itself and what the `upper`, `lower`, `title` and
/// `reverse` filters make of it, each long enough to mask safely.
pub(crate) fn masked_forms(value: &str) -> Vec<String> {
    let mut forms = vec![
        value.to_owned(),
        value.to_uppercase(),
        value.to_lowercase(),
        // The template engine's own `title`, so the two can never disagree.
        minijinja::filters::title(value.into()),
        value.chars().rev().collect(),
    ];
    forms.retain(|form| form.chars().count() >= MIN_REDACTED_LEN);
    let mut unique = Vec::with_capacity(forms.len());
    for form in forms {
        if !unique.contains(&form) {
            unique.push(form);
        }
    }
    unique
}

/// Masks every string inside `value` with `masked`, leaving keys, numbers and the
/// shape alone.
fn mask_strings(masked: &[String], value: &mut Value) {
    match value {
        Value::String(text) => {
            if masked.iter().any(|m| text.contains(m.as_str())) {
                *text = redact_with(masked, text);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| mask_strings(masked, item)),
        Value::Object(map) => map.values_mut().for_each(|item| mask_strings(masked, item)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Whether any string inside `value` contains one of `needles`.
fn holds_any(needles: &[String], value: &Value) -> bool {
    match value {
        Value::String(text) => needles.iter().any(|n| text.contains(n.as_str())),
        Value::Array(items) => items.iter().any(|item| holds_any(needles, item)),
        Value::Object(map) => map.values().any(|item| holds_any(needles, item)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// A run's secrets: what to mask, and what templates made of them.
#[derive(Debug, Default)]
pub struct Secrets {
    /// Secret values and their derived forms, longest first.
    masked: RwLock<Vec<String>>,
    /// The same as they appear inside a JSON string, to tell serialized text that
    /// holds none without parsing it.
    escaped: RwLock<Vec<String>>,
    /// What renders that used a secret produced: never masked, only recognised.
    derived: RwLock<Vec<String>>,
    /// How many times a template used a secret, so far.
    uses: AtomicU64,
    warned_short: AtomicBool,
    /// Under `--sim`, an unset secret becomes a rehearsal placeholder instead of an error.
    placeholders: bool,
}

impl Secrets {
    /// A run's secrets, registered with the process for [`redact_all`].
    pub fn new(placeholders: bool) -> Arc<Secrets> {
        let secrets = Arc::new(Secrets {
            placeholders,
            ..Secrets::default()
        });
        let mut registered = registered();
        // Those nobody holds and that never knew a secret have nothing to mask: a
        // checker made per file must not grow the list without bound.
        registered.retain(|kept| Arc::strong_count(kept) > 1 || !read(&kept.masked).is_empty());
        registered.push(Arc::clone(&secrets));
        secrets
    }

    /// Records a value to redact from now on, with its derived forms.
    pub fn remember(&self, value: &str) {
        if value.chars().count() < MIN_REDACTED_LEN {
            let first = !self.warned_short.swap(true, Ordering::Relaxed);
            if !value.is_empty() && first {
                tracing::warn!(
                    "a secret shorter than {MIN_REDACTED_LEN} characters cannot be redacted from output"
                );
            }
            return;
        }
        let forms = masked_forms(value);
        let mut masked = write(&self.masked);
        let mut escaped_forms = write(&self.escaped);
        for form in &forms {
            insert_sorted(&mut masked, form);
            insert_sorted(&mut escaped_forms, &escaped(form));
        }
    }

    /// `text` with every remembered secret replaced by `***`: for text output.
    pub fn redact(&self, text: &str) -> String {
        redact_with(&read(&self.masked), text)
    }

    /// Masks the secrets inside the string values of `value`; keys and numbers stay.
    pub fn mask_json(&self, value: &mut Value) {
        let masked = read(&self.masked);
        if !masked.is_empty() {
            mask_strings(&masked, value);
        }
    }

    /// `value` as JSON text with its secrets masked before it is serialized; `pretty`
    /// for indented output.
    pub fn to_json(&self, value: &impl Serialize, pretty: bool) -> String {
        let text = serialize(value, pretty);
        // JSON escapes one character at a time, so a string that holds a secret holds
        // its escaped form once serialized: without one, there is nothing to mask and
        // the serialized text can go out as it is (the usual case, and the cheap one).
        if !read(&self.escaped)
            .iter()
            .any(|e| text.contains(e.as_str()))
        {
            return text;
        }
        let Ok(mut value) = serde_json::to_value(value) else {
            // Serialized as text but not as a value (no type of emcee's): masking the
            // text is the lesser harm than showing the secret.
            return self.redact(&text);
        };
        mask_strings(&read(&self.masked), &mut value);
        serialize(&value, pretty)
    }

    /// A copy of `value` with the secrets inside its strings masked: for types whose
    /// JSON form reads back (the run's report).
    pub fn masked<T: Serialize + DeserializeOwned + Clone>(&self, value: &T) -> T {
        let Ok(mut json) = serde_json::to_value(value) else {
            return value.clone();
        };
        self.mask_json(&mut json);
        serde_json::from_value(json).unwrap_or_else(|_| value.clone())
    }

    /// How many times templates have used a secret so far: a display compares the
    /// count before and after rendering a field to tell whether it shows a secret.
    pub fn uses(&self) -> u64 {
        self.uses.load(Ordering::Relaxed)
    }

    /// A template used a secret (called `secret()`, or printed a value holding one).
    pub fn note_use(&self) {
        self.uses.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether any secret is known at all.
    pub fn any(&self) -> bool {
        !read(&self.masked).is_empty() || !read(&self.derived).is_empty()
    }

    /// Whether `value` holds a secret, or a value earlier made from one.
    pub fn shows_secret(&self, value: &Value) -> bool {
        holds_any(&read(&self.masked), value) || holds_any(&read(&self.derived), value)
    }

    /// `text` with every value a secret render produced, and every secret, replaced by
    /// `***`: what a display of fields rendered from secrets shows of them.
    pub fn hide_fields(&self, text: &str) -> String {
        self.redact(&redact_with(&read(&self.derived), text))
    }

    /// After a field was rendered to `rendered` (with `mark` the use count before):
    /// a result that shows a secret counts as a use, and the strings of a render that
    /// used one are kept so that printing them later counts as a use too.
    pub fn rendered(&self, mark: u64, rendered: &Value) {
        if self.uses() == mark && self.shows_secret(rendered) {
            self.note_use();
        }
        if self.uses() != mark {
            let mut derived = write(&self.derived);
            keep_strings(&mut derived, rendered);
        }
    }

    /// `secret(NAME)`: the environment variable, else the file named by `NAME_FILE`.
    pub fn lookup(&self, name: &str) -> Result<String, String> {
        self.note_use();
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

/// Keeps the strings of `value` long enough to recognise without mistaking ordinary
/// text for them.
fn keep_strings(kept: &mut Vec<String>, value: &Value) {
    match value {
        Value::String(text) => {
            if text.chars().count() >= MIN_REDACTED_LEN && kept.len() < MAX_DERIVED {
                insert_sorted(kept, text);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| keep_strings(kept, item)),
        Value::Object(map) => map.values().for_each(|item| keep_strings(kept, item)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A string as it appears inside a JSON string literal.
fn escaped(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(text)
        .to_owned()
}

fn serialize<T: Serialize + ?Sized>(value: &T, pretty: bool) -> String {
    if pretty {
        serde_json::to_string_pretty(value).unwrap_or_default()
    } else {
        serde_json::to_string(value).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AWKWARD: &str = r#"p"a\ss<&>'1"#;

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
    fn derived_forms_are_masked_and_none_is_short() {
        assert_eq!(
            masked_forms("Hunter2x"),
            ["Hunter2x", "HUNTER2X", "hunter2x", "x2retnuH"]
        );
        assert_eq!(
            masked_forms("big dog"),
            ["big dog", "BIG DOG", "Big Dog", "god gib"]
        );
        // Four characters is enough; fewer are never masked, in any form.
        assert_eq!(masked_forms("1000"), ["1000", "0001"]);
        assert!(masked_forms("ab").is_empty());
        let secrets = Secrets::new(false);
        secrets.remember("abc");
        assert_eq!(secrets.redact("abc ABC cba"), "abc ABC cba");
        secrets.remember(AWKWARD);
        for form in masked_forms(AWKWARD) {
            assert_eq!(secrets.redact(&format!("[{form}]")), "[***]", "{form}");
        }
    }

    #[test]
    fn json_is_masked_inside_strings_only() {
        let secrets = Secrets::new(false);
        secrets.remember("1000");
        let mut value = json!({"left": 1000, "1000": "1000 hands", "list": [1000, "x1000x"]});
        secrets.mask_json(&mut value);
        assert_eq!(
            value,
            json!({"left": 1000, "1000": "*** hands", "list": [1000, "x***x"]})
        );
        let text = secrets.to_json(&json!({"left": 1000, "n": [10001]}), false);
        assert_eq!(text, r#"{"left":1000,"n":[10001]}"#);
    }

    #[test]
    fn escaped_forms_cannot_hide_a_secret() {
        let secrets = Secrets::new(false);
        secrets.remember(AWKWARD);
        let upper = AWKWARD.to_uppercase();
        let value = json!({"msg": format!("pw {AWKWARD} and {upper}"), "n": 1});
        for pretty in [false, true] {
            let text = secrets.to_json(&value, pretty);
            let back: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, json!({"msg": "pw *** and ***", "n": 1}), "{text}");
            assert!(!text.contains(&escaped(AWKWARD)), "{text}");
        }
        // Without a secret in it, the text is what serde_json writes.
        assert_eq!(secrets.to_json(&json!({"a": "b"}), false), r#"{"a":"b"}"#);
        // A typed value comes back typed, masked.
        let masked: Vec<String> = secrets.masked(&vec![AWKWARD.to_owned(), "ok".into()]);
        assert_eq!(masked, ["***", "ok"]);
    }

    #[test]
    fn renders_that_use_secrets_are_recognised_later() {
        let secrets = Secrets::new(true);
        let mark = secrets.uses();
        let value = secrets.lookup("EMCEE_TEST_SURELY_UNSET_SECRET").unwrap();
        assert_ne!(secrets.uses(), mark);
        // What such a render produced is recognised, though it is not the secret.
        let sliced = json!({"msg": format!("it is {}", &value[3..])});
        secrets.rendered(mark, &sliced);
        assert!(secrets.shows_secret(&json!([sliced["msg"]])));
        let shown = sliced["msg"].as_str().unwrap();
        assert_eq!(secrets.redact(shown), shown);
        assert_eq!(secrets.hide_fields(&format!("said {shown}")), "said ***");
        // A render that used no secret but printed a value holding one counts as a use.
        let mark = secrets.uses();
        secrets.rendered(mark, &json!(["x", value.to_uppercase()]));
        assert_ne!(secrets.uses(), mark);
        let mark = secrets.uses();
        secrets.rendered(mark, &json!("nothing secret"));
        assert_eq!(secrets.uses(), mark);
        assert!(!secrets.shows_secret(&json!({"a": ["nothing secret", 1000]})));
    }

    #[test]
    fn log_lines_are_masked_with_the_secrets_of_every_run_ended_or_not() {
        let first = Secrets::new(false);
        first.remember("first-run-pw");
        let second = Secrets::new(false);
        second.remember("second-run-pw-longer");
        // A secret that contains another's is masked whole.
        second.remember("xfirst-run-pwx");
        assert_eq!(
            redact_all("a first-run-pw b second-run-pw-longer c xfirst-run-pwx"),
            "a *** b *** c ***"
        );
        drop(first);
        let _third = Secrets::new(false);
        assert_eq!(redact_all("FIRST-RUN-PW"), "***");
        // Only the run's own are masked in what it writes itself.
        assert_eq!(second.redact("first-run-pw"), "first-run-pw");
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
