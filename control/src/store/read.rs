//! Local reads of the MVCC map: get and list by prefix, at the current or a past revision.
//! Serializable by themselves; the replica makes them linearizable by waiting first.

use redb::{Database, ReadableDatabase, ReadableTable};

use super::codec;
use super::mvcc::{self, HISTORY, KV, META, META_COMPACTED, META_REVISION, MvccError, Version};
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

fn bounds(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
    at: Option<u64>,
) -> Result<(u64, u64), ReadError> {
    let current = mvcc::read_u64(meta, META_REVISION)?;
    let compacted = mvcc::read_u64(meta, META_COMPACTED)?;
    match at {
        Some(r) if r > current => Err(ReadError::Future {
            requested: r,
            current,
        }),
        Some(r) if r < compacted => Err(ReadError::Compacted {
            requested: r,
            compacted,
        }),
        Some(r) => Ok((r, current)),
        None => Ok((current, current)),
    }
}

fn begin(db: &Database) -> Result<redb::ReadTransaction, MvccError> {
    Ok(db.begin_read()?)
}

/// The store's current revision.
pub fn current_revision(db: &Database) -> Result<u64, ReadError> {
    let txn = begin(db)?;
    match txn.open_table(META) {
        Ok(meta) => Ok(mvcc::read_u64(&meta, META_REVISION)?),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
        Err(e) => Err(MvccError::from(e).into()),
    }
}

/// The key as of `at` (default: now), and the revision read at.
pub fn get(
    db: &Database,
    key: &str,
    at: Option<u64>,
) -> Result<(Option<KeyValue>, u64), ReadError> {
    let txn = begin(db)?;
    let meta = match txn.open_table(META) {
        Ok(meta) => meta,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok((None, 0)),
        Err(e) => return Err(MvccError::from(e).into()),
    };
    let (rev, current) = bounds(&meta, at)?;
    if rev == current {
        let kv = txn.open_table(KV).map_err(MvccError::from)?;
        let found = match kv.get(key).map_err(MvccError::from)? {
            Some(v) => Some(codec::decode(v.value()).map_err(MvccError::from)?),
            None => None,
        };
        return Ok((found, rev));
    }
    let history = txn.open_table(HISTORY).map_err(MvccError::from)?;
    Ok((mvcc::version_at(&history, key, rev)?, rev))
}

/// Keys under `prefix`, in key order, as of `options.revision` (default: now).
pub fn list(db: &Database, prefix: &str, options: &ListOptions) -> Result<ListPage, ReadError> {
    let txn = begin(db)?;
    let meta = match txn.open_table(META) {
        Ok(meta) => meta,
        Err(redb::TableError::TableDoesNotExist(_)) => {
            return Ok(ListPage {
                kvs: Vec::new(),
                revision: 0,
                more: false,
            });
        }
        Err(e) => return Err(MvccError::from(e).into()),
    };
    let (rev, current) = bounds(&meta, options.revision)?;
    let limit = options.limit.unwrap_or(usize::MAX);
    let start = options.start_after.as_deref().unwrap_or(prefix);
    let mut kvs = Vec::new();
    let mut more = false;
    if rev == current {
        let table = txn.open_table(KV).map_err(MvccError::from)?;
        for item in table.range(start..).map_err(MvccError::from)? {
            let (k, v) = item.map_err(MvccError::from)?;
            let key = k.value();
            if !key.starts_with(prefix) {
                break;
            }
            if options.start_after.as_deref() == Some(key) {
                continue;
            }
            if kvs.len() == limit {
                more = true;
                break;
            }
            kvs.push(codec::decode(v.value()).map_err(MvccError::from)?);
        }
        return Ok(ListPage {
            kvs,
            revision: rev,
            more,
        });
    }
    // A past revision: walk the history, keeping each key's newest version at or before `rev`.
    let history = txn.open_table(HISTORY).map_err(MvccError::from)?;
    let mut candidate: Option<(String, Option<KeyValue>)> = None;
    let flush =
        |entry: Option<(String, Option<KeyValue>)>, kvs: &mut Vec<KeyValue>, more: &mut bool| {
            if let Some((_, Some(kv))) = entry {
                if kvs.len() == limit {
                    *more = true;
                } else {
                    kvs.push(kv);
                }
            }
        };
    for item in history.range((start, 0)..).map_err(MvccError::from)? {
        let (k, v) = item.map_err(MvccError::from)?;
        let (key, version_rev) = k.value();
        if !key.starts_with(prefix) {
            break;
        }
        if options.start_after.as_deref() == Some(key) || version_rev > rev {
            continue;
        }
        let version: Version = codec::decode(v.value()).map_err(MvccError::from)?;
        let visible = (!version.deleted).then_some(version.kv);
        match &mut candidate {
            Some((k, slot)) if k == key => *slot = visible,
            _ => {
                flush(candidate.take(), &mut kvs, &mut more);
                if more {
                    break;
                }
                candidate = Some((key.to_owned(), visible));
            }
        }
    }
    if !more {
        flush(candidate, &mut kvs, &mut more);
    }
    Ok(ListPage {
        kvs,
        revision: rev,
        more,
    })
}
