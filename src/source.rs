//! A text file read whole, so that diagnostics can quote the line a problem is on.

use std::path::Path;
use std::sync::Arc;

use crate::error::Error;

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
    /// Reads `path` as UTF-8; the name shown in messages is the path as given.
    pub fn read(path: &Path) -> Result<Arc<Self>, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| Error::io(format!("cannot read {}", path.display()), source))?;
        Ok(Self::new(path.display().to_string(), text))
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
}
