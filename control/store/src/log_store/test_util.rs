//! Helpers for the log store's tests: entries, votes, and an append that waits for the fsync.

use std::io;

use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::type_config::TypeConfigExt;

use super::{Entry, LogId, LogStore, Vote};
use crate::types::TypeConfig;

pub(super) fn log_id(term: u64, index: u64) -> LogId {
    openraft::testing::log_id::<TypeConfig>(term, 1, index)
}

pub(super) fn blank(term: u64, index: u64) -> Entry {
    openraft::testing::blank_ent::<TypeConfig>(term, 1, index)
}

pub(super) fn vote(term: u64, node: u64) -> Vote {
    Vote::new(term, node)
}

/// Appends and waits until the entries are reported durable.
pub(super) async fn append_flushed(store: &mut LogStore, entries: Vec<Entry>) -> io::Result<()> {
    let (tx, rx) = TypeConfig::oneshot();
    store.append(entries, IOFlushed::signal(tx)).await?;
    rx.await.map_err(io::Error::other)?
}

/// Entries `from..=to` of `term`.
pub(super) fn blanks(term: u64, from: u64, to: u64) -> Vec<Entry> {
    (from..=to).map(|i| blank(term, i)).collect()
}
