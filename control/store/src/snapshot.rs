//! Snapshots of the MVCC map: encoding from the key index, installing into redb, and
//! the snapshot files on disk (`snapshots/snapshot-<term>-<index>.bin`, newest kept).

use std::fs;
use std::io;
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

/// Per key, what a snapshot's encoding adds to the key and value bytes (lengths and
/// revisions as varints), rounded up: the buffer is sized once from it.
const ENCODED_OVERHEAD_PER_KEY: usize = 40;

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

/// Encodes like [`FileContents`] without copying the payload.
#[derive(Serialize)]
struct FileContentsOut<'a> {
    meta: &'a SnapshotMeta,
    #[serde(with = "serde_bytes")]
    data: &'a [u8],
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
    let capacity: usize = kvs
        .iter()
        .map(|kv| kv.key.len() + kv.value.len() + ENCODED_OVERHEAD_PER_KEY)
        .sum();
    let kvs = kvs.iter().map(|kv| &**kv).collect();
    let payload = PayloadOut { revision, kvs };
    (meta, codec::encode_with_capacity(&payload, capacity + 16))
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
        {
            let mut file = io::BufWriter::new(fs::File::create(&tmp)?);
            codec::encode_to(&FileContentsOut { meta, data }, &mut file)?;
            file.into_inner()
                .map_err(io::IntoInnerError::into_error)?
                .sync_all()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `save` streams the file without copying the payload; its bytes must stay those of
    /// `FileContents` encoded whole, which `latest` and older builds read.
    #[test]
    fn a_saved_file_is_the_whole_encoding_and_reads_back() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let files = SnapshotFiles::new(dir.path().join("snapshots"));
        let meta = SnapshotMeta {
            last_log_id: None,
            last_membership: Default::default(),
        };
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        files.save(&meta, &data)?;
        let written = fs::read(dir.path().join("snapshots/snapshot-0-0.bin"))?;
        let whole = codec::encode(&FileContents {
            meta: meta.clone(),
            data: data.clone(),
        });
        assert_eq!(written, whole);
        let read = files.latest()?.expect("a snapshot");
        assert_eq!(read.snapshot, data);
        assert_eq!(read.meta, meta);
        Ok(())
    }

    #[test]
    fn a_presized_encoding_is_the_plain_encoding() {
        let kv = KeyValue {
            key: "/registry/pods/default/a".into(),
            value: b"{\"kind\":\"Pod\"}".to_vec(),
            create_revision: 3,
            mod_revision: 300_000,
            version: 2,
        };
        let payload = PayloadOut {
            revision: 300_001,
            kvs: vec![&kv, &kv],
        };
        assert_eq!(
            codec::encode_with_capacity(&payload, 7),
            codec::encode(&payload)
        );
    }
}
