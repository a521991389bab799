//! A text file read whole, so that diagnostics can quote the line a problem is on, and
//! the one function every input file is read through, [`read_bytes`], which stops at a
//! fixed size: a playbook, include or vars file that is `/dev/zero`, a FIFO or simply
//! huge is refused instead of filling memory.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Most bytes read from a playbook, included file, vars file, seed or schedule file.
pub const MAX_INPUT_BYTES: u64 = 4 << 20;
/// Most bytes read from a `NAME_FILE` secret.
pub const MAX_SECRET_BYTES: u64 = 64 << 10;
/// Most bytes read from a run's journal (for `--resume` and `emcee report`): one line
/// per event, so a long run's journal is far larger than any playbook.
pub const MAX_JOURNAL_BYTES: u64 = 256 << 20;

/// Reads at most `cap` bytes of `path`, following symlinks (secrets mounted by
/// Kubernetes are symlinks), whatever kind of file it is; a file with more is an error
/// of kind [`std::io::ErrorKind::FileTooLarge`] rather than a truncated read.
pub fn read_bytes(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    // One byte past the cap tells a file of exactly `cap` bytes from a longer one.
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!(
                "it is larger than {}, the most emcee reads from such a file",
                human_bytes(cap)
            ),
        ));
    }
    Ok(bytes)
}

/// [`read_bytes`], as UTF-8 text.
pub fn read_text(path: &Path, cap: u64) -> std::io::Result<String> {
    String::from_utf8(read_bytes(path, cap)?).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "it is not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to() + 1
            ),
        )
    })
}

/// `4 MiB`, `64 KiB`.
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Why [`SourceFile::read`] has no file to give: this module sits below the error
/// type, which turns these into what a person reads (`From` impls in `error.rs`).
#[derive(Debug)]
pub enum ReadError {
    /// The file could not be read, or is larger than the cap.
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    NotUtf8(NotUtf8),
}

impl From<NotUtf8> for ReadError {
    fn from(error: NotUtf8) -> Self {
        ReadError::NotUtf8(error)
    }
}

/// A file whose bytes are not UTF-8: the text with the bad bytes replaced, and where
/// the first one is.
#[derive(Debug)]
pub struct NotUtf8 {
    pub file: Arc<SourceFile>,
    /// The byte offset of the first bad byte.
    pub at: usize,
    pub byte: u8,
}

/// A byte range in a [`SourceFile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: usize,
    pub len: usize,
}

impl Span {
    pub fn new(offset: usize, len: usize) -> Self {
        Span { offset, len }
    }
}

/// The text of one input file and the name it is shown under in messages.
#[derive(Debug)]
pub struct SourceFile {
    name: String,
    text: String,
}

impl SourceFile {
    /// Reads `path` (at most [`MAX_INPUT_BYTES`]) as UTF-8; the name shown in messages
    /// is the path as given. A file too large, or not UTF-8, is invalid input.
    pub fn read(path: &Path) -> Result<Arc<Self>, ReadError> {
        let bytes = read_bytes(path, MAX_INPUT_BYTES).map_err(|source| ReadError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self::from_bytes(path.display().to_string(), bytes)?)
    }

    /// The file from its bytes; bytes that are not UTF-8 are an error at the first bad
    /// one, so it can be found in an editor.
    pub fn from_bytes(name: String, bytes: Vec<u8>) -> Result<Arc<Self>, NotUtf8> {
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Self::new(name, text)),
            Err(error) => {
                let at = error.utf8_error().valid_up_to();
                let byte = error.as_bytes()[at];
                // The text up to the bad byte is unchanged, so positions in it hold.
                let file = Self::new(name, String::from_utf8_lossy(error.as_bytes()));
                Err(NotUtf8 { file, at, byte })
            }
        }
    }

    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<Self> {
        Arc::new(SourceFile {
            name: name.into(),
            text: text.into(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The byte offset of a 1-based line and 1-based character column, clamped to the
    /// text, so a position reported by a parser can never index out of bounds.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let mut offset = 0;
        for (index, text_line) in self.text.split_inclusive('\n').enumerate() {
            if index + 1 == line {
                let within = text_line
                    .char_indices()
                    .nth(column.saturating_sub(1))
                    .map_or(text_line.trim_end_matches('\n').len(), |(at, _)| at);
                return offset + within;
            }
            offset += text_line.len();
        }
        self.text.len()
    }

    /// The 1-based line and character column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// A span covering `len` characters from a 1-based line and column.
    pub fn span_at(&self, line: usize, column: usize, len: usize) -> Span {
        let start = self.offset_of(line, column);
        let end = self.text[start..]
            .char_indices()
            .nth(len)
            .map_or(self.text.len(), |(at, _)| start + at);
        Span::new(start, end - start)
    }
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_positions_round_trip() {
        let file = SourceFile::new("t.yaml", "a: 1\nbé: 2\n");
        assert_eq!(file.offset_of(2, 1), 5);
        assert_eq!(file.offset_of(2, 3), 8);
        assert_eq!(file.line_col(8), (2, 3));
        assert_eq!(file.offset_of(9, 1), file.text().len());
        assert_eq!(file.span_at(2, 1, 2), Span::new(5, 3));
    }

    #[test]
    fn reading_stops_at_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "12345").unwrap();
        assert_eq!(read_bytes(&path, 5).unwrap(), b"12345");
        let error = read_bytes(&path, 4).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::FileTooLarge);
        assert!(error.to_string().contains("larger than 4 bytes"), "{error}");
        // A file with no end is refused, not read until memory runs out.
        let zero = read_bytes(Path::new("/dev/zero"), MAX_INPUT_BYTES).unwrap_err();
        assert_eq!(zero.kind(), std::io::ErrorKind::FileTooLarge);
    }
}
