//! client-go's spam filter for Events (`EventSourceObjectSpamFilter`): per source and object a
//! token bucket of 25 Events, refilled with one every 5 minutes. Decides only; no I/O.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Events let through at once about one object from one source.
pub(crate) const BURST: u32 = 25;
/// One more Event is let through after this long.
pub(crate) const REFILL_EVERY: Duration = Duration::from_secs(300);
/// Buckets kept at most: past this the full ones (the same as new ones) are forgotten, then
/// all of them.
const MAX_KEYS: usize = 4096;

/// The buckets, by source and object.
#[derive(Debug, Default)]
pub(crate) struct SpamFilter {
    buckets: HashMap<String, Bucket>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: u32,
    /// When the last token was added (or the bucket made).
    refilled: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let periods =
            now.saturating_duration_since(self.refilled).as_secs() / REFILL_EVERY.as_secs();
        if periods == 0 {
            return;
        }
        let added = u32::try_from(periods).unwrap_or(u32::MAX);
        self.tokens = self.tokens.saturating_add(added).min(BURST);
        self.refilled += REFILL_EVERY * added.min(BURST);
        if self.tokens == BURST {
            self.refilled = now;
        }
    }
}

impl SpamFilter {
    /// Whether one more Event under `key` may be written at `now` (and counts it if so).
    pub(crate) fn allow(&mut self, key: &str, now: Instant) -> bool {
        if self.buckets.len() >= MAX_KEYS && !self.buckets.contains_key(key) {
            self.forget_full(now);
            if self.buckets.len() >= MAX_KEYS {
                // client-go's LRU forgets the oldest; forgetting all is as bounded and simpler
                // (those objects may get up to 25 more Events).
                self.buckets.clear();
            }
        }
        let bucket = self.buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: BURST,
            refilled: now,
        });
        bucket.refill(now);
        if bucket.tokens == 0 {
            return false;
        }
        bucket.tokens -= 1;
        true
    }

    /// Drops the buckets that have refilled completely: a new one would be the same.
    fn forget_full(&mut self, now: Instant) {
        self.buckets.retain(|_, b| {
            b.refill(now);
            b.tokens < BURST
        });
    }
}

#[cfg(test)]
mod tests;
