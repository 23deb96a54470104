//! Client writes: proposed through Raft here, or forwarded to the leader.

use std::time::Duration;

use openraft::errors::{ClientWriteError, RaftError};
use tokio::time::Instant;

use super::{FORWARD_TIMEOUT, LEADER_WAIT, PATH_WRITE, WriteError};
use crate::Replica;
use crate::leader_change::unless_leader_changes;
use skiff_store::types::{PeerNode, Request, Response};

/// What a proposal that did not commit in time reports: a leader cut off from its quorum
/// keeps proposals pending, and they may still commit after the partition heals.
const NOT_COMMITTED_IN_TIME: &str = "not committed in time; this leader may have lost its quorum";

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
}
