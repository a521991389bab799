//! One JSON object per event (`--log-format json`), with a `ts` field.

use std::io::Write;
use std::sync::Arc;

use serde_json::Value;

use crate::clock::SharedClock;
use crate::run::{Event, Listener};
use crate::secrets::Secrets;

pub struct JsonLines<W> {
    out: W,
    secrets: Arc<Secrets>,
    clock: SharedClock,
    deterministic: bool,
    quiet: bool,
}

impl<W: Write + Send> JsonLines<W> {
    pub fn new(out: W, secrets: Arc<Secrets>, clock: SharedClock, deterministic: bool) -> Self {
        JsonLines {
            out,
            secrets,
            clock,
            deterministic,
            quiet: false,
        }
    }

    /// Only errors (`-q`): failed steps, and the end of a failed run.
    pub fn quiet(self, quiet: bool) -> Self {
        JsonLines { quiet, ..self }
    }
}

impl<W: Write + Send> Listener for JsonLines<W> {
    fn on(&mut self, event: &Event) {
        if self.quiet && !super::is_error(event) {
            return;
        }
        let Ok(mut value) = serde_json::to_value(event) else {
            return;
        };
        if let Value::Object(map) = &mut value {
            if self.deterministic {
                for key in ["elapsed", "delay", "started", "finished", "at"] {
                    map.remove(key);
                }
                if let Some(Value::Object(summary)) = map.get_mut("summary") {
                    summary.remove("elapsed");
                    summary.remove("finished");
                }
                if let Some(Value::String(id)) = map.get_mut("run_id") {
                    *id = crate::determinism::varying(std::mem::take(id));
                }
            } else {
                map.insert(
                    "ts".into(),
                    Value::String(format!("{:.6}", self.clock.now())),
                );
            }
        }
        crate::determinism::varying_instants(&mut value, &["started"]);
        let text = self.secrets.to_json(&value, false);
        let _ = writeln!(self.out, "{text}");
        let _ = self.out.flush();
    }
}
