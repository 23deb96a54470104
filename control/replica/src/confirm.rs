//! The read index of a linearizable read on the leader, confirmed by asking the voters directly
//! over raft streams.
//!
//! openraft's own ReadIndex hands the request to its core task, which broadcasts a heartbeat
//! through its replication tasks and waits for a quorum of answers to travel back the same way:
//! about six task hand-offs per round on top of the network, most of a 1-client read's latency
//! on a 3-replica cluster. Here the task driving a round reads the leader's state from the log
//! store's memory, sends one small `ReadProbe` frame naming the leader to as many voters as a
//! majority needs, and reads their answers itself.
//!
//! # Why this is ReadIndex
//! At `t0` the leader takes the vote it last saved and the commit openraft last saved through
//! it in this process (`LogStore::saved_committed`, memory only, never read back from the file
//! after a restart); both must name this replica in one term `T`. So it was elected in `T` and
//! had granted no later vote by `t0` (openraft grants a vote only after saving it). A replica
//! never leads a term it led before a restart (`LEADER_RESTORE` in `replica`): it leads `T`
//! only after winning `T`'s election in this process, so a commit of term `T` saved in this
//! process was made by this leadership. That is Raft's rule that a leader serves a read index
//! only after committing an entry of its own term since it became leader (etcd's raft refuses
//! read indexes until then). That commit puts every entry committed before `T` below it;
//! openraft saves each commit before applying it, so every write answered on this replica is
//! at or below it too. That commit is the read index. A voter answers `true` only if, when the
//! probe arrives (after `t0`), the vote it last saved still names this leader in `T`. With a
//! majority of the voters counted this way (the leader counts itself, as of `t0`), any later
//! leader's election needed a vote from one of them after `t0`, so no later leader committed
//! anything before `t0`: every write acknowledged before the read arrived is at or below the
//! read index. No clock or lease is relied on.
//!
//! The voters are the ones openraft's metrics name, used only while the metrics say this
//! replica leads and the membership is a single configuration. A joint configuration, too few
//! confirmations in time, or an old peer that does not know the frame all fall back to
//! openraft's ReadIndex, which is slower and always correct.

mod probe;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use openraft::alias::LeaderIdOf;
use openraft::async_runtime::WatchReceiver;

use super::Raft;
use super::stream::StreamPool;
use skiff_store::LogStore;
use skiff_store::types::{NodeId, TypeConfig};

/// Names the leader a read index came from: a term and a node.
pub(crate) type LeaderId = LeaderIdOf<TypeConfig>;

/// Read-index rounds this replica confirmed as leader, by how (served at `/metrics`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundCounts {
    /// Confirmed by probing the voters here.
    pub by_voters: u64,
    /// Confirmed by openraft's own ReadIndex (the fallback).
    pub by_openraft: u64,
    /// Rounds the voters did not confirm (some said no, or too few answered in time), which
    /// then went to openraft.
    pub unconfirmed: u64,
}

/// Asks voters whether they still follow a leader. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Confirmer {
    pool: StreamPool,
    /// This replica's Raft log: its saved vote and commit.
    log: LogStore,
    outstanding: Arc<Mutex<HashMap<String, usize>>>,
    /// The peer that confirmed the last round; asked first in the next.
    preferred: Arc<Mutex<Option<String>>>,
    by_voters: Arc<AtomicU64>,
    by_openraft: Arc<AtomicU64>,
    unconfirmed: Arc<AtomicU64>,
}

impl Confirmer {
    /// A confirmer that probes over `pool` and reads this replica's vote and commit from `log`.
    pub(crate) fn new(pool: StreamPool, log: LogStore) -> Self {
        Confirmer {
            pool,
            log,
            outstanding: Arc::default(),
            preferred: Arc::default(),
            by_voters: Arc::default(),
            by_openraft: Arc::default(),
            unconfirmed: Arc::default(),
        }
    }

    /// How many rounds this replica confirmed as leader, by how.
    pub(crate) fn counts(&self) -> RoundCounts {
        RoundCounts {
            by_voters: self.by_voters.load(Ordering::Relaxed),
            by_openraft: self.by_openraft.load(Ordering::Relaxed),
            unconfirmed: self.unconfirmed.load(Ordering::Relaxed),
        }
    }

    /// This replica's answer to a leader's probe: whether the vote it last saved names `leader`.
    pub(crate) fn follows(&self, leader: &LeaderId) -> bool {
        follows(&self.log, leader)
    }

    /// Counts a round that openraft's ReadIndex confirmed after this one could not.
    pub(crate) fn count_openraft_round(&self) {
        self.by_openraft.fetch_add(1, Ordering::Relaxed);
    }

    /// The read index for a read arriving now, if this replica leads and a majority of the
    /// voters confirm it; `None` means "not confirmed here", and the caller asks openraft.
    ///
    /// At `t0` this takes the leader this replica's saved vote names and the commit its log
    /// last saved. Both must name this replica in the same term: it was elected then, has
    /// granted no later vote, and has committed an entry of its own term, so every entry
    /// committed before its term is below that commit. Then the voters are asked.
    pub(crate) async fn read_index(&self, raft: &Raft, me: NodeId) -> Option<u64> {
        let vote = self.log.saved_vote()?;
        let leader = *vote.leader_id();
        let committed = self.log.saved_committed()?;
        if leader.node_id != me || *committed.committed_leader_id() != leader {
            return None;
        }
        let peers = voter_peers(raft, me)?;
        // A majority of the `n = peers + 1` voters is `n / 2 + 1`; this replica is one of them,
        // so `n / 2 = ceil(peers / 2)` must come from the others.
        let needed = peers.len().div_ceil(2);
        if needed > 0 && !self.ask(peers, needed, leader).await {
            self.unconfirmed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        self.by_voters.fetch_add(1, Ordering::Relaxed);
        Some(committed.index)
    }
}

/// The addresses of the other voters, if this replica leads by its metrics and the membership
/// is one configuration that has `me` as a voter and names every voter's address.
fn voter_peers(raft: &Raft, me: NodeId) -> Option<Vec<String>> {
    let metrics = raft.metrics();
    let metrics = metrics.borrow_watched();
    if metrics.current_leader != Some(me) {
        return None;
    }
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
fn follows(log: &LogStore, leader: &LeaderId) -> bool {
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
}
