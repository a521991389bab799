//! One run per meeting: a lock file per meeting id in the state directory, held with the
//! operating system's file lock for the whole run. The OS releases it when the process
//! ends, however it ends, so a crashed run never leaves it stuck. The file also says
//! who holds it, for the run that is turned away.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Who holds a meeting's lock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub started: String,
    pub playbook: String,
}

/// A held lock; dropping it releases it.
#[derive(Debug)]
pub struct MeetingLock {
    file: File,
    path: PathBuf,
}

impl MeetingLock {
    /// Takes the lock of `meeting` in `state_dir`, or says who holds it.
    pub fn acquire(state_dir: &Path, meeting: &str, holder: &Holder) -> Result<MeetingLock, Error> {
        let dir = state_dir.join("locks");
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        let path = dir.join(format!("{meeting}.lock"));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                // The holder's record is one short line; read no more than that could be.
                let _ = (&file).take(64 << 10).read_to_string(&mut text);
                let who = serde_json::from_str::<Holder>(&text)
                    .map(|h| {
                        format!(
                            "pid {} on {}, started {}, running {}",
                            h.pid, h.host, h.started, h.playbook
                        )
                    })
                    .unwrap_or_else(|_| "another run".to_owned());
                return Err(Error::Locked(format!(
                    "meeting {meeting} is already being run: {who} (lock {})",
                    path.display()
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::io(format!("cannot lock {}", path.display()), e));
            }
        }
        let record = serde_json::to_string(holder).unwrap_or_default();
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(record.as_bytes()))
            .and_then(|()| file.flush())
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        Ok(MeetingLock { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for MeetingLock {
    fn drop(&mut self) {
        // Clear the holder, then let go; the OS would release it anyway.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// The state directory: `--state-dir`, `EMCEE_STATE_DIR`, or the user's XDG state
/// directory (`~/.local/state/emcee`).
pub fn state_dir(given: Option<&Path>) -> PathBuf {
    if let Some(dir) = given {
        return dir.to_owned();
    }
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("emcee")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder_and_is_free_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let holder = Holder {
            pid: 42,
            host: "studio".into(),
            started: "2026-11-22T10:00:00Z".into(),
            playbook: "town-hall.yaml".into(),
        };
        let first = MeetingLock::acquire(dir.path(), "914044873", &holder).unwrap();
        let error = MeetingLock::acquire(dir.path(), "914044873", &holder).unwrap_err();
        assert_eq!(error.exit_code(), crate::error::ExitCode::Locked);
        assert!(error.to_string().contains("pid 42 on studio"), "{error}");
        assert!(
            MeetingLock::acquire(dir.path(), "222333444", &holder).is_ok(),
            "other meetings are free"
        );
        drop(first);
        assert!(MeetingLock::acquire(dir.path(), "914044873", &holder).is_ok());
    }
}
