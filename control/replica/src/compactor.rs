//! Bounds watch history: while this replica leads, it periodically proposes a compaction to the
//! newest revision that is both older than the revision window and older than the age window.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Replica;
use skiff_store::types::Request;

/// How often the compactor wakes up.
const TICK: Duration = Duration::from_secs(5);

/// Picks the compaction target from recent (time, revision) samples. Pure, for testing.
pub(crate) fn compaction_target(
    samples: &VecDeque<(Instant, u64)>,
    now: Instant,
    current: u64,
    keep_revisions: u64,
    keep_age: Duration,
) -> u64 {
    let by_count = current.saturating_sub(keep_revisions);
    // The newest revision sampled at least `keep_age` ago: everything up to it is old enough.
    let by_age = samples
        .iter()
        .rev()
        .find(|(t, _)| now.duration_since(*t) >= keep_age)
        .map_or(0, |(_, r)| *r);
    by_count.min(by_age)
}

/// Runs until `shutdown` fires.
pub async fn run(
    replica: Arc<Replica>,
    keep_revisions: u64,
    keep_age: Duration,
    shutdown: CancellationToken,
) {
    let mut samples: VecDeque<(Instant, u64)> = VecDeque::new();
    let mut compacted = 0;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(TICK) => {}
        }
        let current = replica.sm.mvcc().revision();
        let now = Instant::now();
        samples.push_back((now, current));
        while samples.len() > 2 && now.duration_since(samples[1].0) >= keep_age {
            samples.pop_front();
        }
        if !replica.raft.is_leader() {
            continue;
        }
        let target = compaction_target(&samples, now, current, keep_revisions, keep_age);
        if target > compacted {
            match replica
                .write_as_leader(Request::Compact { revision: target })
                .await
            {
                Ok(_) => compacted = target,
                Err(e) => tracing::debug!("compaction to {target} not proposed: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_both_windows() {
        let start = Instant::now();
        let samples: VecDeque<_> = [
            (start, 100),
            (start + Duration::from_secs(60), 5_000),
            (start + Duration::from_secs(120), 20_000),
        ]
        .into();
        let now = start + Duration::from_secs(125);
        // Age window 100 s: only the first sample is old enough -> revision 100.
        assert_eq!(
            compaction_target(&samples, now, 20_000, 1_000, Duration::from_secs(100)),
            100
        );
        // Age window 30 s: the 60 s sample qualifies, count window allows 19_000 -> 5_000.
        assert_eq!(
            compaction_target(&samples, now, 20_000, 1_000, Duration::from_secs(30)),
            5_000
        );
        // Count window is the tighter one.
        assert_eq!(
            compaction_target(&samples, now, 20_000, 18_000, Duration::from_secs(30)),
            2_000
        );
        // Nothing old enough yet.
        assert_eq!(
            compaction_target(&samples, start, 20_000, 10, Duration::from_secs(30)),
            0
        );
    }
}
