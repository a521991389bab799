//! One run per meeting and endpoint: a lock file per (endpoint, meeting id) in the
//! state directory, held with the operating system's file lock for the whole run. A test
//! against a local emulator never blocks a production run of the same meeting id. The OS releases it when the process
//! ends, however it ends, so a crashed run never leaves it stuck. The file also says
//! who holds it, for the run that is turned away.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Who holds a meeting's lock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Holder {
    pub(crate) pid: u32,
    pub(crate) host: String,
    pub(crate) started: String,
    pub(crate) playbook: String,
    /// The endpoint the holder runs against (absent in locks of older versions).
    #[serde(default)]
    pub(crate) endpoint: String,
}

/// A held lock; dropping it releases it.
#[derive(Debug)]
pub(crate) struct MeetingLock {
    file: File,
}

impl MeetingLock {
    /// Takes the lock of `meeting` at `endpoint` in `state_dir`, or says who holds it.
    pub(crate) fn acquire(
        state_dir: &Path,
        endpoint: &str,
        meeting: &str,
        holder: &Holder,
    ) -> Result<MeetingLock, Error> {
        let dir = state_dir.join("locks");
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        let path = dir.join(file_name(endpoint, meeting));
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
                    "meeting {meeting} at {} is already being run: {who} (lock {})",
                    normalize(endpoint),
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
        Ok(MeetingLock { file })
    }
}

impl Drop for MeetingLock {
    fn drop(&mut self) {
        // Clear the holder, then let go; the OS would release it anyway.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// An endpoint as the lock compares it: `HTTPS://API.example:443/` and
/// `https://api.example` are one service.
fn normalize(endpoint: &str) -> String {
    url::Url::parse(endpoint).map_or_else(
        |_| endpoint.to_owned(),
        |url| url.as_str().trim_end_matches('/').to_owned(),
    )
}

/// `<meeting>@<endpoint hash>.lock`: an endpoint holds `/` and `:`, which have no place
/// in a file name, so it is named by the first 16 hex digits of its SHA-256 (the holder
/// record inside says which endpoint it is). Anything but a letter, digit, `-` or `_`
/// in the meeting id is escaped as `%XX`, so that no id can name another path.
fn file_name(endpoint: &str, meeting: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(normalize(endpoint).as_bytes());
    let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let meeting: String = meeting
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{meeting}@{hash}.lock")
}

/// The state directory: `--state-dir`, `EMCEE_STATE_DIR`, or the user's XDG state
/// directory (`~/.local/state/emcee`).
pub(crate) fn state_dir(given: Option<&Path>) -> PathBuf {
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
            endpoint: PROD.into(),
        };
        let first = MeetingLock::acquire(dir.path(), PROD, "914044873", &holder).unwrap();
        let error = MeetingLock::acquire(dir.path(), PROD, "914044873", &holder).unwrap_err();
        assert_eq!(error.exit_code(), crate::error::ExitCode::Locked);
        assert!(error.to_string().contains("pid 42 on studio"), "{error}");
        assert!(
            error.to_string().contains(&format!("at {PROD} is")),
            "{error}"
        );
        assert!(
            MeetingLock::acquire(dir.path(), PROD, "222333444", &holder).is_ok(),
            "other meetings are free"
        );
        drop(first);
        assert!(MeetingLock::acquire(dir.path(), PROD, "914044873", &holder).is_ok());
    }

    const PROD: &str = "https://api.meeting.huaweicloud.com";

    #[test]
    fn the_same_meeting_at_another_endpoint_is_another_lock() {
        let dir = tempfile::tempdir().unwrap();
        let holder = Holder {
            pid: 42,
            host: "ci".into(),
            started: "2026-11-22T10:00:00Z".into(),
            playbook: "town-hall.yaml".into(),
            endpoint: "http://127.0.0.1:8787".into(),
        };
        let _test = MeetingLock::acquire(dir.path(), "http://127.0.0.1:8787", "914044873", &holder)
            .unwrap();
        let production = MeetingLock::acquire(dir.path(), PROD, "914044873", &holder);
        assert!(production.is_ok(), "{production:?}");
        // One service however it is written.
        let again = MeetingLock::acquire(
            dir.path(),
            "HTTPS://API.meeting.huaweicloud.com:443/",
            "914044873",
            &holder,
        );
        assert!(again.is_err(), "{again:?}");
    }

    #[test]
    fn lock_file_names_are_plain_file_names() {
        for (endpoint, meeting) in [
            ("http://127.0.0.1:8787/a/../../b", "914044873"),
            (PROD, "../../etc/passwd"),
            (PROD, "a/b\\c d"),
        ] {
            let name = file_name(endpoint, meeting);
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_@.%".contains(c))
                    && !name.starts_with('.'),
                "{name}"
            );
            assert!(name.ends_with(".lock"));
        }
        assert_eq!(
            file_name(PROD, "914044873"),
            file_name("https://api.meeting.huaweicloud.com/", "914044873")
        );
        assert_ne!(
            file_name(PROD, "914044873"),
            file_name("http://127.0.0.1:8787", "914044873")
        );
    }
}
