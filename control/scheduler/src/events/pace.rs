//! How fast the scheduler posts its Scheduled Events: a token bucket (a burst, then a steady
//! rate). Decides only; the caller sleeps.

use std::time::{Duration, Instant};

/// Events posted at once, then per second.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rate {
    pub(crate) burst: u32,
    pub(crate) per_second: u32,
}

/// The kubelet's default event rate (`--event-burst 100`, `--event-qps 50`).
pub(crate) const PACE: Rate = Rate {
    burst: 100,
    per_second: 50,
};

/// The bucket: tokens left, as of `at`.
#[derive(Debug)]
pub(crate) struct Pace {
    rate: Rate,
    tokens: f64,
    at: Instant,
}

impl Pace {
    pub(crate) fn new(rate: Rate, now: Instant) -> Pace {
        Pace {
            rate,
            tokens: f64::from(rate.burst),
            at: now,
        }
    }

    /// Takes a token for one post at `now`: how long to wait before posting (zero if one is
    /// there). The token is spent either way, so waiters queue up in order.
    pub(crate) fn take(&mut self, now: Instant) -> Duration {
        let per_second = f64::from(self.rate.per_second.max(1));
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_second).min(f64::from(self.rate.burst));
        self.at = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / per_second)
        }
    }
}

#[cfg(test)]
mod tests;
