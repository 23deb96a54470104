//! Cron schedules as kube-controller-manager reads them (robfig/cron's standard parser):
//! five fields, names, ranges, steps, `?`, the `@hourly`-style descriptors, an optional
//! `TZ=`/`CRON_TZ=` prefix; and the next run time in a time zone.
//!
//! Local times that do not exist (the hour skipped when DST starts) never match; local
//! times that happen twice (when DST ends) run once, at the first.

use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use chrono_tz::Tz;

use crate::{Error, ScheduleProblem};

/// One field: the allowed values as bits, and whether it was `*`/`?` (for the day rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Field {
    bits: u64,
    star: bool,
}

impl Field {
    fn has(self, v: u32) -> bool {
        self.bits & (1u64 << v) != 0
    }
}

/// A parsed schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    minute: Field,
    hour: Field,
    dom: Field,
    month: Field,
    dow: Field,
    /// The zone of a `TZ=`/`CRON_TZ=` prefix, if any.
    pub prefix_zone: Option<Tz>,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Parses a time zone name from the tz database.
pub fn zone(name: &str) -> Result<Tz, Error> {
    name.parse::<Tz>()
        .map_err(|_| Error::TimeZone(name.to_string()))
}

/// Parses a schedule (`ParseStandard`).
pub fn parse(text: &str) -> Result<Schedule, Error> {
    let err = |reason| Error::Schedule {
        schedule: text.to_string(),
        reason,
    };
    let mut rest = text.trim();
    let mut prefix_zone = None;
    if let Some(p) = rest
        .strip_prefix("TZ=")
        .or_else(|| rest.strip_prefix("CRON_TZ="))
    {
        let (name, tail) = p.split_once(' ').ok_or(err(ScheduleProblem::FieldCount))?;
        prefix_zone = Some(zone(name)?);
        rest = tail.trim();
    }
    let expanded = match rest {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        d if d.starts_with('@') => return Err(err(ScheduleProblem::Descriptor)),
        other => other,
    };
    let f: Vec<&str> = expanded.split_whitespace().collect();
    let [mi, h, dom, mo, dow] = f.as_slice() else {
        return Err(err(ScheduleProblem::FieldCount));
    };
    Ok(Schedule {
        minute: field(mi, 0, 59, &[]).map_err(err)?,
        hour: field(h, 0, 23, &[]).map_err(err)?,
        dom: field(dom, 1, 31, &[]).map_err(err)?,
        month: field(mo, 1, 12, &MONTHS).map_err(err)?,
        dow: field(dow, 0, 6, &DAYS).map_err(err)?,
        prefix_zone,
    })
}

fn value(s: &str, names: &[&str], offset: u32) -> Result<u32, ScheduleProblem> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(u32::try_from(i).unwrap_or(0) + offset);
    }
    s.parse().map_err(|_| ScheduleProblem::Value)
}

/// One field: `,`-separated `*`, `?`, `a`, `a-b`, each with an optional `/step`.
fn field(text: &str, min: u32, max: u32, names: &[&str]) -> Result<Field, ScheduleProblem> {
    let mut out = Field {
        bits: 0,
        star: false,
    };
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                Some(s.parse::<u32>().map_err(|_| ScheduleProblem::Step)?),
            ),
            None => (part, None),
        };
        let (lo, hi, star) = if range == "*" || range == "?" {
            (min, max, step.is_none_or(|s| s == 1))
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, min)?, value(b, names, min)?, false)
        } else {
            let v = value(range, names, min)?;
            (v, if step.is_some() { max } else { v }, false)
        };
        if lo < min || hi > max || lo > hi {
            return Err(ScheduleProblem::Range);
        }
        let step = step.unwrap_or(1);
        if step == 0 {
            return Err(ScheduleProblem::Step);
        }
        out.star |= star;
        out.bits |= (lo..=hi)
            .step_by(step as usize)
            .fold(0u64, |b, v| b | (1 << v));
    }
    Ok(out)
}

impl Schedule {
    /// robfig's day rule: both day fields must match if either is `*`, else either may.
    fn day_matches(&self, d: NaiveDate) -> bool {
        let dom = self.dom.has(d.day());
        let dow = self.dow.has(d.weekday().num_days_from_sunday());
        if self.dom.star || self.dow.star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The first run strictly after `after` (Unix seconds), in `tz`; none within 5 years
    /// (robfig's bound, e.g. for `0 0 30 2 *`).
    pub fn next_after(&self, after: i64, tz: Tz) -> Option<i64> {
        let start = tz.timestamp_opt(after, 0).single()?.naive_local();
        let mut t = start.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let limit = start.year() + 5;
        while t.year() <= limit {
            if !self.month.has(t.month()) {
                t = first_of_next_month(t)?;
            } else if !self.day_matches(t.date()) {
                t = t.date().succ_opt()?.and_hms_opt(0, 0, 0)?;
            } else if !self.hour.has(t.hour()) {
                t = t.with_minute(0)? + Duration::hours(1);
            } else if !self.minute.has(t.minute()) {
                t += Duration::minutes(1);
            } else {
                let utc = match tz.from_local_datetime(&t) {
                    LocalResult::Single(d) => Some(d.timestamp()),
                    LocalResult::Ambiguous(first, _) => Some(first.timestamp()),
                    LocalResult::None => None,
                };
                match utc {
                    Some(u) if u > after => return Some(u),
                    _ => t += Duration::minutes(1),
                }
            }
        }
        None
    }
}

fn first_of_next_month(t: NaiveDateTime) -> Option<NaiveDateTime> {
    let (y, m) = if t.month() == 12 {
        (t.year() + 1, 1)
    } else {
        (t.year(), t.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)?.and_hms_opt(0, 0, 0)
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
