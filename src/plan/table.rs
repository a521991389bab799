//! The plan as a table for people: one line per step, its time, what it acts on and
//! the API calls it makes, then the deadline and the warnings.

use jiff::SignedDuration;
use jiff::tz::TimeZone;

use super::timeline::{Plan, When};

/// `+1:15:00`: hours, minutes and seconds after the start.
fn clock_offset(offset: SignedDuration) -> String {
    let secs = offset.as_secs().max(0);
    format!("+{}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
}

impl Plan {
    /// The plan as a table for people.
    pub(crate) fn table(&self, zone: &TimeZone) -> String {
        let mut rows: Vec<[String; 6]> = vec![[
            "time".into(),
            "after start".into(),
            "step".into(),
            "action".into(),
            "target".into(),
            "API calls".into(),
        ]];
        for row in &self.rows {
            let (instant, offset, prefix) = match row.when {
                When::At { instant, offset } => (instant, offset, ""),
                When::NotBefore { instant, offset } => (instant, offset, "≥ "),
            };
            let time = format!(
                "{prefix}{}",
                instant.to_zoned(zone.clone()).strftime("%H:%M:%S")
            );
            let after = format!("{prefix}{}", clock_offset(offset));
            let indent = "  ".repeat(row.depth);
            let mut step = match &row.cue {
                Some(cue) => format!("{indent}{} {} [at {cue}]", row.id, row.name),
                None => format!("{indent}{} {}", row.id, row.name),
            };
            if let Some(reason) = &row.skipped {
                step.push_str(&format!(" [skipped: {reason}]"));
            }
            let calls = short_calls(&row.calls);
            rows.push([
                time,
                after,
                step,
                kind(row.action, row.scene.as_deref()).to_owned(),
                match row.takes {
                    Some(takes) => format!(
                        "{} (≈ {})",
                        row.target.clone().unwrap_or_default(),
                        crate::duration::human(takes.unsigned_abs())
                    ),
                    // A `scene:` step acts through the scene it plays.
                    None => row.target.clone().or(row.scene.clone()).unwrap_or_default(),
                },
                calls,
            ]);
        }
        let mut out = columns(&rows, "");
        if let Some(meeting) = &self.meeting_start {
            let at = meeting.instant.to_zoned(zone.clone()).strftime("%H:%M:%S");
            out.push_str(&if meeting.assumed {
                format!("meeting start: assumed at the run's start, {at}, for the meeting+ cues (a run counts from when it first obtains its token; plan --meeting-start TIME to plan another)\n")
            } else {
                format!("meeting start: {at} (--meeting-start), for the meeting+ cues\n")
            });
        }
        if let Some(deadline) = &self.deadline {
            out.push_str(&format!(
                "deadline: {} at {} ({} after start)\n",
                deadline.cue,
                deadline.instant.to_zoned(zone.clone()).strftime("%H:%M:%S"),
                clock_offset(deadline.offset)
            ));
        }
        for scene in &self.scenes {
            let panic = if scene.panic {
                " (the panic scene)"
            } else {
                ""
            };
            out.push_str(&format!("scene {}{panic}:\n", scene.name));
            let rows: Vec<[String; 4]> = scene
                .steps
                .iter()
                .map(|row| {
                    let mut step = format!("{}{} {}", "  ".repeat(row.depth), row.id, row.name);
                    if let Some(reason) = &row.skipped {
                        step.push_str(&format!(" [skipped: {reason}]"));
                    }
                    [
                        step,
                        kind(row.action, row.scene.as_deref()).to_owned(),
                        row.target.clone().unwrap_or_default(),
                        short_calls(&row.calls),
                    ]
                })
                .collect();
            out.push_str(&columns(&rows, "  "));
        }
        for warning in self.warnings.iter().chain(&self.live) {
            out.push_str(&format!("warning: {warning}\n"));
        }
        out
    }
}

/// What a row does, in the action column: its action, or what plays other steps.
fn kind(action: Option<&'static str>, scene: Option<&str>) -> &'static str {
    match (action, scene) {
        (Some(action), _) => action,
        (None, Some(_)) => "scene",
        (None, None) => "block",
    }
}

/// The API calls, without the verb and the common prefix of their paths.
fn short_calls(calls: &[&str]) -> String {
    calls
        .iter()
        .map(|c| {
            c.trim_start_matches("PUT ")
                .trim_start_matches("GET ")
                .trim_start_matches("POST ")
                .trim_start_matches(crate::meeting::api::CONTROL_PREFIX)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rows as lines of columns, each line after `indent`.
fn columns<const N: usize>(rows: &[[String; N]], indent: &str) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            // Padded by hand: a format width is limited to 65,535 and a cell is not.
            .map(|(c, cell)| {
                let pad = widths[c].saturating_sub(cell.chars().count());
                format!("{cell}{}", " ".repeat(pad))
            })
            .collect();
        out.push_str(indent);
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
