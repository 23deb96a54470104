//! One read-index round on this replica: confirmed here when it leads (by the voters directly,
//! or by openraft's ReadIndex), otherwise asked of the leader.

use openraft::ReadPolicy;
use openraft::errors::{ForwardToLeader, LinearizableReadError, RaftError};

use super::{FORWARD_TIMEOUT, PATH_READ_INDEX};
use crate::Replica;
use crate::confirm::Confirmer;
use crate::leader_change::unless_leader_changes;
use crate::peer_client::PeerClient;
use crate::read_index::RoundError;
use skiff_store::types::{NodeId, PeerNode, TypeConfig};

/// What a round reports when the leader's quorum did not answer in time.
fn not_confirmed() -> RoundError {
    RoundError::NoLeader("the leader did not confirm its leadership in time".into())
}

/// What a read-index round on this replica needs: the Raft node, and the means to confirm
/// its leadership with the voters directly. Cheap to clone.
#[derive(Clone)]
pub(super) struct Leadership {
    raft: crate::Raft,
    confirmer: Confirmer,
    me: NodeId,
}

impl Replica {
    /// What a read-index round on this replica needs, taken from it.
    pub(super) fn leadership(&self) -> Leadership {
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
    raft: &crate::Raft,
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
pub(super) async fn leader_round(lead: Leadership) -> Result<u64, RoundError> {
    local_round(&lead)
        .await?
        .map_err(|f| RoundError::NoLeader(format!("this replica is not the leader: {f}")))
}

/// One read-index round: locally when this replica leads, otherwise by asking the leader.
pub(super) async fn any_round(
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
