//! Garbage collection, mark and sweep as the CNCF distribution server does it: mark every blob
//! a stored manifest references, then sweep the blobs nobody marked, once they are older than a
//! grace period (a push uploads blobs before the manifest naming them): the metadata through
//! the store, then the leader's file (each other replica removes its own copy when it finds no
//! metadata naming it, `file_blobs::converge`). Chunks no blob names
//! (an upload cut short between its chunks and its metadata) are swept after the same grace.
//! Runs on the Raft leader only, so one replica collects at a time.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error::RegistryError;
use crate::storage::{self, BlobMeta, ManifestRecord, Storage, Stored, decode, list_all};
use crate::{Digest, blobs};

/// What one collection removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Collected {
    pub blobs: Vec<String>,
    pub orphan_chunks: usize,
}

/// A stored blob as the sweep sees it.
#[derive(Debug, Clone)]
pub struct BlobEntry {
    pub hex: String,
    pub meta: BlobMeta,
    pub revision: u64,
}

/// The sweep's decision: the blobs no manifest references that are past the grace period.
/// Pure: `now` and `grace` in seconds.
pub fn unreferenced<'a>(
    stored: &'a [BlobEntry],
    referenced: &HashSet<String>,
    now: u64,
    grace: u64,
) -> Vec<&'a BlobEntry> {
    stored
        .iter()
        .filter(|b| !referenced.contains(&b.hex))
        .filter(|b| b.meta.created.saturating_add(grace) <= now)
        .collect()
}

/// Whether an upload id (`<unix secs>-<random>`) is older than the grace period. An id that
/// does not parse is old: nothing here writes one.
pub fn upload_expired(upload: &str, now: u64, grace: u64) -> bool {
    let started = upload.split('-').next().and_then(|s| s.parse::<u64>().ok());
    started.is_none_or(|s| s.saturating_add(grace) <= now)
}

/// The mark phase: the hex digests every stored manifest references.
pub async fn mark<S: Storage>(storage: &S) -> Result<HashSet<String>, RegistryError> {
    let mut referenced = HashSet::new();
    for stored in list_all(storage, storage::REPOS).await? {
        if !stored.key.contains("/_manifests/") {
            continue;
        }
        let record: ManifestRecord = decode(&stored)?;
        for blob in &record.blobs {
            referenced.insert(Digest::parse(blob)?.hex().to_owned());
        }
    }
    Ok(referenced)
}

/// One collection: mark, then sweep blobs and orphaned chunks.
pub async fn collect<S: Storage>(
    storage: &S,
    files: Option<&crate::files::BlobFiles>,
    now: u64,
    grace: u64,
) -> Result<Collected, RegistryError> {
    let referenced = mark(storage).await?;
    let entries: Vec<BlobEntry> = list_all(storage, storage::BLOBS)
        .await?
        .iter()
        .map(blob_entry)
        .collect::<Result<_, _>>()?;
    let mut collected = Collected::default();
    for entry in unreferenced(&entries, &referenced, now, grace) {
        // The revision check leaves a blob pushed again since it was listed.
        if blobs::delete(
            storage,
            files,
            &entry.hex,
            &entry.meta,
            Some(entry.revision),
        )
        .await?
        {
            collected.blobs.push(entry.hex.clone());
        }
    }
    let live: BTreeSet<(String, String)> = list_all(storage, storage::BLOBS)
        .await?
        .iter()
        .map(blob_entry)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(|b| (b.hex, b.meta.upload))
        .collect();
    collected.orphan_chunks = sweep_chunks(storage, &live, now, grace).await?;
    Ok(collected)
}

fn blob_entry(stored: &Stored) -> Result<BlobEntry, RegistryError> {
    let hex = stored.key.trim_start_matches(storage::BLOBS).to_owned();
    Ok(BlobEntry {
        hex,
        meta: decode(stored)?,
        revision: stored.revision,
    })
}

/// Deletes chunks of uploads no blob names, once past the grace period.
async fn sweep_chunks<S: Storage>(
    storage: &S,
    live: &BTreeSet<(String, String)>,
    now: u64,
    grace: u64,
) -> Result<usize, RegistryError> {
    // Chunks are up to a MiB each: list a few at a time.
    const PAGE: usize = 4;
    let mut after: Option<String> = None;
    let mut deleted = 0;
    loop {
        let page = storage
            .list(storage::CHUNKS, after.as_deref(), PAGE)
            .await?;
        for chunk in &page {
            let rest = chunk.key.trim_start_matches(storage::CHUNKS);
            let mut parts = rest.splitn(3, '/');
            let (hex, upload) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let named = live.contains(&(hex.to_owned(), upload.to_owned()));
            if !named
                && upload_expired(upload, now, grace)
                && storage.delete(&chunk.key, Some(chunk.revision)).await?
            {
                deleted += 1;
            }
        }
        if page.len() < PAGE {
            return Ok(deleted);
        }
        after = page.last().map(|s| s.key.clone());
    }
}

/// Collects every `interval` while `is_leader` says this replica leads, until `shutdown`.
pub async fn run<S: Storage>(
    storage: &S,
    files: Option<&crate::files::BlobFiles>,
    is_leader: impl Fn() -> bool,
    interval: Duration,
    grace: Duration,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        if !is_leader() {
            continue;
        }
        let now = unix_now();
        match collect(storage, files, now, grace.as_secs()).await {
            Ok(c) if c.blobs.is_empty() && c.orphan_chunks == 0 => {}
            Ok(c) => {
                tracing::info!(blobs = ?c.blobs, orphan_chunks = c.orphan_chunks, "registry garbage collected")
            }
            Err(e) => {
                tracing::warn!(error = %e, "registry garbage collection failed; retrying later")
            }
        }
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
