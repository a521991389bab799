//! Text from outside — participant names from the API, step names, error texts — made
//! safe to print on a terminal or in a plain log: control characters (C0, DEL, C1) and
//! the invisible characters that reorder or hide text (bidi controls, zero-width
//! characters) are shown escaped, as `\u{1b}`, so a guest's display name can neither
//! drive the operator's terminal nor make a line read as something it is not.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether a character is shown escaped.
fn hidden(c: char) -> bool {
    c.is_control() // C0, DEL and C1
        || matches!(c,
            '\u{200B}'..='\u{200F}' // zero-width spaces and joiners, LRM, RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{061C}' // Arabic letter mark
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{FEFF}' // zero-width no-break space
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{206A}'..='\u{206F}' // deprecated format characters
            | '\u{180E}' // Mongolian vowel separator
            | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
            | '\u{034F}' // combining grapheme joiner
            | '\u{17B4}' | '\u{17B5}' // Khmer inherent vowels
            | '\u{FFF9}'..='\u{FFFB}' // interlinear annotation
            | '\u{E0000}'..='\u{E007F}') // tag characters
}

/// `text` as one line, with every hidden character (line breaks too) escaped.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text of several lines, each made [`printable`]; the line breaks stay.
pub(crate) fn printable_lines(text: &str) -> String {
    text.split('\n')
        .map(printable)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_invisible_characters_are_escaped() {
        assert_eq!(printable("Alice Zhang"), "Alice Zhang");
        assert!(matches!(printable("Bob 李"), Cow::Borrowed(_)));
        assert_eq!(
            printable("Eve\u{1b}[2J\u{1b}]0;x\u{7}\r\n\t"),
            "Eve\\u{1b}[2J\\u{1b}]0;x\\u{7}\\u{d}\\u{a}\\u{9}"
        );
        assert_eq!(printable("a\u{9b}31m"), "a\\u{9b}31m");
        assert_eq!(printable("abc\u{202e}fed"), "abc\\u{202e}fed");
        for c in ['\u{200b}', '\u{200f}', '\u{202a}', '\u{2066}', '\u{2069}'] {
            assert_eq!(printable(&c.to_string()), format!("\\u{{{:x}}}", c as u32));
        }
        for c in [
            '\u{2060}',
            '\u{180e}',
            '\u{3164}',
            '\u{115f}',
            '\u{e0041}',
            '\u{206f}',
        ] {
            assert_eq!(printable(&c.to_string()), format!("\\u{{{:x}}}", c as u32));
        }
        assert_eq!(printable_lines("a\u{1b}\nb\r\n"), "a\\u{1b}\nb\\u{d}\n");
    }
}
