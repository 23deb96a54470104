//! Snapshots of the MVCC map: encoding from the key index, installing into redb, and
//! the snapshot files on disk (`snapshots/snapshot-<term>-<index>.bin`, newest kept).

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use redb::{Durability, ReadableDatabase};
use serde::{Deserialize, Serialize};

use super::codec;
use super::index::VersionId;
use super::mvcc::{self, META_COMPACTED, META_REVISION, Mvcc, MvccError, REVISIONS, VersionOut};
use super::state_machine::{META_APPLIED, META_MEMBERSHIP, Snapshot, SnapshotMeta};
use super::types::KeyValue;

/// Snapshot bytes as they travel between replicas: `codec::encode(&Payload)`.
pub type SnapshotData = Vec<u8>;

/// The whole current map at one revision.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Payload {
    pub revision: u64,
    pub kvs: Vec<KeyValue>,
}

/// Encodes like [`Payload`] from the index's shared values.
#[derive(Serialize)]
struct PayloadOut<'a> {
    revision: u64,
    kvs: Vec<&'a KeyValue>,
}

/// What a snapshot file holds: the Raft metadata and the payload bytes.
#[derive(Serialize, Deserialize)]
struct FileContents {
    meta: SnapshotMeta,
    #[serde(with = "serde_bytes")]
    data: Vec<u8>,
}

/// The current map and the Raft state it reflects. Holds the index's lock only to copy out
/// pointers to the values, so applies go on while the bytes are encoded.
pub(crate) fn encode_from(mvcc: &Mvcc) -> (SnapshotMeta, SnapshotData) {
    let (meta, revision, kvs) = {
        let index = mvcc.index();
        let meta = SnapshotMeta {
            last_log_id: index.applied,
            last_membership: index.membership.clone(),
        };
        let kvs: Vec<Arc<KeyValue>> = index.live().cloned().collect();
        (meta, index.revision, kvs)
    };
    let kvs = kvs.iter().map(|kv| &**kv).collect();
    (meta, codec::encode(&PayloadOut { revision, kvs }))
}

pub(crate) fn decode(data: &[u8]) -> Result<Payload, io::Error> {
    Ok(codec::decode(data)?)
}

/// Replaces the whole state with the snapshot, durably. History before it is gone. Readers wait
/// for the index while the file changes under it.
pub(crate) fn install(mvcc: &Mvcc, meta: &SnapshotMeta, payload: Payload) -> Result<(), io::Error> {
    let mut index = mvcc.index_mut();
    let mut txn = mvcc.db.begin_write().map_err(io::Error::other)?;
    txn.set_durability(Durability::Immediate)
        .map_err(io::Error::other)?;
    txn.delete_table(REVISIONS).map_err(io::Error::other)?;
    {
        let mut table = txn.open_table(REVISIONS).map_err(MvccError::from)?;
        let mut by_revision: Vec<&KeyValue> = payload.kvs.iter().collect();
        by_revision.sort_by_key(|kv| kv.mod_revision);
        let mut last: Option<VersionId> = None;
        for kv in by_revision {
            // Keys written by one multi-key transaction share a revision: number them apart.
            let op = match last {
                Some(id) if id.revision == kv.mod_revision => id.op + 1,
                _ => 0,
            };
            let id = VersionId {
                revision: kv.mod_revision,
                op,
            };
            let stored = codec::encode(&VersionOut { kv, deleted: false });
            table
                .insert((id.revision, id.op), stored.as_slice())
                .map_err(MvccError::from)?;
            last = Some(id);
        }
        let mut meta_table = txn.open_table(mvcc::META).map_err(MvccError::from)?;
        mvcc::write_u64(&mut meta_table, META_REVISION, payload.revision)?;
        mvcc::write_u64(&mut meta_table, META_COMPACTED, payload.revision)?;
        let applied = codec::encode(&meta.last_log_id);
        meta_table
            .insert(META_APPLIED, applied.as_slice())
            .map_err(MvccError::from)?;
        let membership = codec::encode(&meta.last_membership);
        meta_table
            .insert(META_MEMBERSHIP, membership.as_slice())
            .map_err(MvccError::from)?;
    }
    txn.commit().map_err(io::Error::other)?;
    let read = mvcc.db.begin_read().map_err(io::Error::other)?;
    let generation = index.generation + 1;
    *index = mvcc::rebuild(&read)?;
    index.generation = generation;
    Ok(())
}

/// The directory of snapshot files.
#[derive(Clone)]
pub(crate) struct SnapshotFiles {
    dir: PathBuf,
}

impl SnapshotFiles {
    pub(crate) fn new(dir: PathBuf) -> Self {
        SnapshotFiles { dir }
    }

    fn files(&self) -> io::Result<Vec<(u64, PathBuf)>> {
        let mut out = Vec::new();
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let index = name
                .strip_prefix("snapshot-")
                .and_then(|rest| rest.strip_suffix(".bin"))
                .and_then(|rest| rest.rsplit('-').next())
                .and_then(|index| index.parse::<u64>().ok());
            if let Some(index) = index {
                out.push((index, path));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Refuses to start over a corrupt newest snapshot: the error names the file.
    pub(crate) fn check(&self) -> io::Result<()> {
        self.latest().map(|_| ())
    }

    pub(crate) fn latest(&self) -> io::Result<Option<Snapshot>> {
        let Some((_, path)) = self.files()?.pop() else {
            return Ok(None);
        };
        let bytes = fs::read(&path)?;
        let contents: FileContents = codec::decode(&bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("snapshot file {}: {e}", path.display()),
            )
        })?;
        Ok(Some(Snapshot {
            meta: contents.meta,
            snapshot: contents.data,
        }))
    }

    /// Writes the snapshot durably (temp file, fsync, rename, fsync dir), then removes older ones.
    pub(crate) fn save(&self, meta: &SnapshotMeta, data: &[u8]) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let (term, index) = match &meta.last_log_id {
            Some(id) => (id.leader_id.term, id.index),
            None => (0, 0),
        };
        let name = format!("snapshot-{term}-{index}.bin");
        let tmp = self.dir.join(format!("{name}.tmp"));
        let contents = FileContents {
            meta: meta.clone(),
            data: data.to_vec(),
        };
        {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(&codec::encode(&contents))?;
            file.sync_all()?;
        }
        let path = self.dir.join(&name);
        fs::rename(&tmp, &path)?;
        fs::File::open(&self.dir)?.sync_all()?;
        for (old_index, old) in self.files()? {
            if old_index < index && old != path {
                fs::remove_file(old)?;
            }
        }
        Ok(())
    }
}
