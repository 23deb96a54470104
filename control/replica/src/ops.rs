//! Client-facing store operations on a replica: writes (forwarded to the leader), reads
//! (linearizable through read-index, or serializable from the local copy), watches, and adding
//! a replica to the cluster.

use std::time::Duration;

use openraft::ReadPolicy;
use openraft::errors::{
    ChangeMembershipError, ClientWriteError, ForwardToLeader, LinearizableReadError, RaftError,
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::Replica;
use super::confirm::Confirmer;
use super::leader_change::unless_leader_changes;
use super::peer_client::PeerClient;
use super::read_index::RoundError;
use skiff_store::types::{KeyValue, NodeId, PeerNode, Request, Response, TypeConfig};
use skiff_store::{ListOptions, ListPage, ReadError};
use skiff_store::{WatchError, Watcher};

pub const PATH_WRITE: &str = "/raft/write";
pub const PATH_READ_INDEX: &str = "/raft/read-index";
pub const PATH_ADD_REPLICA: &str = "/raft/add-replica";

/// How long a client operation keeps looking for a leader before giving up.
const LEADER_WAIT: Duration = Duration::from_secs(10);
/// Timeout of one forwarded call (a healthy leader answers in milliseconds).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(4);
/// What a proposal that did not commit in time reports: a leader cut off from its quorum
/// keeps proposals pending, and they may still commit after the partition heals.
const NOT_COMMITTED_IN_TIME: &str = "not committed in time; this leader may have lost its quorum";

#[derive(Debug, thiserror::Error, Serialize, Deserialize)]
pub enum WriteError {
    /// No leader was reachable in time; nothing was written.
    #[error("no leader is available: {0}")]
    NoLeader(String),
    /// The write may or may not have been committed (like etcd's "request timed out").
    #[error("the outcome of the write is unknown: {0}")]
    Unknown(String),
    /// The Raft node stopped.
    #[error("the store stopped: {0}")]
    Fatal(String),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Consistency {
    /// Reflects every write acknowledged before the read started (read-index through the leader).
    #[default]
    Linearizable,
    /// Whatever this replica has applied.
    Serializable,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreReadError {
    #[error(transparent)]
    Read(#[from] ReadError),
    /// No leader confirmed a read index in time.
    #[error("cannot confirm a linearizable read: {0}")]
    NoLeader(String),
    /// The read index was confirmed, but this replica did not apply up to it in time (or its
    /// apply thread stopped).
    #[error("cannot confirm a linearizable read: {0}")]
    NotApplied(#[source] std::io::Error),
    /// The Raft node failed or stopped.
    #[error("cannot confirm a linearizable read: {0}")]
    Fatal(String),
}

/// Why a replica was not added to the cluster; the joining replica receives it.
#[derive(Debug, thiserror::Error, Serialize, Deserialize)]
pub enum AddReplicaError {
    /// The member asked knows no leader to forward the request to.
    #[error("no leader is known yet")]
    NoLeader,
    /// Forwarding the request to the leader failed.
    #[error("{0}")]
    Forward(String),
    /// Another membership change was still in progress when the wait for it ran out.
    #[error("{0}")]
    Busy(String),
    /// The Raft node refused the membership change.
    #[error("{0}")]
    Membership(String),
}

impl AddReplicaError {
    fn from_raft(e: RaftError<TypeConfig, ClientWriteError<TypeConfig>>) -> Self {
        match e {
            RaftError::APIError(ClientWriteError::ChangeMembershipError(
                ChangeMembershipError::InProgress(_),
            )) => AddReplicaError::Busy(e.to_string()),
            _ => AddReplicaError::Membership(e.to_string()),
        }
    }
}

/// A request to add a replica, sent by a joining replica to any member.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AddReplica {
    pub id: NodeId,
    pub addr: String,
}

impl Replica {
    /// Submits `request` through Raft, forwarding to the leader when this replica is not it.
    pub async fn write(&self, request: Request) -> Result<Response, WriteError> {
        let deadline = Instant::now() + LEADER_WAIT;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let proposal = tokio::time::timeout(remaining, self.raft.client_write(request.clone()));
            let Ok(outcome) = proposal.await else {
                return Err(WriteError::Unknown(NOT_COMMITTED_IN_TIME.into()));
            };
            let (leader_id, leader) = match outcome {
                Ok(response) => return Ok(response.data),
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                    (f.leader_id, f.leader_node)
                }
                Err(RaftError::APIError(ClientWriteError::LogEntryDiscarded(f))) => {
                    return Err(WriteError::Unknown(format!(
                        "leadership changed during the write: {f}"
                    )));
                }
                Err(RaftError::APIError(e)) => return Err(WriteError::Fatal(e.to_string())),
                Err(RaftError::Fatal(e)) => return Err(WriteError::Fatal(e.to_string())),
            };
            if let Some(PeerNode { addr }) = leader.filter(|n| n.addr != self.advertise) {
                let call = self
                    .peers
                    .call(&addr, PATH_WRITE, &request, FORWARD_TIMEOUT);
                let Some(answer) = unless_leader_changes(&self.raft, leader_id, call).await else {
                    return Err(WriteError::Unknown(format!(
                        "another leader took over while the write was with {addr}"
                    )));
                };
                let answer: Result<Result<Response, WriteError>, _> = answer;
                match answer {
                    Ok(Ok(response)) => return Ok(response),
                    // The leader lost leadership before proposing: safe to retry.
                    Ok(Err(WriteError::NoLeader(_))) => {}
                    Ok(Err(e)) => return Err(e),
                    Err(e) if e.is_unreachable() => {}
                    Err(e) => return Err(WriteError::Unknown(e.to_string())),
                }
            }
            if Instant::now() >= deadline {
                return Err(WriteError::NoLeader(format!(
                    "no leader answered within {LEADER_WAIT:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The leader half of a forwarded write: propose locally, never forward again.
    pub async fn write_as_leader(&self, request: Request) -> Result<Response, WriteError> {
        let proposal = tokio::time::timeout(LEADER_WAIT, self.raft.client_write(request));
        let Ok(outcome) = proposal.await else {
            return Err(WriteError::Unknown(NOT_COMMITTED_IN_TIME.into()));
        };
        match outcome {
            Ok(response) => Ok(response.data),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => Err(
                WriteError::NoLeader(format!("this replica is no longer the leader: {f}")),
            ),
            Err(RaftError::APIError(e)) => Err(WriteError::Unknown(e.to_string())),
            Err(RaftError::Fatal(e)) => Err(WriteError::Fatal(e.to_string())),
        }
    }

    /// The leader's half of a follower's read-index: the log index a read must wait for.
    /// Concurrent requests share rounds; this never forwards.
    pub(crate) async fn read_index_as_leader(&self) -> Result<u64, RoundError> {
        let lead = self.leadership();
        let round = move || leader_round(lead.clone());
        self.leader_reads.read_index(round).await
    }

    /// Waits until this replica has applied everything committed before now. Concurrent calls
    /// share read-index rounds (see `read_index`).
    pub async fn linearize(&self) -> Result<(), StoreReadError> {
        let deadline = Instant::now() + LEADER_WAIT;
        let (lead, peers, advertise) = (
            self.leadership(),
            self.peers.clone(),
            self.advertise.clone(),
        );
        let round = move || any_round(lead.clone(), peers.clone(), advertise.clone());
        loop {
            match self.reads.read_index(round.clone()).await {
                Ok(index) => {
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    return self
                        .sm
                        .wait_applied(index, remaining)
                        .await
                        .map_err(StoreReadError::NotApplied);
                }
                Err(RoundError::Fatal(e)) => return Err(StoreReadError::Fatal(e)),
                Err(RoundError::NoLeader(e)) if Instant::now() >= deadline => {
                    return Err(StoreReadError::NoLeader(format!(
                        "no leader answered within {LEADER_WAIT:?}: {e}"
                    )));
                }
                Err(RoundError::NoLeader(_)) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    pub async fn get(
        &self,
        key: &str,
        revision: Option<u64>,
        consistency: Consistency,
    ) -> Result<(Option<KeyValue>, u64), StoreReadError> {
        if consistency == Consistency::Linearizable {
            self.linearize().await?;
        }
        Ok(self.sm.mvcc().get(key, revision)?)
    }

    pub async fn list(
        &self,
        prefix: &str,
        options: &ListOptions,
        consistency: Consistency,
    ) -> Result<ListPage, StoreReadError> {
        if consistency == Consistency::Linearizable {
            self.linearize().await?;
        }
        Ok(self.sm.mvcc().list(prefix, options)?)
    }

    /// Events under `prefix` with revision greater than `after`, served from this replica.
    pub fn watch(&self, prefix: &str, after: u64) -> Result<Watcher, WatchError> {
        self.sm
            .hub()
            .watch(self.sm.mvcc().clone(), prefix.to_owned(), after)
    }

    /// Adds a replica as a learner, waits for it to catch up, then makes it a voter. Runs on the
    /// leader; followers forward it.
    pub(crate) async fn add_replica(&self, request: AddReplica) -> Result<(), AddReplicaError> {
        if self.raft.current_leader().await != Some(self.id) {
            let Some((_, addr)) = self.leader() else {
                return Err(AddReplicaError::NoLeader);
            };
            let answer: Result<Result<(), AddReplicaError>, _> = self
                .peers
                .call(&addr, PATH_ADD_REPLICA, &request, Duration::from_secs(60))
                .await;
            return answer.map_err(|e| AddReplicaError::Forward(e.to_string()))?;
        }
        self.add_replica_as_leader(request).await
    }

    /// The leader's half of `add_replica`.
    async fn add_replica_as_leader(&self, request: AddReplica) -> Result<(), AddReplicaError> {
        let node = PeerNode {
            addr: request.addr.clone(),
        };
        // Concurrent joins conflict on the membership change in progress: retry a while.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let attempt = async {
                self.raft
                    .add_learner(request.id, node.clone(), true)
                    .await
                    .map_err(AddReplicaError::from_raft)?;
                let voters: std::collections::BTreeSet<NodeId> =
                    self.raft.voter_ids().chain([request.id]).collect();
                self.raft
                    .change_membership(voters, false)
                    .await
                    .map_err(AddReplicaError::from_raft)
            };
            match attempt.await {
                Ok(_) => break,
                Err(AddReplicaError::Busy(e)) if Instant::now() < deadline => {
                    tracing::debug!("membership change busy, retrying: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        }
        tracing::info!(id = request.id, addr = %request.addr, "replica joined as a voter");
        Ok(())
    }
}

/// What a round reports when the leader's quorum did not answer in time.
fn not_confirmed() -> RoundError {
    RoundError::NoLeader("the leader did not confirm its leadership in time".into())
}

/// What a read-index round on this replica needs: the Raft node, and the means to confirm
/// its leadership with the voters directly. Cheap to clone.
#[derive(Clone)]
struct Leadership {
    raft: super::Raft,
    confirmer: Confirmer,
    me: NodeId,
}

impl Replica {
    fn leadership(&self) -> Leadership {
        Leadership {
            raft: self.raft.clone(),
            confirmer: self.confirmer.clone(),
            me: self.id,
        }
    }
}

/// One read-index round on this replica: the read index, or the leader to ask instead.
///
/// A leader confirms the round by asking the voters directly (`confirm`); when that cannot
/// confirm it, or this replica does not lead, openraft's ReadIndex runs the round (and names
/// the leader to ask).
async fn local_round(
    lead: &Leadership,
) -> Result<Result<u64, ForwardToLeader<TypeConfig>>, RoundError> {
    if let Some(index) = lead.confirmer.read_index(&lead.raft, lead.me).await {
        return Ok(Ok(index));
    }
    let answer = openraft_round(&lead.raft).await;
    if let Ok(Ok(_)) = answer {
        lead.confirmer.count_openraft_round();
    }
    answer
}

/// One round through openraft's own ReadIndex: a heartbeat to the voters through its core.
async fn openraft_round(
    raft: &super::Raft,
) -> Result<Result<u64, ForwardToLeader<TypeConfig>>, RoundError> {
    let linearizer = tokio::time::timeout(
        FORWARD_TIMEOUT,
        raft.get_read_linearizer(ReadPolicy::ReadIndex),
    );
    match linearizer.await {
        Ok(Ok(linearizer)) => Ok(Ok(linearizer.read_log_id().index())),
        Ok(Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(f)))) => Ok(Err(f)),
        Ok(Err(e)) => Err(RoundError::Fatal(e.to_string())),
        Err(_) => Err(not_confirmed()),
    }
}

/// One read-index round on this replica as leader.
async fn leader_round(lead: Leadership) -> Result<u64, RoundError> {
    local_round(&lead)
        .await?
        .map_err(|f| RoundError::NoLeader(format!("this replica is not the leader: {f}")))
}

/// One read-index round: locally when this replica leads, otherwise by asking the leader.
async fn any_round(
    lead: Leadership,
    peers: PeerClient,
    advertise: String,
) -> Result<u64, RoundError> {
    let (leader_id, leader) = match local_round(&lead).await? {
        Ok(index) => return Ok(index),
        Err(forward) => (forward.leader_id, forward.leader_node),
    };
    let Some(PeerNode { addr }) = leader.filter(|n| n.addr != advertise) else {
        return Err(RoundError::NoLeader("no leader is known".into()));
    };
    let call = peers.call(&addr, PATH_READ_INDEX, &(), FORWARD_TIMEOUT);
    let Some(answer) = unless_leader_changes(&lead.raft, leader_id, call).await else {
        return Err(RoundError::NoLeader(format!(
            "another leader took over while {addr} was asked for the read index"
        )));
    };
    let answer: Result<Result<u64, RoundError>, _> = answer;
    match answer {
        Ok(Ok(index)) => Ok(index),
        // Even a leader whose Raft node stopped is, for this replica, only a leader that did
        // not answer: another may be elected, so the read retries.
        Ok(Err(e)) => Err(RoundError::NoLeader(e.to_string())),
        Err(e) => Err(RoundError::NoLeader(e.to_string())),
    }
}
