//! The Events' pace, by table: a burst goes at once, then one per 1/rate seconds.

use std::time::{Duration, Instant};

use super::{Pace, Rate};

/// (burst, per second, posts at one instant, wait before the last of them in ms).
const CASES: &[(u32, u32, u32, u64)] = &[
    (100, 50, 1, 0),
    (100, 50, 100, 0),
    (100, 50, 101, 20),
    (100, 50, 150, 1000),
    (10, 10, 30, 2000),
    (1, 1, 3, 2000),
];

#[test]
fn a_burst_goes_at_once_then_posts_wait_their_turn() {
    for &(burst, per_second, posts, want_ms) in CASES {
        let now = Instant::now();
        let mut pace = Pace::new(Rate { burst, per_second }, now);
        let mut last = Duration::ZERO;
        for _ in 0..posts {
            last = pace.take(now);
        }
        let got_ms = last.as_millis();
        assert!(
            got_ms.abs_diff(u128::from(want_ms)) <= 1,
            "burst {burst}, {per_second}/s, {posts} posts: waited {got_ms} ms, want {want_ms}"
        );
    }
}

#[test]
fn the_bucket_refills_with_time_up_to_the_burst() {
    let start = Instant::now();
    let mut pace = Pace::new(
        Rate {
            burst: 5,
            per_second: 10,
        },
        start,
    );
    for _ in 0..5 {
        assert_eq!(pace.take(start), Duration::ZERO);
    }
    assert!(pace.take(start) > Duration::ZERO);
    let later = start + Duration::from_secs(60);
    for _ in 0..5 {
        assert_eq!(pace.take(later), Duration::ZERO);
    }
    assert!(
        pace.take(later) > Duration::ZERO,
        "the bucket holds at most the burst"
    );
}
