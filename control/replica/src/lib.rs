//! One control-plane replica: the Raft node over the redb store, with writes forwarded to the
//! leader, linearizable or serializable reads, watches, and membership changes for joins.
//!
//! # Layout
//! - `peer_client`: HTTPS client for replica-to-replica calls.
//! - `network`: openraft's network on top of `peer_client`.
//! - `peer_api`: the server half: `/raft/*` handlers.
//! - `ops`: writes and reads with leader forwarding (`ops::write`, `ops::read`, `ops::read_round`,
//!   `ops::membership`).
//! - `read_index`: read-index rounds shared by concurrent linearizable reads.
//! - `confirm`: a round's quorum confirmation, asked of the voters over raft streams
//!   (`confirm::probe` sends the probes).
//! - `leader_change`: ending a forwarded call early when another leader takes over.
//! - `compactor`: the background task that bounds watch history.
//!
//! Architecture invariant: the openraft node and the state machine are private to `Replica`;
//! other crates ask it (`write`, `get`, `list`, `watch`, `revision`, `is_leader`, `leader`) and
//! never name an openraft type.

#![deny(unreachable_pub)]

mod compactor;
mod confirm;
mod leader_change;
mod network;
pub mod ops;
mod peer_api;
mod peer_client;
mod read_index;
mod stream;

pub use compactor::run as run_compactor;
pub use confirm::RoundCounts;
pub use peer_api::handle as handle_peer_request;
pub use peer_client::{BodyError, PEER_AUTH_HEADER, PeerClient};
pub use stream::{PATH_STREAM, accept as accept_stream};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use openraft::async_runtime::WatchReceiver;
use openraft::{Config, SnapshotPolicy};

use network::Network;
use skiff_store::LogStore;
use skiff_store::StateMachine;
use skiff_store::types::{NodeId, PeerNode, TypeConfig};

type Raft = openraft::Raft<TypeConfig, StateMachine>;

/// Whether a leader that restarts may resume leading in the term it led before, without an
/// election. It may not. The log store serves appended entries to replication before they are
/// durable (`store::log_store`: the in-memory tail), as Raft allows a leader to write its log
/// in parallel with sending it. A leader killed in term `T` can therefore have sent entries
/// `i..j` of term `T` to followers and lost them itself. Resuming `T` after a restart, it would
/// append *different* entries at `i..` in the same term, and a follower holding the old
/// `(T, i)` would accept them as matching: two entries with one `(term, index)` break Raft's
/// log-matching property, and replicas diverge for good. Seen with `skiff debug raft-log` on
/// the three data directories that `tests/examples/leader_restart_loop.rs` kept after round 9
/// with this set to `true`: all three logs end at term 5, leader `3508d5ec…` (the restarted
/// one), index 1511, but the two followers hold payloads `674a94d5…`/`998e0872…` at (5, 1409)
/// and (5, 1410) where the restarted leader holds `c9d1e5f5…`/`45c6d82a…`. A resumed
/// leader also takes its read index from a commit index that is only as new as the file, which
/// lags what it told clients. An election gives the restarted replica a new term, where every
/// entry it writes is new, and makes it commit an entry of that term before it serves a read
/// index (`confirm`).
const LEADER_RESTORE: bool = false;

/// Whether a follower runs a pre-vote round before a real election. A replica resumed after
/// SIGSTOP, or back from a partition, finds its election timer long expired; without pre-vote
/// it campaigns at once in a higher term, and the leader steps down when it sees that term,
/// stalling writes for an election (issue 12 measured 0.55-0.94 s). With pre-vote it first
/// asks whether it could win; voters that heard from the leader within the election timeout
/// say no, and it goes back to following.
const PRE_VOTE: bool = true;

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
    LogStore(#[from] skiff_store::LogStoreError),
    #[error(transparent)]
    StateMachine(#[from] skiff_store::OpenError),
    #[error("invalid Raft configuration: {0}")]
    Config(String),
    #[error("cannot create {}: {source}", path.display())]
    StoreDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the Raft node failed to start: {0}")]
    Raft(String),
}

/// A running replica. Share it as `Arc<Replica>`.
pub struct Replica {
    id: NodeId,
    advertise: String,
    /// The replica's data directory (the registry keeps blob files beside the store).
    data_dir: PathBuf,
    /// The openraft node; private, so openraft stays inside this crate and `skiff-store`.
    raft: Raft,
    sm: StateMachine,
    peers: PeerClient,
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
        std::fs::create_dir_all(&dir).map_err(|source| StartError::StoreDir {
            path: dir.clone(),
            source,
        })?;
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
            // A restarted leader must win a new election (a new term) before it leads again;
            // see `LEADER_RESTORE` below for why resuming the old term is unsafe here.
            enable_leader_restore: Some(LEADER_RESTORE),
            // A replica back from a pause or a partition asks before it campaigns, so its
            // stale election timer cannot depose a healthy leader (see `PRE_VOTE`).
            enable_pre_vote: Some(PRE_VOTE),
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
            data_dir: config.data_dir.clone(),
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

    /// The newest revision this replica's store has applied.
    pub fn revision(&self) -> u64 {
        self.sm.mvcc().revision()
    }

    /// Whether this replica is the Raft leader now.
    pub fn is_leader(&self) -> bool {
        self.raft.is_leader()
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

    /// This replica's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The data directory this replica was started on.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The HTTPS client this replica reaches its peers with (cluster CA, cluster secret).
    pub fn peer_client(&self) -> &PeerClient {
        &self.peers
    }

    /// The voters of the current membership (a majority of them is a quorum).
    pub fn voters(&self) -> Vec<NodeId> {
        let metrics = self.raft.metrics();
        let m = metrics.borrow_watched();
        m.membership_config.membership().voter_ids().collect()
    }

    /// Every voter and learner of the current membership: id and address.
    pub fn members(&self) -> Vec<(NodeId, String)> {
        let metrics = self.raft.metrics();
        let m = metrics.borrow_watched();
        m.membership_config
            .membership()
            .nodes()
            .map(|(id, node)| (*id, node.addr.clone()))
            .collect()
    }

    pub async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!("raft shutdown: {e}");
        }
    }
}
