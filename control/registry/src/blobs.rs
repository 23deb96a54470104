//! Blobs in the store: written chunk by chunk, then named by their metadata key (the commit
//! point), and read back as a stream of chunks, whole or a byte range. Content is verified
//! before it is written, and a whole read is verified again as it streams.

use std::sync::Arc;

use bytes::Bytes;
use futures::stream::FuturesUnordered;
use futures::{Stream, StreamExt};
use rand::Rng;
use sha2::Digest as _;

use crate::digest::Digest;
use crate::error::RegistryError;
use crate::storage::{
    BlobMeta, CHUNK_BYTES, Freshness, Storage, blob_key, chunk_key, decode, encode,
};

/// How new blobs are cut into store values and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Bytes per chunk (one store value, one Raft entry).
    pub chunk_bytes: usize,
    /// Chunk writes of one blob in flight at once: the store commits concurrent writes together.
    pub in_flight: usize,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            chunk_bytes: CHUNK_BYTES,
            in_flight: 8,
        }
    }
}

/// The metadata of `digest` if the blob is stored (a linearizable read).
pub async fn meta<S: Storage>(
    storage: &S,
    digest: &Digest,
) -> Result<Option<BlobMeta>, RegistryError> {
    meta_at(storage, digest, Freshness::Latest).await
}

/// The metadata of `digest` as fresh as `freshness` asks.
pub async fn meta_at<S: Storage>(
    storage: &S,
    digest: &Digest,
    freshness: Freshness,
) -> Result<Option<BlobMeta>, RegistryError> {
    match storage.get(&blob_key(digest), freshness).await? {
        Some(stored) => Ok(Some(decode(&stored)?)),
        None => Ok(None),
    }
}

/// Stores `bytes` as the blob `digest` after checking they hash to it. Returns once every
/// chunk and the metadata are committed (replicated). A blob already stored is left as is.
pub async fn put<S: Storage>(
    storage: &S,
    digest: &Digest,
    bytes: &[u8],
    now: u64,
    layout: Layout,
) -> Result<BlobMeta, RegistryError> {
    digest.verify(bytes)?;
    if let Some(existing) = meta(storage, digest).await? {
        return Ok(existing);
    }
    let upload = format!("{now}-{:016x}", rand::rng().random::<u64>());
    let chunk_bytes = layout.chunk_bytes.max(1);
    let chunks = u32::try_from(bytes.len().div_ceil(chunk_bytes)).map_err(|_| {
        RegistryError::SizeInvalid(format!("{} bytes is too many chunks", bytes.len()))
    })?;
    // A new write starts as soon as one finishes, so `in_flight` stay queued at the store.
    let mut pieces = bytes.chunks(chunk_bytes).zip(0..);
    let mut writing = FuturesUnordered::new();
    loop {
        while writing.len() < layout.in_flight.max(1) {
            let Some((piece, index)) = pieces.next() else {
                break;
            };
            let key = chunk_key(digest.hex(), &upload, index);
            writing.push(write_chunk(storage, key, piece.to_vec()));
        }
        match writing.next().await {
            Some(written) => written?,
            None => break,
        }
    }
    let meta = BlobMeta {
        size: bytes.len() as u64,
        chunks,
        upload,
        created: now,
        chunk_bytes: chunk_bytes as u64,
        files: false,
        holders: Vec::new(),
    };
    storage.put(&blob_key(digest), encode(&meta)).await?;
    Ok(meta)
}

/// One chunk's write (a named future: a closure's async block here made the API server's
/// connection future fail the `Send` check for every lifetime).
async fn write_chunk<S: Storage>(
    storage: &S,
    key: String,
    value: Vec<u8>,
) -> Result<(), crate::storage::StorageError> {
    storage.put(&key, value).await
}

/// Bytes `first..=last` of a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub first: u64,
    pub last: u64,
}

/// Where a read is: the next chunk, and the running hash of a whole read.
struct Cursor<S> {
    storage: Arc<S>,
    digest: Digest,
    meta: BlobMeta,
    range: ByteRange,
    next: u64,
    /// Hashes what has been read when the read is the whole blob.
    hasher: Option<sha2::Sha256>,
}

/// The bytes of a stored blob (or of `range` of it), chunk by chunk, as they are read. A whole
/// read is hashed as it goes and its last piece is held back unless the blob matches its
/// digest, so a damaged store ends the stream with an error, never with wrong content. A range
/// is not hashed (it cannot be without reading the rest); the store checksums its pages.
pub fn read<S: Storage>(
    storage: Arc<S>,
    digest: Digest,
    meta: BlobMeta,
    range: Option<ByteRange>,
) -> impl Stream<Item = Result<Bytes, RegistryError>> + Send + 'static {
    let whole = ByteRange {
        first: 0,
        last: meta.size.saturating_sub(1),
    };
    let range = range.unwrap_or(whole);
    let cursor = Cursor {
        hasher: (range == whole).then(sha2::Sha256::new),
        next: range.first / meta.chunk_bytes.max(1),
        storage,
        digest,
        meta,
        range,
    };
    futures::stream::try_unfold(cursor, |mut cursor| async move {
        if cursor.meta.size == 0 || cursor.next * cursor.meta.chunk_bytes > cursor.range.last {
            return Ok(None);
        }
        let piece = cursor.read_next().await?;
        Ok(Some((piece, cursor)))
    })
}

impl<S: Storage> Cursor<S> {
    /// The next chunk, cut to the range; the last one of a whole read only if the blob matches.
    async fn read_next(&mut self) -> Result<Bytes, RegistryError> {
        let key = chunk_key(self.digest.hex(), &self.meta.upload, self.next as u32);
        // The metadata is written after the chunks, so a replica that has applied it has
        // applied them: a local read suffices.
        let Some(chunk) = self.storage.get(&key, Freshness::Local).await? else {
            return Err(RegistryError::Unavailable(format!(
                "chunk {key} of a stored blob is missing"
            )));
        };
        let start = self.next * self.meta.chunk_bytes;
        self.next += 1;
        let end = start + chunk.value.len() as u64;
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&chunk.value);
            if end > self.range.last && !self.matches(end) {
                return Err(RegistryError::Unavailable(format!(
                    "stored blob {} does not match its digest",
                    self.digest
                )));
            }
        }
        let from = self.range.first.saturating_sub(start) as usize;
        let to = (self.range.last + 1).min(end).saturating_sub(start) as usize;
        let mut bytes = Bytes::from(chunk.value);
        if from > to || to > bytes.len() {
            return Err(RegistryError::Unavailable(format!(
                "chunk {key} is shorter than its blob says"
            )));
        }
        bytes.truncate(to);
        Ok(bytes.slice(from..))
    }

    /// Whether the whole blob read so far (`size` bytes) hashes to its digest.
    fn matches(&mut self, size: u64) -> bool {
        let hasher = self.hasher.take().unwrap_or_default();
        size == self.meta.size && hex::encode(hasher.finalize()) == self.digest.hex()
    }
}

/// Deletes a blob: its metadata first (so it stops existing at once), then its chunks, or
/// this replica's file (the other replicas' files go at their next `file_blobs::converge`).
/// `Ok(false)`: it was not stored, or was rewritten since `meta_revision`.
pub async fn delete<S: Storage>(
    storage: &S,
    files: Option<&crate::files::BlobFiles>,
    hex: &str,
    meta: &BlobMeta,
    meta_revision: Option<u64>,
) -> Result<bool, RegistryError> {
    let key = format!("{}{hex}", crate::storage::BLOBS);
    if !storage.delete(&key, meta_revision).await? {
        return Ok(false);
    }
    if meta.files {
        if let Some(files) = files
            && let Err(e) = files.remove(hex)
        {
            tracing::warn!(%hex, error = %e, "a deleted blob's file stays until the next sweep");
        }
        return Ok(true);
    }
    for index in 0..meta.chunks {
        storage
            .delete(&chunk_key(hex, &meta.upload, index), None)
            .await?;
    }
    Ok(true)
}
