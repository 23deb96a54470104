//! The MVCC map: every version in redb keyed by revision, and the key index with the current
//! values in memory ([`KeyIndex`]). Opening rebuilds the index from the file.
//!
//! Tables (all in `state.redb`):
//! - `revisions`: (revision, op index) -> `Version` (the key as of that revision, or its
//!   deletion). Writes append at the end, as etcd's bbolt `key` bucket does.
//! - `meta`: small records: layout, current revision, compacted revision, Raft applied state.
//!
//! Invariants: redb is the source of truth and the index a cache of it; the index never
//! describes a version redb has not committed (see `index.rs`), and `meta`'s revision is the
//! newest revision in `revisions`. redb may still hold versions below the compacted revision
//! that compaction dropped from the index; no read reaches them, and an index rebuilt with them
//! answers every read in the window the same, until the next compaction drops them again. The
//! write path is `write.rs`, the reads `read.rs`.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::codec::{self, CodecError};
use super::index::{Change, KeyIndex, VersionId, VersionRef};
use super::state_machine::{META_APPLIED, META_MEMBERSHIP};
use super::types::KeyValue;

pub(crate) const REVISIONS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("revisions");
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

pub(crate) const META_REVISION: &str = "revision";
pub(crate) const META_COMPACTED: &str = "compacted";
const META_LAYOUT: &str = "layout";
/// Layout 1 kept a key-ordered `kv` and `history`; layout 2 is the revision-keyed one.
const LAYOUT: u64 = 2;

/// One key's state as of one revision, as stored in `revisions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Version {
    pub kv: KeyValue,
    /// The key was deleted at `kv.mod_revision`; `kv.value` is the last value it had.
    pub deleted: bool,
}

/// Encodes like [`Version`] without owning the key-value.
#[derive(Serialize)]
pub(crate) struct VersionOut<'a> {
    pub kv: &'a KeyValue,
    pub deleted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum MvccError {
    #[error("storage: {0}")]
    Redb(#[from] redb::Error),
    #[error("decoding a stored record: {0}")]
    Codec(#[from] CodecError),
    #[error(
        "the file was written by an older skiff (store layout {found}); this build reads layout {LAYOUT}"
    )]
    Layout { found: u64 },
}

macro_rules! redb_error_into_mvcc {
    ($($t:ty),*) => {$(
        impl From<$t> for MvccError {
            fn from(e: $t) -> Self {
                MvccError::Redb(e.into())
            }
        }
    )*};
}
redb_error_into_mvcc!(
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError,
    redb::SetDurabilityError
);

impl From<MvccError> for std::io::Error {
    fn from(e: MvccError) -> Self {
        std::io::Error::other(e)
    }
}

pub(crate) fn read_u64<T: ReadableTable<&'static str, &'static [u8]>>(
    meta: &T,
    key: &str,
) -> Result<u64, MvccError> {
    match meta.get(key)? {
        Some(v) => Ok(codec::decode(v.value())?),
        None => Ok(0),
    }
}

pub(crate) fn write_u64(
    meta: &mut redb::Table<&str, &[u8]>,
    key: &str,
    value: u64,
) -> Result<(), MvccError> {
    meta.insert(key, codec::encode(&value).as_slice())?;
    Ok(())
}

/// Handle on the MVCC map. Cheap to clone; clones share the file and the index.
#[derive(Clone)]
pub struct Mvcc {
    pub(crate) db: Arc<Database>,
    index: Arc<RwLock<KeyIndex>>,
}

impl Mvcc {
    /// Creates the tables if the file is new, refuses an older layout, and rebuilds the index.
    pub fn open(db: Arc<Database>) -> Result<Self, MvccError> {
        // Checked in a read transaction first, so a refused file is not written to.
        let layout = {
            let txn = db.begin_read()?;
            match txn.open_table(META) {
                Ok(meta) => {
                    let layout = read_u64(&meta, META_LAYOUT)?;
                    let used =
                        meta.get(META_REVISION)?.is_some() || meta.get(META_APPLIED)?.is_some();
                    match layout {
                        0 if used => return Err(MvccError::Layout { found: 1 }),
                        0 | LAYOUT => layout,
                        found => return Err(MvccError::Layout { found }),
                    }
                }
                Err(redb::TableError::TableDoesNotExist(_)) => 0,
                Err(e) => return Err(e.into()),
            }
        };
        if layout == 0 {
            let txn = db.begin_write()?;
            txn.open_table(REVISIONS)?;
            write_u64(&mut txn.open_table(META)?, META_LAYOUT, LAYOUT)?;
            txn.commit()?;
        }
        let index = rebuild(&db.begin_read()?)?;
        Ok(Mvcc {
            db,
            index: Arc::new(RwLock::new(index)),
        })
    }

    pub(crate) fn index(&self) -> RwLockReadGuard<'_, KeyIndex> {
        skiff_sync::read(&self.index)
    }

    pub(crate) fn index_mut(&self) -> RwLockWriteGuard<'_, KeyIndex> {
        skiff_sync::write(&self.index)
    }

    /// The store's current revision.
    pub fn revision(&self) -> u64 {
        self.index().revision
    }
}

/// Reads one stored version, `None` if compaction removed it.
pub(crate) fn fetch<T>(table: &T, id: VersionId) -> Result<Option<Version>, MvccError>
where
    T: ReadableTable<(u64, u32), &'static [u8]>,
{
    match table.get((id.revision, id.op))? {
        Some(raw) => Ok(Some(codec::decode(raw.value())?)),
        None => Ok(None),
    }
}

/// Builds the index from a read transaction: every stored version, in revision order.
pub(crate) fn rebuild(txn: &redb::ReadTransaction) -> Result<KeyIndex, MvccError> {
    let mut index = KeyIndex::default();
    let table = txn.open_table(REVISIONS)?;
    for item in table.iter()? {
        let (k, v) = item?;
        let (revision, op) = k.value();
        let version: Version = codec::decode(v.value())?;
        let deleted = version.deleted;
        index.publish(Change {
            key: version.kv.key.clone(),
            version: VersionRef {
                id: VersionId { revision, op },
                deleted,
            },
            value: (!deleted).then(|| Arc::new(version.kv)),
        });
    }
    let meta = txn.open_table(META)?;
    index.revision = read_u64(&meta, META_REVISION)?;
    index.compacted = read_u64(&meta, META_COMPACTED)?;
    if let Some(v) = meta.get(META_APPLIED)? {
        index.applied = codec::decode(v.value())?;
    }
    if let Some(v) = meta.get(META_MEMBERSHIP)? {
        index.membership = codec::decode(v.value())?;
    }
    Ok(index)
}
