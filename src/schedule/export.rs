//! A schedule as other schedulers take it: crontab lines for cronie (which reads
//! `CRON_TZ`) or Debian's cron (which ignores it and reads every line in the system
//! zone), or systemd timer and service units. A job the target cannot run as written is
//! printed commented out with the reason, never silently misread.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::file::ScheduleFile;

/// Which cron reads the crontab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CronFlavour {
    /// cronie (Fedora, RHEL, Arch): `CRON_TZ=` sets the zone of the lines after it.
    #[default]
    Cronie,
    /// Debian's and Ubuntu's cron: no `CRON_TZ`; every line is in the system zone.
    Debian,
}

/// What an export printed, and how many jobs it could not express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub text: String,
    pub commented_out: usize,
}

/// The five fields of a cron expression, or why cron cannot take it as written:
/// a seconds field (six or seven fields) and croner's `L`, `W`, `#` and `?`, which
/// standard cron rejects or reads differently.
fn standard_fields(cron: &str) -> Result<[&str; 5], String> {
    if cron.starts_with('@') {
        return Err(format!("`{cron}`: write the five fields out"));
    }
    let fields: Vec<&str> = cron.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "`{cron}` has {} fields; cron has five, with no seconds or years",
            fields.len()
        ));
    }
    if let Some(form) = ['L', 'W', '#', '?']
        .iter()
        .find(|c| fields.iter().any(|f| f.to_ascii_uppercase().contains(**c)))
    {
        return Err(format!(
            "`{cron}` uses `{form}`, which standard cron rejects or reads differently"
        ));
    }
    Ok([fields[0], fields[1], fields[2], fields[3], fields[4]])
}

/// The values of a numeric cron field between `min` and `max`: `*`, `5`, `1-5`,
/// `*/15`, `10-50/20` and lists of them. `None` for names (`MON`) and anything else.
fn expand(field: &str, min: u32, max: u32) -> Option<BTreeSet<u32>> {
    let mut out = BTreeSet::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, step.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" => (min, max),
            _ => match range.split_once('-') {
                Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
                None => {
                    let n = range.parse().ok()?;
                    (n, if part.contains('/') { max } else { n })
                }
            },
        };
        if from < min || to > max || from > to {
            return None;
        }
        out.extend((from..=to).step_by(step as usize));
    }
    Some(out)
}

fn list(values: &BTreeSet<u32>) -> String {
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The offset a zone keeps from `now` on, if it never changes it (no daylight saving
/// time, no announced change).
fn fixed_offset(zone: &TimeZone, now: Timestamp) -> Option<jiff::tz::Offset> {
    let offset = zone.to_offset(now);
    zone.following(now)
        .take(100)
        .all(|t| t.offset() == offset)
        .then_some(offset)
}

/// `minute hour dom month dow` in `from`'s zone, as the same instants in `to`'s zone,
/// or why that cannot be written.
fn convert(
    fields: [&str; 5],
    from: &TimeZone,
    to: &TimeZone,
    now: Timestamp,
) -> Result<String, String> {
    let (Some(a), Some(b)) = (fixed_offset(from, now), fixed_offset(to, now)) else {
        return Err("one of the zones changes its offset (daylight saving time), so no fixed shift of the hours would keep the job at its time".into());
    };
    let shift = i64::from(b.seconds() - a.seconds()) / 60;
    let [minute, hour, dom, month, dow] = fields;
    let (Some(minutes), Some(hours)) = (expand(minute, 0, 59), expand(hour, 0, 23)) else {
        return Err(format!(
            "the minute and hour fields `{minute} {hour}` cannot be shifted to the system zone"
        ));
    };
    let mut days = BTreeSet::new();
    let mut times = BTreeSet::new();
    for h in &hours {
        for m in &minutes {
            let total = i64::from(h * 60 + m) + shift;
            days.insert(total.div_euclid(24 * 60));
            let local = total.rem_euclid(24 * 60);
            times.insert((local / 60, local % 60));
        }
    }
    let new_hours: BTreeSet<u32> = times.iter().map(|(h, _)| *h as u32).collect();
    let new_minutes: BTreeSet<u32> = times.iter().map(|(_, m)| *m as u32).collect();
    if new_hours.len() * new_minutes.len() != times.len() {
        return Err("the shifted times are not one set of minutes at one set of hours".into());
    }
    let every_day = dom == "*" && month == "*" && dow == "*";
    let day = match (days.len(), days.first()) {
        _ if every_day => 0,
        (1, Some(day)) => *day,
        _ => {
            return Err(
                "shifted to the system zone, some firings move to another day and some do not"
                    .into(),
            );
        }
    };
    let dow = if day == 0 || every_day {
        dow.to_owned()
    } else if dom == "*" && month == "*" {
        let days = expand(&dow.replace('7', "0"), 0, 6).ok_or_else(|| {
            format!("the day-of-week field `{dow}` cannot be shifted to the system zone")
        })?;
        list(
            &days
                .iter()
                .map(|d| (i64::from(*d) + day).rem_euclid(7) as u32)
                .collect(),
        )
    } else {
        return Err("in the system zone the job falls on another day of the month".into());
    };
    let hour_text = if new_hours.len() == 24 {
        "*".to_owned()
    } else {
        list(&new_hours)
    };
    let minute_text = if new_minutes.len() == 60 {
        "*".to_owned()
    } else {
        list(&new_minutes)
    };
    Ok(format!("{minute_text} {hour_text} {dom} {month} {dow}"))
}

/// `# reason`, then the line commented out.
fn commented(out: &mut String, reason: &str, line: &str) {
    out.push_str(&format!("# NOT SCHEDULED: {reason}\n# {line}\n"));
}

fn zone_label(zone: &TimeZone) -> String {
    zone.iana_name().unwrap_or("the system zone").to_owned()
}

impl ScheduleFile {
    /// The crontab lines that would run the same jobs, for `flavour`'s cron on a
    /// machine whose zone is `system`.
    pub fn crontab(&self, emcee: &str, flavour: CronFlavour, system: &TimeZone) -> Export {
        self.crontab_at(emcee, flavour, system, Timestamp::now())
    }

    fn crontab_at(
        &self,
        emcee: &str,
        flavour: CronFlavour,
        system: &TimeZone,
        now: Timestamp,
    ) -> Export {
        let mut out = format!("# emcee schedule {}\n", self.path.display());
        let mut commented_out = 0;
        let systemd = format!(
            "use `emcee schedule {} --print-systemd`, or run `emcee schedule` itself",
            self.path.display()
        );
        for job in &self.jobs {
            out.push_str(&format!("# {}\n", job.name));
            // `%` ends a crontab command (the rest is its input) unless escaped.
            let command = job.command_line(emcee, true).replace('%', "\\%");
            let fields = match standard_fields(&job.cron_text) {
                Ok(fields) => fields,
                Err(why) => {
                    commented(
                        &mut out,
                        &format!("{why}; {systemd}"),
                        &format!("{} {command}", job.cron_text),
                    );
                    commented_out += 1;
                    continue;
                }
            };
            match flavour {
                CronFlavour::Cronie => {
                    out.push_str(&format!(
                        "CRON_TZ={}\n{} {command}\n",
                        job.zone_name,
                        fields.join(" ")
                    ));
                }
                CronFlavour::Debian => {
                    let same = job.zone == *system
                        || (fixed_offset(&job.zone, now).is_some()
                            && fixed_offset(&job.zone, now) == fixed_offset(system, now));
                    let line = if same {
                        Ok(fields.join(" "))
                    } else {
                        convert(fields, &job.zone, system, now)
                    };
                    match line {
                        Ok(line) => {
                            if !same {
                                out.push_str(&format!(
                                    "# `{}` in {}, as {} reads it\n",
                                    job.cron_text,
                                    job.zone_name,
                                    zone_label(system)
                                ));
                            }
                            out.push_str(&format!("{line} {command}\n"));
                        }
                        Err(why) => {
                            commented(
                                &mut out,
                                &format!(
                                    "Debian's cron ignores CRON_TZ and reads `{}` in the system zone ({}), not {}: {why}; {systemd}",
                                    job.cron_text,
                                    zone_label(system),
                                    job.zone_name
                                ),
                                &format!("{} {command}", job.cron_text),
                            );
                            commented_out += 1;
                        }
                    }
                }
            }
        }
        Export {
            text: out,
            commented_out,
        }
    }

    /// A systemd service and timer per job: `emcee-<job>.service`, `emcee-<job>.timer`.
    pub fn systemd(&self, emcee: &str) -> Export {
        let mut out = format!("# emcee schedule {}\n", self.path.display());
        let mut commented_out = 0;
        for job in &self.jobs {
            let unit = format!(
                "emcee-{}",
                crate::report::placeholders::file_safe(&job.name)
            );
            let calendars = match on_calendar(&job.cron_text, &job.zone_name) {
                Ok(calendars) => calendars,
                Err(why) => {
                    out.push_str(&format!(
                        "\n# {unit}: NOT SCHEDULED: {why}; run `emcee schedule` itself\n"
                    ));
                    commented_out += 1;
                    continue;
                }
            };
            let escape = |s: &str| s.replace('%', "%%").replace('$', "$$");
            out.push_str(&format!(
                "\n# /etc/systemd/system/{unit}.service\n[Unit]\nDescription=emcee: {name}\n\n[Service]\nType=oneshot\n",
                name = escape(&job.name)
            ));
            for (key, value) in &job.env {
                out.push_str(&format!(
                    "Environment=\"{}\"\n",
                    escape(&format!("{key}={value}"))
                        .replace('\\', "\\\\")
                        .replace('"', "\\\"")
                ));
            }
            out.push_str(&format!(
                "ExecStart={}\nKillSignal=SIGTERM\nTimeoutStopSec=60\n",
                escape(&job.command_line(emcee, false))
            ));
            out.push_str(&format!(
                "\n# /etc/systemd/system/{unit}.timer\n[Unit]\nDescription=emcee: {name}\n\n[Timer]\n",
                name = escape(&job.name)
            ));
            for calendar in calendars {
                out.push_str(&format!("OnCalendar={calendar}\n"));
            }
            out.push_str("Persistent=false\n\n[Install]\nWantedBy=timers.target\n");
        }
        out.push_str("\n# systemctl daemon-reload && systemctl enable --now emcee-<job>.timer\n");
        Export {
            text: out,
            commented_out,
        }
    }
}

/// systemd `OnCalendar=` values for a cron expression in `zone`. Cron fires when the
/// day of the month or the day of the week matches (if both are given); systemd wants
/// both, so such a job gets two timers' worth of calendars.
fn on_calendar(cron: &str, zone: &str) -> Result<Vec<String>, String> {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    let (second, rest) = match fields.len() {
        5 => ("0", &fields[..]),
        6 => (fields[0], &fields[1..]),
        n => return Err(format!("`{cron}` has {n} fields")),
    };
    let unsupported = |what: &str, field: &str| {
        format!("`{cron}`: the {what} field `{field}` has no systemd form here")
    };
    let numbers = |field: &str, min, max, what: &str| -> Result<String, String> {
        if field == "*" {
            return Ok("*".into());
        }
        expand(field, min, max)
            .map(|v| {
                v.iter()
                    .map(|n| format!("{n:02}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .ok_or_else(|| unsupported(what, field))
    };
    let sec = numbers(second, 0, 59, "seconds")?;
    let min = numbers(rest[0], 0, 59, "minute")?;
    let hour = numbers(rest[1], 0, 23, "hour")?;
    let dom = numbers(rest[2], 1, 31, "day-of-month")?;
    let month = numbers(rest[3], 1, 12, "month")?;
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let dow = if rest[4] == "*" {
        None
    } else {
        let days = expand(&rest[4].replace('7', "0"), 0, 6)
            .ok_or_else(|| unsupported("day-of-week", rest[4]))?;
        Some(
            days.iter()
                .map(|d| DAYS[*d as usize])
                .collect::<Vec<_>>()
                .join(","),
        )
    };
    let time = format!("{hour}:{min}:{sec}");
    Ok(match (dow, dom.as_str()) {
        (None, _) => vec![format!("*-{month}-{dom} {time} {zone}")],
        (Some(dow), "*") => vec![format!("{dow} *-{month}-* {time} {zone}")],
        (Some(dow), _) => vec![
            format!("*-{month}-{dom} {time} {zone}"),
            format!("{dow} *-{month}-* {time} {zone}"),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_cron_cannot_take_are_named() {
        assert!(standard_fields("50 9 * * 1").is_ok());
        for (cron, says) in [
            ("0 50 9 * * 1", "6 fields"),
            ("0 9 L * *", "`L`"),
            ("0 9 15W * *", "`W`"),
            ("0 9 * * 1#2", "`#`"),
            ("0 9 ? * 1", "`?`"),
        ] {
            let why = standard_fields(cron).unwrap_err();
            assert!(why.contains(says), "{cron}: {why}");
        }
    }

    #[test]
    fn fixed_offsets_convert_and_daylight_saving_does_not() {
        let now: Timestamp = "2026-11-22T00:00:00Z".parse().unwrap();
        let shanghai = TimeZone::get("Asia/Shanghai").unwrap();
        let utc = TimeZone::UTC;
        // 09:50 Monday in Shanghai is 01:50 Monday UTC.
        assert_eq!(
            convert(standard_fields("50 9 * * 1").unwrap(), &shanghai, &utc, now).unwrap(),
            "50 1 * * 1"
        );
        // 07:55 in Shanghai is 23:55 the day before in UTC.
        assert_eq!(
            convert(
                standard_fields("55 7 * * 1-5").unwrap(),
                &shanghai,
                &utc,
                now
            )
            .unwrap(),
            "55 23 * * 0,1,2,3,4"
        );
        assert_eq!(
            convert(
                standard_fields("0 */6 * * *").unwrap(),
                &shanghai,
                &utc,
                now
            )
            .unwrap(),
            "0 4,10,16,22 * * *"
        );
        let month_day =
            convert(standard_fields("0 7 1 * *").unwrap(), &shanghai, &utc, now).unwrap_err();
        assert!(
            month_day.contains("another day of the month"),
            "{month_day}"
        );
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let dst = convert(standard_fields("45 13 1 * *").unwrap(), &berlin, &utc, now).unwrap_err();
        assert!(dst.contains("daylight saving"), "{dst}");
    }

    #[test]
    fn systemd_calendars() {
        assert_eq!(
            on_calendar("50 9 * * 1", "Asia/Shanghai").unwrap(),
            ["Mon *-*-* 09:50:00 Asia/Shanghai"]
        );
        assert_eq!(
            on_calendar("*/20 * * * * *", "UTC").unwrap(),
            ["*-*-* *:*:00,20,40 UTC"]
        );
        assert_eq!(
            on_calendar("0 8 1 * 1-5", "UTC").unwrap(),
            [
                "*-*-01 08:00:00 UTC",
                "Mon,Tue,Wed,Thu,Fri *-*-* 08:00:00 UTC"
            ]
        );
        assert!(on_calendar("0 9 L * *", "UTC").is_err());
    }
}
