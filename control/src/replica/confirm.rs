//! The quorum confirmation of a read-index round, asked directly over raft streams.
//!
//! openraft's own ReadIndex confirms leadership by broadcasting a heartbeat through its core
//! and replication tasks and waiting for a quorum of answers to travel back the same way: about
//! six task hand-offs per round on top of the network, most of a 1-client read's latency on a
//! 3-replica cluster. Here the task driving a round takes the read index from openraft without
//! a heartbeat, then sends each voter one small `ReadProbe` frame naming the leader that
//! produced the read index, and reads the answers itself.
//!
//! # Why this is still ReadIndex
//! The read index comes from openraft's leader state at time `t0`: the larger of the leader's
//! commit index and its own first (no-op) entry, exactly what its ReadIndex uses. A voter
//! answers `true` only if, when the probe arrives (after `t0`), the vote it last saved names
//! that same leader. openraft grants a vote only after saving it, so such a voter had granted
//! no vote to a later leader by then. With a majority of the voters answering `true` (the
//! leader counts itself, as it led at `t0`), any later leader's election needed a vote from one
//! of them after `t0`; so no later leader committed anything before `t0`, and every write
//! acknowledged before the read arrived is at or below the read index. The lease openraft's
//! `LeaseRead` policy checks is not relied on: it only makes openraft answer without starting a
//! heartbeat of its own.
//!
//! The voters are the ones openraft's metrics name, used only while the membership is a single
//! configuration. A joint configuration, too few answers in time, or an old peer that does not
//! know the frame all fall back to openraft's ReadIndex, which is slower and always correct.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use openraft::alias::LeaderIdOf;
use openraft::async_runtime::WatchReceiver;

use super::Raft;
use super::stream::{Kind, StreamPool};
use crate::store::log_store::LogStore;
use crate::store::types::{NodeId, TypeConfig};

/// Names the leader a read index came from: a term and a node.
pub type LeaderId = LeaderIdOf<TypeConfig>;

/// How long a probe may take before the round falls back to openraft's ReadIndex.
const PROBE_TIMEOUT: Duration = Duration::from_millis(300);
/// Probes one peer may have outstanding. A slow or dead peer is skipped rather than stacking
/// up probes (and dials) behind it; the round then needs the other voters.
const MAX_OUTSTANDING: usize = 2;

/// Asks voters whether they still follow a leader. Cheap to clone.
#[derive(Clone)]
pub struct Confirmer {
    pool: StreamPool,
    outstanding: Arc<Mutex<HashMap<String, usize>>>,
}

impl Confirmer {
    pub fn new(pool: StreamPool) -> Self {
        Confirmer {
            pool,
            outstanding: Arc::default(),
        }
    }

    /// Whether a majority of the voters, counting this replica (`me`, which led as `leader`
    /// when the read index was taken), confirm `leader` after now. `false` means "not
    /// confirmed here", never "not the leader": the caller falls back to openraft's ReadIndex.
    pub async fn quorum_follows(&self, raft: &Raft, me: NodeId, leader: LeaderId) -> bool {
        let Some(peers) = voter_peers(raft, me) else {
            return false;
        };
        // A majority of the `n = peers + 1` voters is `n / 2 + 1`; this replica is one of them,
        // so `n / 2 = ceil(peers / 2)` must come from the others.
        let mut needed = peers.len().div_ceil(2);
        if needed == 0 {
            return true;
        }
        let mut probes: FuturesUnordered<_> = peers
            .into_iter()
            .filter_map(|addr| self.probe(addr, leader))
            .collect();
        while let Some(follows) = probes.next().await {
            if follows {
                needed -= 1;
                if needed == 0 {
                    break;
                }
            }
        }
        if !probes.is_empty() {
            // Let the slower probes finish so their connections go back to the pool.
            tokio::spawn(async move { while probes.next().await.is_some() {} });
        }
        needed == 0
    }

    /// One probe to `addr`, or `None` if that peer already has too many outstanding.
    fn probe(
        &self,
        addr: String,
        leader: LeaderId,
    ) -> Option<impl Future<Output = bool> + Send + 'static> {
        let slot = Outstanding::take(&self.outstanding, addr)?;
        let pool = self.pool.clone();
        Some(async move {
            let answer: Result<bool, _> = pool
                .call(&slot.addr, Kind::ReadProbe, &leader, PROBE_TIMEOUT)
                .await;
            answer.unwrap_or_else(|e| {
                tracing::debug!("read probe to {}: {e}", slot.addr);
                false
            })
        })
    }
}

/// One outstanding probe to a peer, counted until it is dropped.
struct Outstanding {
    counts: Arc<Mutex<HashMap<String, usize>>>,
    addr: String,
}

impl Outstanding {
    fn take(counts: &Arc<Mutex<HashMap<String, usize>>>, addr: String) -> Option<Outstanding> {
        let mut map = counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = map.entry(addr.clone()).or_default();
        if *count >= MAX_OUTSTANDING {
            return None;
        }
        *count += 1;
        Some(Outstanding {
            counts: counts.clone(),
            addr,
        })
    }
}

impl Drop for Outstanding {
    fn drop(&mut self) {
        // Plain counters, valid even if a holder panicked.
        let mut map = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = map.get_mut(&self.addr) {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.addr);
            }
        }
    }
}

/// The addresses of the other voters, if the membership is one configuration that has `me` as
/// a voter and names every voter's address.
fn voter_peers(raft: &Raft, me: NodeId) -> Option<Vec<String>> {
    let metrics = raft.metrics();
    let metrics = metrics.borrow_watched();
    let membership = metrics.membership_config.membership();
    if membership.get_joint_config().len() != 1 {
        return None;
    }
    let mut peers = Vec::new();
    let mut has_me = false;
    for id in membership.voter_ids() {
        if id == me {
            has_me = true;
        } else {
            peers.push(membership.get_node(&id)?.addr.clone());
        }
    }
    has_me.then_some(peers)
}

/// A voter's answer to a probe: whether the vote it last saved names `leader`.
pub fn follows(log: &LogStore, leader: &LeaderId) -> bool {
    log.saved_vote()
        .is_some_and(|vote| vote.leader_id() == leader)
}

#[cfg(test)]
mod tests {
    use openraft::Vote;
    use openraft::storage::RaftLogStorage;

    use super::*;

    fn leader(term: u64, node_id: NodeId) -> LeaderId {
        LeaderId { term, node_id }
    }

    #[tokio::test]
    async fn a_voter_follows_only_the_leader_its_saved_vote_names() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let mut log =
            LogStore::open(&dir.path().join("raft-log.redb")).map_err(std::io::Error::other)?;
        assert!(!follows(&log, &leader(1, 1)), "no vote saved yet");

        log.save_vote(&Vote::new_committed(5, 1)).await?;
        assert!(follows(&log, &leader(5, 1)));
        assert!(!follows(&log, &leader(4, 1)), "an older term");
        assert!(
            !follows(&log, &leader(5, 2)),
            "another node in the same term"
        );

        // Granting a vote to a candidate of a later term ends following the old leader at once,
        // before that candidate has won anything.
        log.save_vote(&Vote::new(6, 2)).await?;
        assert!(!follows(&log, &leader(5, 1)));
        assert!(follows(&log, &leader(6, 2)));
        Ok(())
    }

    #[tokio::test]
    async fn probes_to_a_peer_are_capped_and_released() {
        let counts = Arc::new(Mutex::new(HashMap::new()));
        let first = Outstanding::take(&counts, "a".into()).expect("first");
        let second = Outstanding::take(&counts, "a".into()).expect("second");
        assert!(
            Outstanding::take(&counts, "a".into()).is_none(),
            "over the cap"
        );
        assert!(
            Outstanding::take(&counts, "b".into()).is_some(),
            "other peers unaffected"
        );
        drop(first);
        let third = Outstanding::take(&counts, "a".into()).expect("a slot freed");
        drop((second, third));
        assert!(counts.lock().expect("lock").is_empty(), "no entry lingers");
    }
}
