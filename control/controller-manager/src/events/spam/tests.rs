//! The spam filter, by table: how many of a run of Events get through, and when again.

use std::time::{Duration, Instant};

use super::{BURST, REFILL_EVERY, SpamFilter};

/// (Events asked for at once, seconds later, asked for again, let through each time).
const CASES: &[(u32, u64, u32, (u32, u32))] = &[
    (10, 0, 10, (10, 10)),
    (25, 0, 1, (25, 0)),
    (30, 0, 0, (25, 0)),
    (25, 299, 1, (25, 0)),
    (25, 300, 2, (25, 1)),
    (25, 900, 5, (25, 3)),
    (25, 3600, 30, (25, 12)),
    (25, 9000, 30, (25, 25)),
    (40, 600, 40, (25, 2)),
];

#[test]
fn a_source_gets_25_events_per_object_then_one_every_five_minutes() {
    for &(first, later, second, (want_first, want_second)) in CASES {
        let start = Instant::now();
        let mut filter = SpamFilter::default();
        let passed = |filter: &mut SpamFilter, n: u32, at: Instant| {
            (0..n)
                .filter(|_| filter.allow("deployment-controller/uid-1", at))
                .count() as u32
        };
        let got_first = passed(&mut filter, first, start);
        let got_second = passed(&mut filter, second, start + Duration::from_secs(later));
        assert_eq!(
            (got_first, got_second),
            (want_first, want_second),
            "{first} at 0 s, {second} at {later} s"
        );
    }
}

#[test]
fn objects_and_sources_have_buckets_of_their_own() {
    let now = Instant::now();
    let mut filter = SpamFilter::default();
    for _ in 0..BURST {
        assert!(filter.allow("replicaset-controller/a", now));
    }
    assert!(!filter.allow("replicaset-controller/a", now));
    assert!(filter.allow("replicaset-controller/b", now));
    assert!(filter.allow("job-controller/a", now));
    assert!(filter.allow("replicaset-controller/a", now + REFILL_EVERY));
}

#[test]
fn many_objects_do_not_grow_the_filter_without_bound() {
    let now = Instant::now();
    let mut filter = SpamFilter::default();
    for i in 0..10_000 {
        assert!(filter.allow(&format!("c/{i}"), now));
        assert!(
            filter.buckets.len() <= 4096,
            "{} buckets",
            filter.buckets.len()
        );
    }
}
