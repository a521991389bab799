//! Placeholders in report paths, so that one `--report` given to every run (from cron
//! or a schedule) does not overwrite the last run's report: `{run_id}` and `{date}` are
//! filled in by each run, `{job}` by the scheduler.

use super::document::ReportTarget;

/// What `emcee run --report` fills in: the run id, and the run's start date
/// (`YYYY-MM-DD`, in the playbook's time zone).
pub(crate) const RUN: &[&str] = &["run_id", "date"];

/// What a schedule file's `report` entries may hold: the job's name too.
pub(crate) const SCHEDULE: &[&str] = &["run_id", "date", "job"];

/// The `{name}`s in `text`, in order. A brace that opens no `{lowercase_name}` is
/// plain text.
fn names(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.match_indices('{').filter_map(move |(at, _)| {
        let rest = &text[at + 1..];
        let end = rest.find('}')?;
        let name = &rest[..end];
        (!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .then_some((at, name))
    })
}

/// An error naming the first placeholder in `text` that is not one of `known`.
pub(crate) fn check(text: &str, known: &[&str]) -> Result<(), String> {
    match names(text).find(|(_, name)| !known.contains(name)) {
        None => Ok(()),
        Some((_, name)) => Err(format!(
            "unknown placeholder {{{name}}} in the report path; known: {}",
            known
                .iter()
                .map(|k| format!("{{{k}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// `text` with each `{name}` of `values` replaced by its value; other text is kept.
pub(crate) fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for (at, name) in names(text) {
        if at < from {
            continue;
        }
        if let Some((_, value)) = values.iter().find(|(n, _)| *n == name) {
            out.push_str(&text[from..at]);
            out.push_str(value);
            from = at + name.len() + 2;
        }
    }
    out.push_str(&text[from..]);
    out
}

/// A job's name as it goes into a file name: lower case, each run of anything but a
/// letter or digit made one `-` (`Monday town hall` → `monday-town-hall`).
pub(crate) fn file_safe(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "job".to_owned()
    } else {
        out.to_owned()
    }
}

impl ReportTarget {
    /// This target with the placeholders of its path filled in.
    pub fn filled(&self, values: &[(&str, &str)]) -> ReportTarget {
        let path = fill(&self.path().to_string_lossy(), values).into();
        match self {
            ReportTarget::Json(_) => ReportTarget::Json(path),
            ReportTarget::Junit(_) => ReportTarget::Junit(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_unknown_ones_named() {
        let values = [
            ("run_id", "20261122T015000Z-914044873-7"),
            ("date", "2026-11-22"),
        ];
        assert_eq!(
            fill("/r/{date}/town-{run_id}.json", &values),
            "/r/2026-11-22/town-20261122T015000Z-914044873-7.json"
        );
        // Not ours: left as written.
        assert_eq!(
            fill("/r/{job}-{x-y}{.json", &values),
            "/r/{job}-{x-y}{.json"
        );
        assert!(check("/r/{run_id}-{date}.xml", RUN).is_ok());
        let error = check("/r/{job}.xml", RUN).unwrap_err();
        assert!(error.contains("unknown placeholder {job}"), "{error}");
        assert!(check("/r/{job}.xml", SCHEDULE).is_ok());
    }

    #[test]
    fn job_names_become_file_names() {
        assert_eq!(file_safe("Monday town hall"), "monday-town-hall");
        assert_eq!(file_safe("Webinar (Berlin)"), "webinar-berlin");
        assert_eq!(file_safe("../../etc"), "etc");
        assert_eq!(file_safe("///"), "job");
    }
}
