//! Blobs in the store: written chunk by chunk, then named by their metadata key (the commit
//! point), and read back whole. Content is verified before it is written.

use rand::Rng;

use crate::digest::Digest;
use crate::error::RegistryError;
use crate::storage::{
    BlobMeta, CHUNK_BYTES, Freshness, Storage, blob_key, chunk_key, decode, encode,
};

/// How many chunk writes of one blob are in flight at once.
const PARALLEL_CHUNKS: usize = 8;

/// The metadata of `digest` if the blob is stored.
pub async fn meta<S: Storage>(
    storage: &S,
    digest: &Digest,
) -> Result<Option<BlobMeta>, RegistryError> {
    match storage.get(&blob_key(digest), Freshness::Latest).await? {
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
) -> Result<BlobMeta, RegistryError> {
    digest.verify(bytes)?;
    if let Some(existing) = meta(storage, digest).await? {
        return Ok(existing);
    }
    let upload = format!("{now}-{:016x}", rand::rng().random::<u64>());
    let pieces: Vec<&[u8]> = bytes.chunks(CHUNK_BYTES).collect();
    let chunks = u32::try_from(pieces.len()).map_err(|_| {
        RegistryError::SizeInvalid(format!("{} bytes is too many chunks", bytes.len()))
    })?;
    // A few chunks in flight at once: the store commits concurrent writes together.
    let keys: Vec<String> = (0..chunks)
        .map(|index| chunk_key(digest.hex(), &upload, index))
        .collect();
    for (keys, pieces) in keys
        .chunks(PARALLEL_CHUNKS)
        .zip(pieces.chunks(PARALLEL_CHUNKS))
    {
        let writes = keys
            .iter()
            .zip(pieces)
            .map(|(key, piece)| storage.put(key, piece.to_vec()));
        futures::future::try_join_all(writes).await?;
    }
    let meta = BlobMeta {
        size: bytes.len() as u64,
        chunks,
        upload,
        created: now,
    };
    storage.put(&blob_key(digest), encode(&meta)).await?;
    Ok(meta)
}

/// The bytes of a stored blob, checked against its digest (a damaged store is an error, never
/// wrong content).
pub async fn read<S: Storage>(
    storage: &S,
    digest: &Digest,
    meta: &BlobMeta,
) -> Result<Vec<u8>, RegistryError> {
    let mut bytes = Vec::with_capacity(usize::try_from(meta.size).unwrap_or(0));
    for index in 0..meta.chunks {
        let key = chunk_key(digest.hex(), &meta.upload, index);
        // The metadata is written after the chunks, so a replica that has applied it has
        // applied them: a local read suffices.
        let Some(chunk) = storage.get(&key, Freshness::Local).await? else {
            return Err(RegistryError::Unavailable(format!(
                "chunk {key} of a stored blob is missing"
            )));
        };
        bytes.extend_from_slice(&chunk.value);
    }
    if Digest::of(&bytes) != *digest || bytes.len() as u64 != meta.size {
        return Err(RegistryError::Unavailable(format!(
            "stored blob {digest} does not match its digest"
        )));
    }
    Ok(bytes)
}

/// Deletes a blob: its metadata first (so it stops existing at once), then its chunks.
/// `Ok(false)`: it was not stored, or was rewritten since `meta_revision`.
pub async fn delete<S: Storage>(
    storage: &S,
    hex: &str,
    meta: &BlobMeta,
    meta_revision: Option<u64>,
) -> Result<bool, RegistryError> {
    let key = format!("{}{hex}", crate::storage::BLOBS);
    if !storage.delete(&key, meta_revision).await? {
        return Ok(false);
    }
    for index in 0..meta.chunks {
        storage
            .delete(&chunk_key(hex, &meta.upload, index), None)
            .await?;
    }
    Ok(true)
}
