//! Adding a replica to the cluster: as a learner first, then as a voter, on the leader.

use std::time::Duration;

use tokio::time::Instant;

use super::{AddReplica, AddReplicaError, PATH_ADD_REPLICA};
use crate::Replica;
use skiff_store::types::{NodeId, PeerNode};

impl Replica {
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
