//! Local reads of the MVCC map: get and list by prefix, at the current or a past revision.
//! Serializable by themselves; the replica makes them linearizable by waiting first.
//!
//! A read looks the keys up in the index under its lock, takes current values from memory, and
//! reads older versions from redb afterwards. A version that compaction removed in between is
//! reported as `Compacted`, as it would have been had the read started a moment later.

use redb::ReadableDatabase;

use super::index::{Found, KeyIndex, VersionId};
use super::mvcc::{self, Mvcc, MvccError, REVISIONS};
use super::types::KeyValue;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The revision asked for is older than the history window (Kubernetes 410 `Expired`).
    #[error("revision {requested} is compacted; the oldest readable revision is {compacted}")]
    Compacted { requested: u64, compacted: u64 },
    /// The revision asked for has not happened yet on this replica.
    #[error("revision {requested} is newer than the store's revision {current}")]
    Future { requested: u64, current: u64 },
    #[error(transparent)]
    Storage(#[from] MvccError),
}

/// A page of a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListPage {
    pub kvs: Vec<KeyValue>,
    /// The revision the list was read at.
    pub revision: u64,
    /// More keys follow the last one returned.
    pub more: bool,
}

/// Which page of a prefix to read.
#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    /// Read at this revision instead of the current one.
    pub revision: Option<u64>,
    /// Start strictly after this key (pagination).
    pub start_after: Option<String>,
    /// At most this many keys (`None`: all).
    pub limit: Option<usize>,
}

fn bounds(index: &KeyIndex, at: Option<u64>) -> Result<u64, ReadError> {
    match at {
        Some(r) if r > index.revision => Err(ReadError::Future {
            requested: r,
            current: index.revision,
        }),
        Some(r) if r < index.compacted => Err(ReadError::Compacted {
            requested: r,
            compacted: index.compacted,
        }),
        Some(r) => Ok(r),
        None => Ok(index.revision),
    }
}

impl Mvcc {
    /// The key as of `at` (default: now), and the revision read at.
    pub fn get(&self, key: &str, at: Option<u64>) -> Result<(Option<KeyValue>, u64), ReadError> {
        let (found, revision, generation) = {
            let index = self.index();
            let revision = bounds(&index, at)?;
            (index.find(key, revision), revision, index.generation)
        };
        let mut kvs = self.resolve(found.into_iter().collect(), revision, generation)?;
        Ok((kvs.pop(), revision))
    }

    /// Keys under `prefix`, in key order, as of `options.revision` (default: now).
    pub fn list(&self, prefix: &str, options: &ListOptions) -> Result<ListPage, ReadError> {
        let limit = options.limit.unwrap_or(usize::MAX);
        let (found, more, revision, generation) = {
            let index = self.index();
            let revision = bounds(&index, options.revision)?;
            let (found, more) =
                index.range(prefix, options.start_after.as_deref(), revision, limit);
            (found, more, revision, index.generation)
        };
        let kvs = self.resolve(found, revision, generation)?;
        Ok(ListPage {
            kvs,
            revision,
            more,
        })
    }

    /// Turns index hits into key-values, reading older versions from redb. `generation` is the
    /// index's when the hits were found.
    fn resolve(
        &self,
        found: Vec<Found>,
        revision: u64,
        generation: u64,
    ) -> Result<Vec<KeyValue>, ReadError> {
        let stored: Vec<VersionId> = found
            .iter()
            .filter_map(|f| match f {
                Found::Stored(id) => Some(*id),
                Found::Current(_) => None,
            })
            .collect();
        let mut older = Vec::with_capacity(stored.len());
        if !stored.is_empty() {
            let txn = self.db.begin_read().map_err(MvccError::from)?;
            let table = txn.open_table(REVISIONS).map_err(MvccError::from)?;
            for id in stored {
                match mvcc::fetch(&table, id)? {
                    Some(version) => older.push(version.kv),
                    None => return Err(self.compacted_under(revision)),
                }
            }
            // A snapshot installed since the lookup may have reused the ids just read.
            if self.index().generation != generation {
                return Err(self.compacted_under(revision));
            }
        }
        let mut older = older.into_iter();
        Ok(found
            .into_iter()
            .filter_map(|f| match f {
                Found::Current(kv) => Some(KeyValue::clone(&kv)),
                Found::Stored(_) => older.next(),
            })
            .collect())
    }

    /// What a read at `revision` gets when history it needed went away while it ran.
    fn compacted_under(&self, revision: u64) -> ReadError {
        ReadError::Compacted {
            requested: revision,
            compacted: self.index().compacted,
        }
    }
}
