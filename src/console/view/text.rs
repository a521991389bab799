//! The view's small pieces: hostile text made printable and cut to the columns it may
//! take, clock times and countdowns out of the run's RFC 3339 strings, the styles with
//! and without colours, and the big letters of HELD.

use std::time::Duration;

use ratatui::style::{Color, Modifier, Style};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::printable::printable;

/// `text` made printable and cut to at most `width` columns, an ellipsis marking a cut.
pub(crate) fn fit(text: &str, width: usize) -> String {
    let text = printable(text);
    if text.width() <= width {
        return text.into_owned();
    }
    let Some(room) = width.checked_sub(1) else {
        return String::new();
    };
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > room {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// [`fit`], then padded with spaces to exactly `width` columns.
pub(crate) fn pad(text: &str, width: usize) -> String {
    let mut out = fit(text, width);
    let used = out.width();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

/// The wall-clock part of an RFC 3339 time, `14:30:05`; nothing for anything else.
pub(crate) fn clock(rfc3339: &str) -> Option<jiff::civil::Time> {
    let (_, time) = rfc3339.split_once('T')?;
    let end = time.find(['+', '-', 'Z', 'z', '[']).unwrap_or(time.len());
    time[..end].parse().ok()
}

/// `clock` as `HH:MM:SS`, `--:--:--` when there is none.
pub(crate) fn hms(rfc3339: Option<&str>) -> String {
    rfc3339
        .and_then(clock)
        .map_or_else(|| "--:--:--".into(), |t| t.strftime("%H:%M:%S").to_string())
}

/// The run's clock `since` after the state that said `now`.
pub(crate) fn clock_now(now: &str, since: Duration) -> String {
    let Some(time) = clock(now) else {
        return "--:--:--".into();
    };
    let since = jiff::SignedDuration::try_from(since).unwrap_or(jiff::SignedDuration::ZERO);
    time.wrapping_add(since).strftime("%H:%M:%S").to_string()
}

/// A countdown of `left_ms` as of the state, `since` later: `1:02:03`, `4:05`, `0:00`;
/// whole seconds rounded up, so that `0:00` is shown only once it is due.
pub(crate) fn countdown(left_ms: u64, since: Duration) -> String {
    let since = u64::try_from(since.as_millis()).unwrap_or(u64::MAX);
    let seconds = left_ms.saturating_sub(since).div_ceil(1000);
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// HELD, three rows high.
pub(crate) const HELD: [&str; 3] = ["█ █ ███ █   ██▄", "███ ██  █   █ █", "█ █ ███ ███ ██▀"];

/// The styles of the view. Without colours (`NO_COLOR`) only modifiers mark things.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Theme {
    pub color: bool,
}

impl Theme {
    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub(crate) fn good(self) -> Style {
        self.fg(Color::Green)
    }

    pub(crate) fn bad(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub(crate) fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }

    pub(crate) fn operator(self) -> Style {
        self.fg(Color::Cyan)
    }

    pub(crate) fn now(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub(crate) fn dim(self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    pub(crate) fn bar() -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub(crate) fn key(self) -> Style {
        self.fg(Color::Cyan)
            .add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }

    pub(crate) fn held(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub(crate) fn cursor() -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub(crate) fn title() -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitting_counts_columns_and_escapes_controls() {
        assert_eq!(fit("Alice", 10), "Alice");
        assert_eq!(fit("Alice Zhang", 6), "Alice…");
        assert_eq!(fit("李小龙李小龙", 5), "李小…");
        assert_eq!(fit("李小龙", 6), "李小龙");
        assert_eq!(fit("Eve\u{1b}[2J", 20), "Eve\\u{1b}[2J");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit("abc", 1), "…");
        assert_eq!(pad("李", 4), "李  ");
        assert_eq!(pad("Alice Zhang", 6).width(), 6);
    }

    #[test]
    fn clocks_and_countdowns() {
        assert_eq!(hms(Some("2026-12-02T14:30:05.123+08:00")), "14:30:05");
        assert_eq!(hms(Some("2026-12-02T06:30:05Z")), "06:30:05");
        assert_eq!(hms(Some("garbage")), "--:--:--");
        assert_eq!(hms(Some("xT99:99")), "--:--:--");
        assert_eq!(hms(None), "--:--:--");
        assert_eq!(
            clock_now("2026-12-02T23:59:59.500-05:00", Duration::from_millis(700)),
            "00:00:00"
        );
        assert_eq!(countdown(252_000, Duration::ZERO), "4:12");
        assert_eq!(countdown(252_000, Duration::from_secs(2)), "4:10");
        assert_eq!(countdown(1, Duration::ZERO), "0:01");
        assert_eq!(countdown(3_723_000, Duration::ZERO), "1:02:03");
        assert_eq!(countdown(5_000, Duration::from_secs(60)), "0:00");
    }
}
