//! The record of every API call the emulator answered, for tests and rehearsal
//! reviews: what was called, when on the emulator's clock, and with which outcome.
//! Secrets never enter it: password and token values are masked on the way in.

use std::collections::VecDeque;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

/// Oldest entries are dropped past this many; `seq` shows any gap.
pub const DEFAULT_CAPACITY: usize = 100_000;

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
    pub body: Option<Value>,
}

#[derive(Debug)]
pub struct RequestLog {
    entries: VecDeque<LoggedRequest>,
    capacity: usize,
    next_seq: u64,
}

impl Default for RequestLog {
    fn default() -> Self {
        RequestLog {
            entries: VecDeque::new(),
            capacity: DEFAULT_CAPACITY,
            next_seq: 1,
        }
    }
}

impl RequestLog {
    /// Appends an entry, assigning its sequence number.
    pub fn push(&mut self, mut entry: LoggedRequest) {
        entry.seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// Entries after sequence number `since`.
    pub fn since(&self, since: u64) -> Vec<LoggedRequest> {
        self.entries
            .iter()
            .filter(|e| e.seq > since)
            .cloned()
            .collect()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

/// Whether a query or body field holds a secret.
fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "pwd", "token", "secret", "authorization"]
        .iter()
        .any(|word| key.contains(word))
}

pub fn masked_query(pairs: Vec<(String, String)>) -> IndexMap<String, String> {
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

/// The body as the log shows it: parsed JSON with secret fields masked, or the first
/// bytes of a body that is not JSON.
pub fn masked_body(bytes: &[u8]) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut value) => {
            mask(&mut value);
            Some(value)
        }
        Err(_) => {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(256)]);
            Some(Value::String(format!("(not JSON) {text}")))
        }
    }
}

fn mask(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if is_secret(key) {
                    *inner = Value::String(MASK.into());
                } else {
                    mask(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_anywhere_in_a_body() {
        let body =
            masked_body(br#"{"applyChair":1,"chairmanPwd":"123456","x":[{"pwd":"9"}]}"#).unwrap();
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
}
