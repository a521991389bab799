//! The record of every API call the emulator answered, for tests and rehearsal
//! reviews: what was called, when on the emulator's clock, and with which outcome.
//! Secrets never enter it: password and token values are masked on the way in. It is
//! bounded, since the emulator is left running: each body is kept to its first
//! [`BODY_CAP`] bytes, and the oldest entries go past [`DEFAULT_CAPACITY`] entries or
//! [`DEFAULT_MAX_BYTES`] of memory.

use std::collections::VecDeque;
use std::fmt;

use indexmap::IndexMap;
use serde::Serialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Oldest entries are dropped past this many; `seq` shows any gap.
pub(super) const DEFAULT_CAPACITY: usize = 100_000;
/// …or once the entries take about this much memory.
pub(super) const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;
/// The most of a body an entry keeps, as masked JSON text. Parsed JSON takes many
/// times the memory of its text, so a larger body is kept as text, cut here.
pub(super) const BODY_CAP: usize = 4 * 1024;
/// How much of a body that is not JSON is shown.
const NOT_JSON_SHOWN: usize = 256;

const MASK: &str = "***";

#[derive(Debug, Clone, Serialize)]
pub struct LoggedRequest {
    /// 1, 2, 3… in order of arrival.
    pub seq: u64,
    pub request_id: String,
    /// RFC 3339 with microseconds, on the emulator's clock.
    pub received: String,
    pub method: String,
    pub path: String,
    pub query: IndexMap<String, String>,
    /// Form of `X-Conference-Authorization`: `plain`, `basic`, or absent.
    pub auth: Option<&'static str>,
    /// Absent when the connection was dropped before an answer.
    pub status: Option<u16>,
    pub error_code: Option<String>,
    /// The injected fault that decided the answer, if any.
    pub fault: Option<&'static str>,
    /// The JSON body with secrets masked; bodies that are not JSON are shown as text.
    /// A body longer than [`BODY_CAP`] as masked JSON is its first `BODY_CAP` bytes, as
    /// a string, with `body_truncated` set.
    pub body: Option<Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub body_truncated: bool,
}

impl LoggedRequest {
    /// About how much memory the entry holds, for the log's bound.
    fn footprint(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.request_id.len()
            + self.received.len()
            + self.method.len()
            + self.path.len()
            + self
                .query
                .iter()
                .map(|(key, value)| 3 * std::mem::size_of::<String>() + key.len() + value.len())
                .sum::<usize>()
            + self.error_code.as_ref().map_or(0, String::len)
            + self.body.as_ref().map_or(0, value_footprint)
    }
}

/// About how much memory a parsed JSON value holds: its nodes and their text.
fn value_footprint(value: &Value) -> usize {
    std::mem::size_of::<Value>()
        + match value {
            Value::String(text) => text.len(),
            Value::Array(items) => items.iter().map(value_footprint).sum(),
            Value::Object(map) => map
                .iter()
                // The key, and the map's index slot and hash beside each entry.
                .map(|(key, inner)| {
                    std::mem::size_of::<String>() + 16 + key.len() + value_footprint(inner)
                })
                .sum(),
            Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        }
}

#[derive(Debug)]
pub(super) struct RequestLog {
    entries: VecDeque<LoggedRequest>,
    capacity: usize,
    max_bytes: usize,
    /// The entries' footprint, kept with them.
    bytes: usize,
    next_seq: u64,
}

impl Default for RequestLog {
    fn default() -> Self {
        RequestLog::new(DEFAULT_CAPACITY, DEFAULT_MAX_BYTES)
    }
}

impl RequestLog {
    /// A log of at most `capacity` entries taking about `max_bytes` at most.
    pub(super) fn new(capacity: usize, max_bytes: usize) -> Self {
        RequestLog {
            entries: VecDeque::new(),
            capacity,
            max_bytes,
            bytes: 0,
            next_seq: 1,
        }
    }

    /// Appends an entry, assigning its sequence number and dropping the oldest
    /// entries as far as the bounds need.
    pub(super) fn push(&mut self, mut entry: LoggedRequest) {
        entry.seq = self.next_seq;
        self.next_seq += 1;
        let size = entry.footprint();
        while !self.entries.is_empty()
            && (self.entries.len() >= self.capacity || self.bytes + size > self.max_bytes)
        {
            if let Some(oldest) = self.entries.pop_front() {
                self.bytes -= oldest.footprint();
            }
        }
        self.bytes += size;
        self.entries.push_back(entry);
    }

    /// Entries after sequence number `since`.
    pub(super) fn since(&self, since: u64) -> Vec<LoggedRequest> {
        self.entries
            .iter()
            .filter(|e| e.seq > since)
            .cloned()
            .collect()
    }

    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}

/// Whether a query or body field holds a secret.
fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "pwd", "token", "secret", "authorization"]
        .iter()
        .any(|word| key.contains(word))
}

pub(super) fn masked_query(pairs: Vec<(String, String)>) -> IndexMap<String, String> {
    pairs
        .into_iter()
        .map(|(key, value)| {
            let value = if is_secret(&key) {
                MASK.to_owned()
            } else {
                value
            };
            (key, value)
        })
        .collect()
}

/// The body as the log shows it, and whether it was cut: parsed JSON with secret
/// fields masked, or — past [`BODY_CAP`] — the start of that JSON as text; the first
/// bytes of a body that is not JSON.
///
/// The body is never parsed whole into a [`Value`]: masking streams it into text that
/// stops growing at the cap, so a large body costs no more than its bytes.
pub(super) fn masked_body(bytes: &[u8]) -> (Option<Value>, bool) {
    if bytes.is_empty() {
        return (None, false);
    }
    let mut out = CappedText::default();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = Masked {
        out: &mut out,
        prefix: "",
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    match parsed {
        // The masked text is valid JSON no larger than the cap.
        Ok(()) if !out.cut => (serde_json::from_str(&out.text).ok(), false),
        Ok(()) => (Some(Value::String(out.text)), true),
        Err(_) => {
            let shown = &bytes[..bytes.len().min(NOT_JSON_SHOWN)];
            let text = String::from_utf8_lossy(shown);
            (
                Some(Value::String(format!("(not JSON) {text}"))),
                bytes.len() > NOT_JSON_SHOWN,
            )
        }
    }
}

/// Text that keeps its first [`BODY_CAP`] bytes and notes that more was cut.
#[derive(Default)]
struct CappedText {
    text: String,
    cut: bool,
}

impl CappedText {
    fn push(&mut self, piece: &str) {
        if self.cut {
            return;
        }
        let room = BODY_CAP - self.text.len();
        if piece.len() <= room {
            self.text.push_str(piece);
        } else {
            let mut end = room;
            while !piece.is_char_boundary(end) {
                end -= 1;
            }
            self.text.push_str(&piece[..end]);
            self.cut = true;
        }
    }

    fn push_json(&mut self, value: &impl Serialize) {
        if !self.cut {
            // Plain numbers and strings always serialize.
            self.push(&serde_json::to_string(value).unwrap_or_default());
        }
    }
}

/// Writes one JSON value as compact text with secret fields masked, after `prefix`
/// (the comma between array items).
struct Masked<'a> {
    out: &'a mut CappedText,
    prefix: &'static str,
}

impl<'de> DeserializeSeed<'de> for Masked<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Masked<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.out.push(self.prefix);
        self.out.push_json(&v);
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.out.push(self.prefix);
        self.out.push_json(&v);
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.out.push(self.prefix);
        self.out.push_json(&v);
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.out.push(self.prefix);
        self.out.push_json(&v);
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.out.push(self.prefix);
        self.out.push_json(&v);
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.out.push(self.prefix);
        self.out.push("null");
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.out.push(self.prefix);
        self.out.push("[");
        let mut prefix = "";
        while seq
            .next_element_seed(Masked {
                out: &mut *self.out,
                prefix,
            })?
            .is_some()
        {
            prefix = ",";
        }
        self.out.push("]");
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.out.push(self.prefix);
        self.out.push("{");
        let mut first = true;
        while let Some(key) = map.next_key::<String>()? {
            if !first {
                self.out.push(",");
            }
            first = false;
            self.out.push_json(&key);
            self.out.push(":");
            if is_secret(&key) {
                map.next_value::<IgnoredAny>()?;
                self.out.push_json(&MASK);
            } else {
                map.next_value_seed(Masked {
                    out: &mut *self.out,
                    prefix: "",
                })?;
            }
        }
        self.out.push("}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_anywhere_in_a_body() {
        let (body, truncated) =
            masked_body(br#"{"applyChair":1,"chairmanPwd":"123456","x":[{"pwd":"9"}]}"#);
        let body = body.unwrap();
        assert!(!truncated);
        assert_eq!(body["chairmanPwd"], "***");
        assert_eq!(body["x"][0]["pwd"], "***");
        assert_eq!(body["applyChair"], 1);
        let query = masked_query(vec![
            ("conferenceID".into(), "1".into()),
            ("password".into(), "p".into()),
        ]);
        assert_eq!(query["password"], "***");
        assert_eq!(query["conferenceID"], "1");
    }

    #[test]
    fn small_bodies_are_kept_whole_as_json() {
        let text = r#"{"a":[1,-2,2.5,true,null,"x\"y",{"b":[]}],"c":{}}"#;
        let (body, truncated) = masked_body(text.as_bytes());
        assert_eq!(body.unwrap(), serde_json::from_str::<Value>(text).unwrap());
        assert!(!truncated);
        let (body, truncated) = masked_body(b"name=x&pwd=1");
        assert_eq!(body.unwrap(), "(not JSON) name=x&pwd=1");
        assert!(!truncated);
    }

    #[test]
    fn large_bodies_keep_their_masked_start_only() {
        let items: Vec<Value> = (0..5000)
            .map(|i| serde_json::json!({"name": format!("n{i}"), "password": "hunter2"}))
            .collect();
        let text = serde_json::to_string(&serde_json::json!({"attendees": items})).unwrap();
        let (body, truncated) = masked_body(text.as_bytes());
        assert!(truncated);
        let kept = body.unwrap();
        let kept = kept.as_str().unwrap();
        assert_eq!(kept.len(), BODY_CAP);
        assert!(kept.starts_with(r#"{"attendees":[{"name":"n0","password":"***"}"#));
        assert!(!kept.contains("hunter2"));
        // Multi-byte text is cut on a character boundary.
        let wide = format!("[\"{}\"]", "é".repeat(BODY_CAP));
        let (body, truncated) = masked_body(wide.as_bytes());
        assert!(truncated);
        assert!(body.unwrap().as_str().unwrap().len() <= BODY_CAP);
    }

    fn entry(body: Option<Value>) -> LoggedRequest {
        LoggedRequest {
            seq: 0,
            request_id: "r".into(),
            received: "t".into(),
            method: "PUT".into(),
            path: "/p".into(),
            query: IndexMap::new(),
            auth: None,
            status: Some(200),
            error_code: None,
            fault: None,
            body,
            body_truncated: false,
        }
    }

    #[test]
    fn the_log_is_bounded_by_entries_and_by_memory() {
        let mut log = RequestLog::new(3, usize::MAX);
        (0..5).for_each(|_| log.push(entry(None)));
        let seqs: Vec<u64> = log.since(0).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);

        let big = Value::String("x".repeat(BODY_CAP));
        let one = entry(Some(big.clone())).footprint();
        let mut log = RequestLog::new(usize::MAX, 10 * one);
        (0..25).for_each(|_| log.push(entry(Some(big.clone()))));
        assert_eq!(log.since(0).len(), 10);
        assert_eq!(log.since(0)[0].seq, 16);
        assert!(log.bytes <= 10 * one);
        log.clear();
        assert_eq!(log.bytes, 0);
    }
}
