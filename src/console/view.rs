//! The console's screen, drawn from a [`ShowState`] and the console's own [`Ui`] alone
//! (pure: the snapshot tests draw it on ratatui's test backend). A title bar; the
//! timeline beside the meeting and the roster; the log; a status line for replies and
//! the abort question; the keys. Below 80×24 it says so instead.

mod panels;
#[cfg(test)]
mod tests;
pub(crate) mod text;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use unicode_width::UnicodeWidthStr;

use self::text::{Theme, clock_now, fit};
use super::keys::PERSON_KEYS;
use super::ui::{MIN_HEIGHT, MIN_WIDTH, Ui};
use crate::control::protocol::ShowState;

/// Draws the whole screen.
pub(crate) fn draw(frame: &mut Frame, state: &ShowState, ui: &Ui) {
    let area = frame.area();
    let theme = Theme { color: ui.color };
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!("terminal too small (need {MIN_WIDTH}×{MIN_HEIGHT})");
        frame.render_widget(Paragraph::new(fit(&text, usize::from(area.width))), area);
        return;
    }
    let keys = key_lines(state, usize::from(area.width), theme);
    let key_rows = u16::try_from(keys.len()).unwrap_or(2);
    // The log grows with the terminal, from 3 lines at 24 rows.
    let log_rows = 5 + (area.height - MIN_HEIGHT) / 3;
    let [title, main, log, status, keybar] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(log_rows),
        Constraint::Length(1),
        Constraint::Length(key_rows),
    ])
    .areas(area);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(56), Constraint::Percentage(44)]).areas(main);
    let [meeting, roster] = Layout::vertical([
        Constraint::Length(panels::meeting_height(state)),
        Constraint::Min(0),
    ])
    .areas(right);

    title_bar(frame, title, state, ui, theme);
    panels::timeline(frame, left, state, ui, theme);
    panels::meeting(frame, meeting, state, theme);
    panels::roster(frame, roster, state, ui, theme);
    panels::log(frame, log, state, ui, theme);
    status_line(frame, status, ui, theme);
    frame.render_widget(Paragraph::new(keys), keybar);
    if ui.help {
        help(frame, main, state);
    }
}

/// Which run this is, HELD, and the run's clock.
fn title_bar(frame: &mut Frame, area: Rect, state: &ShowState, ui: &Ui, theme: Theme) {
    let width = usize::from(area.width);
    let mut right = String::new();
    if state.held {
        right.push_str("HELD  ");
    }
    if let Some(outcome) = &state.finished {
        right.push_str(&format!("finished: {outcome}  "));
    }
    right.push_str(&clock_now(&state.now, ui.since_state));
    right.push(' ');
    let left = match &state.run {
        Some(run) => format!(
            " emcee · {} · meeting {}{}",
            run.playbook,
            run.meeting,
            if run.rehearsal { " · rehearsal" } else { "" }
        ),
        None => " emcee".into(),
    };
    let left = fit(&left, width.saturating_sub(right.width() + 1));
    let gap = width.saturating_sub(left.width() + right.width());
    let line = Line::from(vec![
        Span::raw(left),
        Span::raw(" ".repeat(gap)),
        Span::styled(
            right,
            if state.held {
                theme.held().patch(Theme::bar())
            } else {
                Theme::bar()
            },
        ),
    ])
    .style(Theme::bar());
    frame.render_widget(Paragraph::new(line), area);
}

/// The abort question, the run's outcome once it is over, or the last reply.
fn status_line(frame: &mut Frame, area: Rect, ui: &Ui, theme: Theme) {
    let width = usize::from(area.width);
    let line = if ui.confirm_abort {
        Line::styled(
            fit("abort the show? y/N", width),
            theme.bad().patch(Theme::cursor()),
        )
    } else if let Some(outcome) = &ui.ended {
        Line::styled(
            fit(
                &format!("the run is over: {outcome} · press any key to leave"),
                width,
            ),
            Theme::title(),
        )
    } else if let Some(status) = &ui.status {
        let (mark, style) = if status.ok {
            ("✓", theme.good())
        } else {
            ("✗", theme.bad())
        };
        Line::styled(fit(&format!("{mark} {}", status.message), width), style)
    } else {
        Line::raw("")
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// Every key and what it does, as the key bar shows them.
fn key_list(state: &ShowState) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = [
        ("h", if state.held { "resume" } else { "hold" }),
        ("g", "go"),
        ("s", "skip"),
        ("a", "abort"),
        ("p", "panic"),
        ("↑↓", "select"),
    ]
    .into_iter()
    .map(|(key, label)| (key.to_string(), label.to_string()))
    .collect();
    for (key, action) in PERSON_KEYS {
        keys.push((key.to_string(), action.replace('_', " ")));
    }
    for (key, label) in [("L", "lower all"), ("q", "quit"), ("?", "help")] {
        keys.push((key.to_string(), label.to_string()));
    }
    keys
}

/// The key bar, wrapped onto as many lines as the width needs (two at 80 columns).
fn key_lines(state: &ShowState, width: usize, theme: Theme) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = Vec::new();
    let mut line: Vec<Span> = Vec::new();
    let mut used = 0;
    for (key, label) in key_list(state) {
        let item = key.width() + 1 + label.width() + 2;
        if used + item > width && !line.is_empty() {
            lines.push(Line::from(std::mem::take(&mut line)));
            used = 0;
        }
        line.push(Span::styled(key, theme.key()));
        line.push(Span::raw(format!(" {label}  ")));
        used += item;
    }
    lines.push(Line::from(line));
    lines.truncate(3);
    lines
}

/// The help over the main panels.
fn help(frame: &mut Frame, main: Rect, state: &ShowState) {
    let panic = match &state.panic_scene {
        Some(name) => format!("play the panic scene `{name}` now, no question asked"),
        None => "play the panic scene (this playbook has none)".into(),
    };
    let rows: Vec<(&str, String)> = vec![
        ("h", "hold (no new step starts) / resume".into()),
        (
            "g",
            "go: end the wait or countdown, start the next step now".into(),
        ),
        ("s", "skip the next step not yet started".into()),
        ("a", "abort the show (asks first: y to confirm)".into()),
        ("p !", panic),
        ("↑↓ j k", "select someone in the roster".into()),
        (
            "b r l m",
            "broadcast, roll call, lower hand, mute them".into(),
        ),
        ("L", "lower every raised hand".into()),
        (
            "q",
            "leave the console; the run goes on with plain lines".into(),
        ),
        ("? Esc", "close this help".into()),
    ];
    let width = main.width.saturating_sub(4).min(72);
    let height = u16::try_from(rows.len() + 2)
        .unwrap_or(u16::MAX)
        .min(main.height);
    let area = Rect {
        x: main.x + (main.width - width) / 2,
        y: main.y + (main.height - height) / 2,
        width,
        height,
    };
    let block = Block::bordered().title(Span::styled(" Keys ", Theme::title()));
    let inner = block.inner(area);
    let text_width = usize::from(inner.width);
    let lines: Vec<Line> = rows
        .into_iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(format!("{key:>8} "), Theme::title()),
                Span::raw(fit(&what, text_width.saturating_sub(9))),
            ])
        })
        .collect();
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
