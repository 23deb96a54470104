//! The limit on the Events a component posts, as the kubelet's (`--event-qps`,
//! `--event-burst`): a token bucket that says how long the next Event waits. The agent's pod
//! events and the scheduler's Scheduled Events both go through it, so a burst of pods spends
//! the API server on their creates, bindings and status writes, and their Events follow at the
//! limit's pace (and are dropped past the poster's queue, as the kubelet's and
//! kube-scheduler's). Pure: the caller passes the time and sleeps.

use std::time::{Duration, Instant};

/// Events a second and the burst allowed above that pace; `qps` 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRate {
    pub qps: u32,
    pub burst: u32,
}

impl EventRate {
    /// The kubelet's defaults: `eventRecordQPS` 50, `eventBurst` 100.
    pub const KUBELET: EventRate = EventRate {
        qps: 50,
        burst: 100,
    };
    /// No limit (the kubelet's `--event-qps=0`).
    pub const UNLIMITED: EventRate = EventRate { qps: 0, burst: 0 };
}

impl Default for EventRate {
    fn default() -> Self {
        EventRate::KUBELET
    }
}

/// A token bucket, full at the start; a token taken while none is left is owed, and the
/// caller waits until it would have refilled.
#[derive(Debug)]
pub struct TokenBucket {
    rate: EventRate,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    pub fn new(rate: EventRate, now: Instant) -> Self {
        TokenBucket {
            rate,
            tokens: f64::from(rate.burst.max(1)),
            at: now,
        }
    }

    /// Takes one token at `now`: how long to wait before using it (zero when one was there).
    pub fn take(&mut self, now: Instant) -> Duration {
        if self.rate.qps == 0 {
            return Duration::ZERO;
        }
        let qps = f64::from(self.rate.qps);
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * qps).min(f64::from(self.rate.burst.max(1)));
        self.at = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / qps)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Each row: (rate, takes as offsets from the start, the wait each one gets).
    #[test]
    fn waits_follow_the_rate_after_the_burst() {
        let rate = |qps, burst| EventRate { qps, burst };
        let table: &[(EventRate, &[u64], &[u64])] = &[
            // The burst goes at once; the next owes one interval (1/50 s = 20 ms), and the
            // one after that two.
            (rate(50, 3), &[0, 0, 0, 0, 0], &[0, 0, 0, 20, 40]),
            // Time refills the bucket, never above the burst.
            (rate(50, 2), &[0, 0, 1000, 1000, 1000], &[0, 0, 0, 0, 20]),
            // A taker that waited as told never waits longer.
            (rate(10, 1), &[0, 0, 100, 200], &[0, 100, 100, 100]),
            // A burst of 0 still lets one through.
            (rate(10, 0), &[0, 0], &[0, 100]),
            // No limit.
            (EventRate::UNLIMITED, &[0, 0, 0, 0], &[0, 0, 0, 0]),
        ];
        for (rate, takes, waits) in table {
            let start = Instant::now();
            let mut bucket = TokenBucket::new(*rate, start);
            let got: Vec<Duration> = takes.iter().map(|t| bucket.take(start + ms(*t))).collect();
            let want: Vec<Duration> = waits.iter().map(|w| ms(*w)).collect();
            let close = got
                .iter()
                .zip(&want)
                .all(|(g, w)| g.abs_diff(*w) < Duration::from_micros(10));
            assert!(close, "{rate:?} at {takes:?}: {got:?}, want {want:?}");
        }
    }

    /// Each row: (burst, per second, takes at one instant, the wait of the last in ms).
    #[test]
    fn a_burst_goes_at_once_then_takes_wait_their_turn() {
        let table: &[(u32, u32, u32, u64)] = &[
            (100, 50, 1, 0),
            (100, 50, 100, 0),
            (100, 50, 101, 20),
            (100, 50, 150, 1000),
            (10, 10, 30, 2000),
            (1, 1, 3, 2000),
        ];
        for &(burst, qps, takes, want_ms) in table {
            let now = Instant::now();
            let mut bucket = TokenBucket::new(EventRate { qps, burst }, now);
            let last = (0..takes)
                .map(|_| bucket.take(now))
                .last()
                .unwrap_or_default();
            let got_ms = last.as_millis();
            assert!(
                got_ms.abs_diff(u128::from(want_ms)) <= 1,
                "burst {burst}, {qps}/s, {takes} takes: waited {got_ms} ms, want {want_ms}"
            );
        }
    }

    #[test]
    fn the_bucket_refills_with_time_up_to_the_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(EventRate { qps: 10, burst: 5 }, start);
        for _ in 0..5 {
            assert_eq!(bucket.take(start), Duration::ZERO);
        }
        assert!(bucket.take(start) > Duration::ZERO);
        let later = start + Duration::from_secs(60);
        for _ in 0..5 {
            assert_eq!(bucket.take(later), Duration::ZERO);
        }
        assert!(
            bucket.take(later) > Duration::ZERO,
            "the bucket holds at most the burst"
        );
    }
}
