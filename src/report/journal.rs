//! The journal: every event of a run appended to `<state dir>/runs/<run id>.jsonl`, one
//! JSON object per line, flushed as it happens, so that nothing is lost if the process
//! dies.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::clock::SharedClock;
use crate::error::Error;
use crate::run::{Event, Listener};
use crate::template::Secrets;

pub struct Journal {
    out: BufWriter<File>,
    path: PathBuf,
    secrets: Arc<Secrets>,
    clock: SharedClock,
}

impl Journal {
    /// Creates the journal of run `run_id` under `state_dir`; fails before anything
    /// runs if the directory cannot be written.
    pub fn create(
        state_dir: &Path,
        run_id: &str,
        secrets: Arc<Secrets>,
        clock: SharedClock,
    ) -> Result<Journal, Error> {
        let dir = state_dir.join("runs");
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::io(
                format!("cannot create the state directory {}", dir.display()),
                e,
            )
        })?;
        let path = dir.join(format!("{run_id}.jsonl"));
        let file = File::create(&path)
            .map_err(|e| Error::io(format!("cannot write the journal {}", path.display()), e))?;
        Ok(Journal {
            out: BufWriter::new(file),
            path,
            secrets,
            clock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Listener for Journal {
    fn on(&mut self, event: &Event) {
        let Ok(mut value) = serde_json::to_value(event) else {
            return;
        };
        if let Value::Object(map) = &mut value {
            map.insert(
                "ts".into(),
                Value::String(format!("{:.6}", self.clock.now())),
            );
        }
        let line = self.secrets.redact(&value.to_string());
        // A full disk must not stop the meeting; the run's own output still shows it.
        let _ = writeln!(self.out, "{line}").and_then(|()| self.out.flush());
    }
}
