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
use crate::codec;

/// One entry of a listed log.
#[derive(Debug)]
struct DumpedEntry {
    log_id: LogId,
    /// The first 8 bytes of the SHA-256 of the entry's encoded payload, in hex.
    payload_hash: String,
    /// `blank`, `membership` or `normal`.
    kind: &'static str,
}

/// A listed log; its `Display` is the listing.
#[derive(Debug)]
pub struct Dump {
    vote: Option<Vote>,
    committed: Option<LogId>,
    last_purged: Option<LogId>,
    entries: Vec<DumpedEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error(transparent)]
    Open(#[from] LogStoreError),
    #[error("reading the raft log: {0}")]
    Read(#[from] std::io::Error),
}

impl std::fmt::Display for Dump {
    /// The vote, the commit and the last purged id, then one tab-separated line per entry:
    /// term, leader node (16 hex digits, as `skiff server` prints ids), index, kind, hash.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.vote {
            Some(v) => writeln!(
                f,
                "vote: term {} node {:016x} {}",
                v.leader_id().term,
                v.leader_id().node_id,
                if v.is_committed() {
                    "committed"
                } else {
                    "not committed"
                }
            )?,
            None => writeln!(f, "vote: none")?,
        }
        writeln!(f, "committed: {}", show(self.committed.as_ref()))?;
        writeln!(f, "last purged: {}", show(self.last_purged.as_ref()))?;
        writeln!(f, "term\tnode\tindex\tkind\tpayload-sha256")?;
        for e in &self.entries {
            let id = &e.log_id;
            writeln!(
                f,
                "{}\t{:016x}\t{}\t{}\t{}",
                id.leader_id.term, id.leader_id.node_id, id.index, e.kind, e.payload_hash
            )?;
        }
        Ok(())
    }
}

fn show(id: Option<&LogId>) -> String {
    id.map_or("none".to_owned(), |l| {
        format!(
            "term {} node {:016x} index {}",
            l.leader_id.term, l.leader_id.node_id, l.index
        )
    })
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
