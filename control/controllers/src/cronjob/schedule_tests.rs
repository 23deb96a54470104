//! Cron schedules by table: parsing, refusals, next runs in time zones across DST.

use chrono_tz::Tz;

use super::{parse, zone};
use crate::testutil::at;
use crate::{Error, ScheduleProblem};

fn utc(s: &str) -> i64 {
    s.parse::<k8s_openapi::jiff::Timestamp>()
        .expect("a time")
        .as_second()
}

/// The next `n` runs after `after` (UTC, RFC 3339) in zone `tz`.
fn runs(schedule: &str, tz: &str, after: &str, n: usize) -> Vec<String> {
    let s = parse(schedule).expect("schedule");
    let tz: Tz = zone(tz).expect("zone");
    let mut t = utc(after);
    (0..n)
        .map(|_| {
            t = s.next_after(t, tz).expect("a next run");
            at(t).to_string()
        })
        .collect()
}

#[test]
fn next_runs_by_table() {
    let table: Vec<(&str, &str, &str, Vec<&str>)> = vec![
        (
            "*/15 * * * *",
            "UTC",
            "2026-01-01T00:07:00Z",
            vec!["2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z"],
        ),
        (
            "@hourly",
            "UTC",
            "2026-01-01T00:00:00Z",
            vec!["2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"],
        ),
        // Weekdays at 9: Friday 2 January 2026, then Monday the 5th.
        (
            "0 9 * * MON-FRI",
            "UTC",
            "2026-01-01T10:00:00Z",
            vec!["2026-01-02T09:00:00Z", "2026-01-05T09:00:00Z"],
        ),
        // Both day fields restricted: the 1st or the 15th, or any Monday.
        (
            "0 0 1,15 * MON",
            "UTC",
            "2026-01-01T00:00:00Z",
            vec![
                "2026-01-05T00:00:00Z",
                "2026-01-12T00:00:00Z",
                "2026-01-15T00:00:00Z",
            ],
        ),
        (
            "0 0 29 2 *",
            "UTC",
            "2026-01-01T00:00:00Z",
            vec!["2028-02-29T00:00:00Z"],
        ),
        (
            "5/20 * * * *",
            "UTC",
            "2026-01-01T00:00:00Z",
            vec![
                "2026-01-01T00:05:00Z",
                "2026-01-01T00:25:00Z",
                "2026-01-01T00:45:00Z",
            ],
        ),
        // 9:00 in New York is 14:00 UTC in winter and 13:00 UTC once DST starts (8 March 2026).
        (
            "0 9 * * *",
            "America/New_York",
            "2026-03-07T00:00:00Z",
            vec![
                "2026-03-07T14:00:00Z",
                "2026-03-08T13:00:00Z",
                "2026-03-09T13:00:00Z",
            ],
        ),
        // 2:30 does not exist on 8 March in New York: that day is skipped.
        (
            "30 2 * * *",
            "America/New_York",
            "2026-03-07T08:00:00Z",
            vec!["2026-03-09T06:30:00Z"],
        ),
        // 1:30 happens twice on 1 November: it runs once, at the first (EDT).
        (
            "30 1 * * *",
            "America/New_York",
            "2026-10-31T12:00:00Z",
            vec!["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"],
        ),
        (
            "0 3 * * *",
            "Europe/Paris",
            "2026-03-28T00:00:00Z",
            vec!["2026-03-28T02:00:00Z", "2026-03-29T01:00:00Z"],
        ),
    ];
    for (schedule, tz, after, want) in table {
        assert_eq!(
            runs(schedule, tz, after, want.len()),
            want,
            "{schedule} in {tz}"
        );
    }
}

#[test]
fn bad_schedules_are_refused() {
    let table = [
        ("61 * * * *", ScheduleProblem::Range),
        ("* * * *", ScheduleProblem::FieldCount),
        ("*/0 * * * *", ScheduleProblem::Step),
        ("@every 5m", ScheduleProblem::Descriptor),
        ("foo * * * *", ScheduleProblem::Value),
        ("5-1 * * * *", ScheduleProblem::Range),
    ];
    for (s, problem) in table {
        assert_eq!(
            parse(s),
            Err(Error::Schedule {
                schedule: s.into(),
                reason: problem
            }),
            "{s}"
        );
    }
    assert_eq!(
        parse("TZ=Mars/Olympus 0 * * * *"),
        Err(Error::TimeZone("Mars/Olympus".into()))
    );
    assert!(
        parse("CRON_TZ=Europe/Paris 0 3 * * *")
            .expect("schedule")
            .prefix_zone
            .is_some()
    );
}
