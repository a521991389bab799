//! Report files are written whole or not at all: into a temporary file beside the
//! target, then renamed over it. A run stopped at any moment (a second signal exits at
//! once) leaves at a report path either a complete report or whatever was there before,
//! never an empty or half-written file. Whether a path can be written is tested the same
//! way, with a temporary file, so the test itself never truncates anything.

use std::io::Write;
use std::path::Path;

/// The directory a file at `path` goes in (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Fails unless a file can be written at `path`, without touching `path` itself.
pub(crate) fn probe(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "it is a directory",
        ));
    }
    tempfile::Builder::new()
        .prefix(".emcee-probe-")
        .tempfile_in(parent(path))
        .map(drop)
        .map_err(plain)
}

/// Writes `text` to `path` through a temporary file renamed into place.
pub(crate) fn write(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = tempfile::Builder::new()
        .prefix(".emcee-")
        .tempfile_in(parent(path))
        .map_err(plain)?;
    file.write_all(text.as_bytes())?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| plain(e.error))?;
    Ok(())
}

/// The system's error without the temporary file's name (which tempfile adds as
/// ` at path …`): it means nothing to whoever asked for `path`.
fn plain(error: std::io::Error) -> std::io::Error {
    let text = error.to_string();
    match text.split_once(" at path ") {
        Some((reason, _)) => std::io::Error::new(error.kind(), reason.to_owned()),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probing_leaves_an_existing_file_alone_and_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, "previous").unwrap();
        probe(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "previous");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(
            probe(dir.path()).is_err(),
            "a directory is not a report path"
        );
        let missing = probe(&dir.path().join("missing/report.json")).unwrap_err();
        assert!(!missing.to_string().contains(".emcee"), "{missing}");
    }

    #[test]
    fn writes_replace_the_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, "previous").unwrap();
        write(&path, "{}\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
