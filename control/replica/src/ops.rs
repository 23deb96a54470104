//! Client-facing store operations on a replica: writes (forwarded to the leader), reads
//! (linearizable through read-index, or serializable from the local copy), watches, and adding
//! a replica to the cluster.
//!
//! The error and request types here are what the API server names; `write` holds writes and
//! `membership` adding a replica (both go through the leader), `read` the reads, and
//! `read_round` one read-index round.

mod membership;
mod read;
mod read_round;
mod write;

use std::time::Duration;

use openraft::errors::{ChangeMembershipError, ClientWriteError, RaftError};
use serde::{Deserialize, Serialize};

use skiff_store::ReadError;
use skiff_store::types::{NodeId, TypeConfig};

pub const PATH_WRITE: &str = "/raft/write";
pub const PATH_READ_INDEX: &str = "/raft/read-index";
pub const PATH_ADD_REPLICA: &str = "/raft/add-replica";

/// How long a client operation keeps looking for a leader before giving up.
const LEADER_WAIT: Duration = Duration::from_secs(10);
/// Timeout of one forwarded call (a healthy leader answers in milliseconds).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(4);

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
    /// Sorts a refused membership change: one still in progress is worth retrying.
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
