//! The four panels of the console: the timeline, the meeting, the roster and the log.
//! Each draws into the rectangle it is given and never past it, whatever the texts.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::text::{HELD, Theme, clock_now, countdown, fit, hms, pad};
use crate::console::ui::{Ui, roster_order};
use crate::control::protocol::{ShowState, StepState, StepView};

/// Columns of a time on the timeline, and the space before it.
const TIME: usize = 9;

/// The timeline: what runs now, the next cue and its countdown, then the top-level
/// steps with their planned and actual times, scrolled to keep the current one in view.
pub(super) fn timeline(frame: &mut Frame, area: Rect, state: &ShowState, ui: &Ui, theme: Theme) {
    let block = Block::bordered().title(Span::styled(" Timeline ", Theme::title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let mut lines = Vec::new();

    let now = match (&state.current, &state.finished) {
        (_, Some(outcome)) => Line::styled(
            fit(&format!("run finished: {outcome}"), width),
            Theme::title(),
        ),
        (Some(current), None) => {
            let mut text = format!("▶ {} {} · {}", current.id, current.name, current.doing);
            if let Some(left) = current.left_ms {
                text.push_str(&format!(" · {} left", countdown(left, ui.since_state)));
            }
            Line::styled(fit(&text, width), theme.now())
        }
        (None, None) => Line::styled(fit("▶ between steps", width), theme.dim()),
    };
    lines.push(now);
    let next = match &state.next_cue {
        Some(cue) => format!(
            "next cue: {} {} at {} · in {}",
            cue.id,
            cue.name,
            hms(Some(&cue.at)),
            countdown(cue.left_ms, ui.since_state)
        ),
        None => "next cue: none to come".into(),
    };
    lines.push(Line::raw(fit(&next, width)));

    let id_width = state
        .steps
        .iter()
        .map(|step| step.id.chars().count())
        .max()
        .unwrap_or(1)
        .clamp(2, 6);
    let name_width = width.saturating_sub(2 + id_width + 1 + 2 * TIME);
    lines.push(Line::styled(
        fit(
            &format!(
                "  {} {} {:>8} {:>8}",
                pad("id", id_width),
                pad("step", name_width),
                "planned",
                "actual"
            ),
            width,
        ),
        theme.dim(),
    ));

    let rows = usize::from(inner.height).saturating_sub(lines.len());
    let now_at = now_index(state);
    let first = match now_at {
        Some(at) if state.steps.len() > rows => at
            .saturating_sub(rows / 3)
            .min(state.steps.len().saturating_sub(rows)),
        _ => 0,
    };
    let next_id = state.next_cue.as_ref().map(|cue| cue.id.as_str());
    for (at, step) in state.steps.iter().enumerate().skip(first).take(rows) {
        let is_now = Some(at) == now_at;
        let (mark, style) = match step.state {
            StepState::Ok => ("✓", theme.good()),
            StepState::Failed => ("✗", theme.bad()),
            StepState::Skipped => ("-", theme.dim()),
            StepState::Running => ("▶", theme.now()),
            _ if is_now => ("▶", theme.now()),
            StepState::Waiting => ("›", Theme::title()),
            StepState::Pending if Some(step.id.as_str()) == next_id => ("›", Theme::title()),
            StepState::Pending => (" ", ratatui::style::Style::new()),
        };
        let text = format!(
            "{mark} {} {} {:>8} {:>8}",
            pad(&step.id, id_width),
            pad(&step.name, name_width),
            hms(step.planned.as_deref()),
            actual(step, state, ui)
        );
        lines.push(Line::styled(fit(&text, width), style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The actual time of a step: when it started, or what keeps it from having started.
fn actual(step: &StepView, state: &ShowState, ui: &Ui) -> String {
    match step.state {
        StepState::Skipped => "skipped".into(),
        StepState::Pending | StepState::Waiting => match &state.next_cue {
            Some(cue) if cue.id == step.id => {
                format!("in {}", countdown(cue.left_ms, ui.since_state))
            }
            _ => String::new(),
        },
        _ => step
            .started
            .as_deref()
            .map_or_else(String::new, |at| hms(Some(at))),
    }
}

/// Which row of the timeline is "now": the step that runs, or the one whose steps do.
fn now_index(state: &ShowState) -> Option<usize> {
    if let Some(at) = state
        .steps
        .iter()
        .position(|step| step.state == StepState::Running)
    {
        return Some(at);
    }
    let current = state.current.as_ref()?;
    let top = current.id.split('.').next().unwrap_or(&current.id);
    state.steps.iter().position(|step| step.id == top)
}

/// How many rows the meeting panel takes, borders included.
pub(super) fn meeting_height(state: &ShowState) -> u16 {
    let held = if state.held { HELD.len() } else { 0 };
    let finished = usize::from(state.finished.is_some());
    u16::try_from(2 + 3 + held + finished).unwrap_or(u16::MAX)
}

/// The meeting: running or ended, its subject, lock, recording, the feed, the waiting
/// room, and HELD in big letters while the run is held.
pub(super) fn meeting(frame: &mut Frame, area: Rect, state: &ShowState, theme: Theme) {
    let block = Block::bordered().title(Span::styled(" Meeting ", Theme::title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let meeting = &state.meeting;
    let mut first = meeting.state.clone();
    if let Some(subject) = &meeting.subject {
        first.push_str(" · ");
        first.push_str(subject);
    }
    let state_style = match meeting.state.as_str() {
        "running" => theme.good(),
        "ended" => theme.bad(),
        _ => theme.warn(),
    };
    let flag = |value: Option<bool>, yes: &str, no: &str| match value {
        Some(true) => yes.to_string(),
        Some(false) => no.to_string(),
        None => format!("{yes}?"),
    };
    let second = format!(
        "{} · {}",
        flag(meeting.locked, "locked", "unlocked"),
        flag(meeting.recording, "recording", "not recording")
    );
    let feed_style = if meeting.feed == "down" {
        theme.bad()
    } else {
        ratatui::style::Style::new()
    };
    let mut lines = vec![
        Line::styled(fit(&first, width), state_style),
        Line::raw(fit(&second, width)),
        Line::from(vec![
            Span::styled(fit(&format!("feed {}", meeting.feed), width), feed_style),
            Span::raw(fit(
                &format!(" · waiting room {}", meeting.waiting),
                width.saturating_sub(5 + meeting.feed.len()),
            )),
        ]),
    ];
    if state.held {
        lines.extend(
            HELD.iter()
                .map(|row| Line::styled(format!(" {row}"), theme.held())),
        );
    }
    if let Some(outcome) = &state.finished {
        lines.push(Line::styled(
            fit(&format!("run finished: {outcome}"), width),
            Theme::title(),
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The people online: raised hands first with their place, then host and co-hosts;
/// who is muted, broadcast or has the floor; the cursor on the selected one.
pub(super) fn roster(frame: &mut Frame, area: Rect, state: &ShowState, ui: &Ui, theme: Theme) {
    let order = roster_order(&state.roster);
    let hands = state.roster.iter().filter(|p| p.hand.is_some()).count();
    let title = format!(" Roster · {} online · {hands} hands ", state.roster.len());
    let block = Block::bordered().title(Span::styled(
        fit(&title, usize::from(area.width).saturating_sub(2)),
        Theme::title(),
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let rows = usize::from(inner.height);
    if order.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(fit("nobody online", width), theme.dim())),
            inner,
        );
        return;
    }
    let at = ui
        .selected
        .as_deref()
        .and_then(|id| order.iter().position(|p| p.id == id));
    let first = match at {
        Some(at) if at >= rows => at + 1 - rows,
        _ => 0,
    };
    // Cursor, hand place, name, then the role and what they are doing.
    const HAND: usize = 3;
    let flags_width = if width >= 44 { 20 } else { 12 };
    let name_width = width.saturating_sub(1 + HAND + 1 + 1 + flags_width);
    let mut lines = Vec::new();
    for (row, person) in order.iter().enumerate().skip(first).take(rows) {
        let selected = Some(row) == at;
        let cursor = if selected { "▸" } else { " " };
        let hand = person
            .hand
            .map_or_else(String::new, |place| format!("#{place}"));
        let mut flags = Vec::new();
        if matches!(person.role.as_str(), "host" | "cohost") {
            flags.push(person.role.as_str());
        }
        if person.broadcast {
            flags.push("on air");
        }
        if person.roll_call {
            flags.push("floor");
        }
        if person.muted {
            flags.push("muted");
        }
        let text = format!(
            "{cursor}{} {} {}",
            pad(&hand, HAND),
            pad(&person.name, name_width),
            fit(&flags.join(" "), flags_width)
        );
        let mut style = if person.hand.is_some() {
            theme.now()
        } else if person.broadcast || person.roll_call {
            theme.operator()
        } else {
            ratatui::style::Style::new()
        };
        if selected {
            style = style.patch(Theme::cursor());
        }
        lines.push(Line::styled(pad(&text, width), style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The last lines of the run's log that fit, newest at the bottom.
pub(super) fn log(frame: &mut Frame, area: Rect, state: &ShowState, ui: &Ui, theme: Theme) {
    let title = format!(" Log · {} ", clock_now(&state.now, ui.since_state));
    let block = Block::bordered().title(Span::styled(title, Theme::title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let rows = usize::from(inner.height);
    let skip = state.log.len().saturating_sub(rows);
    let lines: Vec<Line> = state.log[skip..]
        .iter()
        .map(|line| {
            // The text says what it is, as the plain display's line does; the level
            // only colours it.
            let style = match line.level.as_str() {
                "error" => theme.bad(),
                "warn" => theme.warn(),
                "operator" => theme.operator(),
                _ => ratatui::style::Style::new(),
            };
            let text = format!("{} {}", hms(Some(&line.at)), line.text);
            Line::styled(fit(&text, width), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
