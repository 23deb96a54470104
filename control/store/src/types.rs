//! The store's data model: requests that go through Raft, their responses, key-values and watch events.
//!
//! These types are the Raft log's payload (`D`) and the state machine's answer (`R`), so they are
//! part of the on-disk and on-wire format. Change them only together with `codec::FORMAT_VERSION`.

use serde::{Deserialize, Serialize};

/// Raft node id of a control-plane replica. Chosen at random by the replica on first start and
/// persisted, so ids are never reused.
pub type NodeId = u64;

/// What the cluster knows of a replica: where its peer endpoint is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerNode {
    /// Base URL of the replica's HTTPS endpoint, e.g. `https://127.0.0.1:6443`.
    pub addr: String,
}

impl std::fmt::Display for PeerNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.addr)
    }
}

openraft::declare_raft_types!(
    /// openraft type configuration for skiff's store.
    pub TypeConfig:
        D = Request,
        R = Response,
        NodeId = NodeId,
        Node = PeerNode,
);

/// A write submitted through Raft.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Apply all operations atomically at one new revision, or none of them.
    Txn(Txn),
    /// Forget watch history and old versions below `revision`.
    Compact { revision: u64 },
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Txn(txn) => write!(f, "txn({} ops)", txn.ops.len()),
            Request::Compact { revision } => write!(f, "compact({revision})"),
        }
    }
}

/// A small multi-key transaction: every precondition must hold, then every op applies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Txn {
    pub ops: Vec<Op>,
}

/// One write in a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    pub key: String,
    pub action: Action,
    pub precondition: Precondition,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Put(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Deleting an absent key fails the transaction with `NotFound`.
    Delete,
}

/// What must be true of the key before the op applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Precondition {
    /// Nothing (an unconditional put; a delete still needs the key to exist).
    None,
    /// The key must not exist (create).
    Absent,
    /// The key must exist with exactly this `mod_revision` (compare-and-set).
    ModRevision(u64),
}

impl Op {
    pub fn create(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Op {
            key: key.into(),
            action: Action::Put(value.into()),
            precondition: Precondition::Absent,
        }
    }
    pub fn put(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Op {
            key: key.into(),
            action: Action::Put(value.into()),
            precondition: Precondition::None,
        }
    }
    pub fn update(key: impl Into<String>, value: impl Into<Vec<u8>>, mod_revision: u64) -> Self {
        Op {
            key: key.into(),
            action: Action::Put(value.into()),
            precondition: Precondition::ModRevision(mod_revision),
        }
    }
    pub fn delete(key: impl Into<String>) -> Self {
        Op {
            key: key.into(),
            action: Action::Delete,
            precondition: Precondition::None,
        }
    }
    pub fn delete_at(key: impl Into<String>, mod_revision: u64) -> Self {
        Op {
            key: key.into(),
            action: Action::Delete,
            precondition: Precondition::ModRevision(mod_revision),
        }
    }
}

/// A stored key and its value, with MVCC bookkeeping as etcd has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    #[serde(with = "serde_bytes")]
    pub value: Vec<u8>,
    /// Revision of the write that created this incarnation of the key.
    pub create_revision: u64,
    /// Revision of the last write to the key (Kubernetes' `resourceVersion`).
    pub mod_revision: u64,
    /// Number of writes since creation (1 after create).
    pub version: u64,
}

/// The state machine's answer to one log entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// Membership or blank entries.
    #[default]
    Empty,
    /// The transaction applied at `revision`. `prev[i]` is op `i`'s key before the write.
    Committed {
        revision: u64,
        prev: Vec<Option<KeyValue>>,
    },
    /// A precondition failed; nothing was written.
    Failed(TxnFailure),
    /// History below `revision` is gone.
    Compacted { revision: u64 },
}

/// Why a transaction did not apply. This is a normal outcome, not a store error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnFailure {
    /// Index of the first op whose precondition failed.
    pub op_index: usize,
    pub key: String,
    pub reason: FailureReason,
    /// The store's revision when the transaction was evaluated.
    pub revision: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureReason {
    AlreadyExists,
    NotFound,
    /// The key's `mod_revision` is not the expected one (`None`: the key is absent).
    RevisionMismatch {
        current: Option<u64>,
    },
}

/// What happened to one key at one revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    /// For a put, the new key-value. For a delete, the last value, with
    /// `mod_revision` set to the deleting revision.
    pub kv: KeyValue,
    /// The key-value before this event, if the key existed.
    pub prev: Option<KeyValue>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    Put,
    Delete,
}

impl Event {
    pub fn revision(&self) -> u64 {
        self.kv.mod_revision
    }
}
