//! The journal: every event of a run appended to `<state dir>/runs/<run id>.jsonl`, one
//! JSON object per line, each written and flushed as soon as it happens, so that
//! nothing is lost if the process dies. The writing is done by a thread of its own, so
//! that a slow disk never holds up a cue; dropping the journal waits for it to finish.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;

use crate::clock::SharedClock;
use crate::error::Error;
use crate::run::{Event, Listener};
use crate::secrets::Secrets;

pub struct Journal {
    lines: Option<Sender<String>>,
    writer: Option<JoinHandle<()>>,
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
        let (lines, received) = channel::<String>();
        let writer = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || {
                let mut out = BufWriter::new(file);
                for line in received {
                    // A full disk must not stop the meeting; the run's own output still shows it.
                    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
                }
            })
            .map_err(|e| Error::io("cannot start the journal writer", e))?;
        Ok(Journal {
            lines: Some(lines),
            writer: Some(writer),
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
        // Serialized straight to text with the timestamp spliced in front: building a
        // JSON value first cost a fifth of a long run's instructions. `to_json` builds
        // one only for an event that holds a secret, to mask it in its strings.
        let json = self.secrets.to_json(event, false);
        let body = json.strip_prefix('{').unwrap_or(&json);
        let line = format!("{{\"ts\":\"{:.6}\",{body}", self.clock.now());
        if let Some(lines) = &self.lines {
            let _ = lines.send(line);
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        // Closing the channel ends the writer once it has written everything.
        self.lines.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// The journal and reports of a resumed run: right after the run's start they hear
/// the events carried over from the run it resumes (its operator commands), so that
/// they, and reports rebuilt from them, keep what happened in the first run.
pub(crate) struct Carried<L> {
    inner: L,
    carried: Vec<Event>,
}

impl<L: Listener> Carried<L> {
    pub(crate) fn new(inner: L, carried: Vec<Event>) -> Carried<L> {
        Carried { inner, carried }
    }
}

impl<L: Listener> Listener for Carried<L> {
    fn on(&mut self, event: &Event) {
        self.inner.on(event);
        if matches!(event, Event::RunStarted { .. }) {
            for carried in std::mem::take(&mut self.carried) {
                self.inner.on(&carried);
            }
        }
    }
}
