//! One control-plane replica: the Raft node over the redb store, with writes forwarded to the
//! leader, linearizable or serializable reads, watches, and membership changes for joins.
//!
//! # Layout
//! - `peer_client`: HTTPS client for replica-to-replica calls.
//! - `network`: openraft's network on top of `peer_client`.
//! - `peer_api`: the server half: `/raft/*` handlers.
//! - `ops`: writes and reads with leader forwarding.
//! - `read_index`: read-index rounds shared by concurrent linearizable reads.
//! - `confirm`: a round's quorum confirmation, asked of the voters over raft streams.
//! - `compactor`: the background task that bounds watch history.

pub mod compactor;
pub mod confirm;
pub mod network;
pub mod ops;
pub mod peer_api;
pub mod peer_client;
pub mod read_index;
pub mod stream;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use openraft::async_runtime::WatchReceiver;
use openraft::{Config, SnapshotPolicy};

use crate::store::log_store::LogStore;
use crate::store::state_machine::StateMachine;
use crate::store::types::{NodeId, PeerNode, TypeConfig};
use network::Network;
use peer_client::PeerClient;

pub type Raft = openraft::Raft<TypeConfig, StateMachine>;

/// How a replica is set up.
#[derive(Clone, Debug)]
pub struct ReplicaConfig {
    pub data_dir: PathBuf,
    pub node_id: NodeId,
    /// The URL peers reach this replica at (`https://host:port`).
    pub advertise: String,
    /// Build a snapshot (and purge the log behind it) every this many applied entries.
    pub snapshot_every: u64,
    /// Keep at least this many revisions of watch history.
    pub history_revisions: u64,
    /// Keep watch history for at least this long.
    pub history_age: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    LogStore(#[from] crate::store::log_store::LogStoreError),
    #[error(transparent)]
    StateMachine(#[from] crate::store::state_machine::OpenError),
    #[error("invalid Raft configuration: {0}")]
    Config(String),
    #[error("the Raft node failed to start: {0}")]
    Raft(String),
}

/// A running replica. Share it as `Arc<Replica>`.
pub struct Replica {
    pub id: NodeId,
    pub advertise: String,
    pub raft: Raft,
    pub sm: StateMachine,
    pub peers: PeerClient,
    /// Confirms read-index rounds with the voters while this replica leads, and answers the
    /// leader's probes while it follows.
    confirmer: confirm::Confirmer,
    /// Rounds for this replica's own linearizable reads (local or through the leader).
    reads: read_index::ReadIndexBatcher,
    /// Rounds answering followers' read-index requests while this replica leads.
    leader_reads: read_index::ReadIndexBatcher,
}

impl Replica {
    /// Opens the store under `config.data_dir/store` and starts the Raft node. A node that has
    /// never been part of a cluster waits until `bootstrap` or a leader adds it.
    pub async fn start(
        config: &ReplicaConfig,
        peers: PeerClient,
    ) -> Result<Arc<Replica>, StartError> {
        let dir = config.data_dir.join("store");
        std::fs::create_dir_all(&dir)
            .map_err(|e| StartError::Raft(format!("cannot create {}: {e}", dir.display())))?;
        let log = LogStore::open(&dir.join("raft-log.redb"))?;
        let sm = StateMachine::open(&dir)?;
        let raft_config = Config {
            cluster_name: "skiff".into(),
            heartbeat_interval: 100,
            election_timeout_min: 500,
            election_timeout_max: 1000,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(config.snapshot_every),
            max_in_snapshot_log_to_keep: 1000,
            purge_batch_size: 256,
            max_payload_entries: 1024,
            enable_tick: true,
            ..Default::default()
        };
        let raft_config = Arc::new(
            raft_config
                .validate()
                .map_err(|e| StartError::Config(e.to_string()))?,
        );
        let network = Network {
            client: peers.clone(),
        };
        let raft = Raft::new(
            config.node_id,
            raft_config,
            network,
            log.clone(),
            sm.clone(),
        )
        .await
        .map_err(|e| StartError::Raft(e.to_string()))?;
        Ok(Arc::new(Replica {
            id: config.node_id,
            advertise: config.advertise.clone(),
            raft,
            sm,
            confirmer: confirm::Confirmer::new(peers.streams().clone(), log),
            peers,
            reads: Default::default(),
            leader_reads: Default::default(),
        }))
    }

    /// Makes this replica a one-member cluster if it has never been initialised.
    pub async fn bootstrap(&self) -> Result<(), StartError> {
        let initialized = self
            .raft
            .is_initialized()
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?;
        if initialized {
            return Ok(());
        }
        let members = std::collections::BTreeMap::from([(
            self.id,
            PeerNode {
                addr: self.advertise.clone(),
            },
        )]);
        self.raft
            .initialize(members)
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?;
        Ok(())
    }

    /// Waits until the state machine holds everything committed before the restart.
    pub async fn wait_recovered(&self, timeout: Duration) -> Result<(), StartError> {
        self.raft
            .wait_for_recovery(Some(timeout))
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?;
        Ok(())
    }

    /// Read-index rounds this replica confirmed while leading, by how.
    pub fn read_rounds(&self) -> confirm::RoundCounts {
        self.confirmer.counts()
    }

    /// The current leader's id and address, if known.
    pub fn leader(&self) -> Option<(NodeId, String)> {
        let metrics = self.raft.metrics();
        let m = metrics.borrow_watched();
        let leader = m.current_leader?;
        let node = m.membership_config.membership().get_node(&leader)?;
        Some((leader, node.addr.clone()))
    }

    pub async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!("raft shutdown: {e}");
        }
    }
}
