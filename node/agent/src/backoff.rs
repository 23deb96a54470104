//! The kubelet's back-off between restarts of a failing container (CrashLoopBackOff) and
//! between failed image pulls (ImagePullBackOff): `initial`, doubling up to `max`, back to
//! `initial` once a container has run cleanly for `reset_after`.
//!
//! Pure: durations in, durations out; the caller owns the clock.

use std::time::Duration;

/// The back-off settings (Kubernetes: 10 s, 5 min, 10 min). Tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// Delay after the first failure.
    pub initial: Duration,
    /// The delay doubles up to this cap.
    pub max: Duration,
    /// A run at least this long counts as clean and resets the delay to `initial`.
    pub reset_after: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            initial: Duration::from_secs(10),
            max: Duration::from_secs(300),
            reset_after: Duration::from_secs(600),
        }
    }
}

impl BackoffPolicy {
    /// The policy scaled to a shorter `initial`, keeping kube's ratios (max 30x, reset 60x).
    pub fn scaled(initial: Duration) -> Self {
        BackoffPolicy {
            initial,
            max: initial.saturating_mul(30),
            reset_after: initial.saturating_mul(60),
        }
    }
}

/// The back-off state of one container (or one image pull).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    policy: BackoffPolicy,
    /// The delay handed out last; `None` before the first failure or after a reset.
    last: Option<Duration>,
}

impl Backoff {
    pub fn new(policy: BackoffPolicy) -> Self {
        Backoff { policy, last: None }
    }

    /// A failure after running for `ran_for` (zero for a failed pull): returns the delay
    /// before the next attempt.
    pub fn next_delay(&mut self, ran_for: Duration) -> Duration {
        if ran_for >= self.policy.reset_after {
            self.last = None;
        }
        let delay = match self.last {
            None => self.policy.initial,
            Some(last) => last.saturating_mul(2).min(self.policy.max),
        };
        self.last = Some(delay);
        delay
    }

    /// The delay handed out last, if the container is backing off.
    pub fn current(&self) -> Option<Duration> {
        self.last
    }

    /// Success (a pull worked): the next failure starts again at `initial`.
    pub fn reset(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn delays_double_to_the_cap_and_reset_after_a_clean_run() {
        // (ran_for, expected delay) in order, with Kubernetes' defaults.
        let table = [
            (S(0), S(10)),
            (S(1), S(20)),
            (S(5), S(40)),
            (S(0), S(80)),
            (S(0), S(160)),
            (S(0), S(300)),
            (S(0), S(300)),
            (S(599), S(300)),
            (S(600), S(10)),
            (S(0), S(20)),
            (S(3600), S(10)),
        ];
        let mut b = Backoff::new(BackoffPolicy::default());
        assert_eq!(b.current(), None);
        for (i, (ran_for, want)) in table.into_iter().enumerate() {
            assert_eq!(b.next_delay(ran_for), want, "step {i}");
            assert_eq!(b.current(), Some(want));
        }
        b.reset();
        assert_eq!(b.current(), None);
        assert_eq!(b.next_delay(S(0)), S(10));
    }

    #[test]
    fn scaled_policy_keeps_kubes_ratios() {
        let ms = Duration::from_millis;
        let p = BackoffPolicy::scaled(ms(100));
        assert_eq!((p.max, p.reset_after), (ms(3000), ms(6000)));
        let mut b = Backoff::new(p);
        let delays: Vec<_> = (0..7).map(|_| b.next_delay(ms(1))).collect();
        assert_eq!(
            delays,
            [
                ms(100),
                ms(200),
                ms(400),
                ms(800),
                ms(1600),
                ms(3000),
                ms(3000)
            ]
        );
        assert_eq!(b.next_delay(ms(6000)), ms(100));
    }
}
