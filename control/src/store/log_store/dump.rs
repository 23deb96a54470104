//! A listing of a Raft log for diagnosis (`skiff debug raft-log`): every entry's log id and a
//! hash of its payload, plus the saved vote and commit. Two replicas whose logs hold different
//! payloads under one (term, index) have broken Raft's log-matching property; this is how
//! issue 12's divergence was traced to a leader resuming its old term after a restart.
//!
//! Opening a log replays its WAL and may checkpoint it, so the caller passes a copy.

use std::path::Path;

use openraft::entry::RaftEntry;
use openraft::storage::{RaftLogReader, RaftLogStorage};
use sha2::{Digest, Sha256};

use super::{LogId, LogStore, LogStoreError, Vote};
use crate::store::codec;

/// One entry of a listed log.
#[derive(Debug)]
pub struct DumpedEntry {
    pub log_id: LogId,
    /// The first 8 bytes of the SHA-256 of the entry's encoded payload, in hex.
    pub payload_hash: String,
    /// `blank`, `membership` or `normal`.
    pub kind: &'static str,
}

/// A listed log.
#[derive(Debug)]
pub struct Dump {
    pub vote: Option<Vote>,
    pub committed: Option<LogId>,
    pub last_purged: Option<LogId>,
    pub entries: Vec<DumpedEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error(transparent)]
    Open(#[from] LogStoreError),
    #[error("reading the raft log: {0}")]
    Read(#[from] std::io::Error),
}

/// Lists the log at `path` (a copy: opening replays and checkpoints its WAL).
pub async fn dump(path: &Path) -> Result<Dump, DumpError> {
    let mut log = LogStore::open(path)?;
    let state = log.get_log_state().await?;
    let vote = log.read_vote().await?;
    let committed = log.read_committed().await?;
    let start = state
        .last_purged_log_id
        .as_ref()
        .map_or(0, |id| id.index + 1);
    let end = state.last_log_id.as_ref().map_or(0, |id| id.index + 1);
    let entries = log.try_get_log_entries(start..end).await?;
    let entries = entries
        .into_iter()
        .map(|entry| {
            let (kind, bytes) = match &entry.payload {
                openraft::EntryPayload::Blank => ("blank", Vec::new()),
                openraft::EntryPayload::Membership(m) => ("membership", codec::encode(m)),
                openraft::EntryPayload::Normal(r) => ("normal", codec::encode(r)),
            };
            DumpedEntry {
                log_id: entry.log_id(),
                payload_hash: hex::encode(&Sha256::digest(&bytes)[..8]),
                kind,
            }
        })
        .collect();
    Ok(Dump {
        vote,
        committed,
        last_purged: state.last_purged_log_id,
        entries,
    })
}
