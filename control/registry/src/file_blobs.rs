//! Blobs whose bytes are files ([`BlobFiles`]) and whose metadata alone goes through the store.
//!
//! A push ([`crate::file_push`]) writes the file here and on the peers while it arrives and
//! commits the metadata once a majority holds it: a blob that exists is on a quorum. A peer
//! stores what a push sends it with [`receive`]. A read takes the local file if it matches the
//! digest, else fetches the bytes from a replica that has them ([`Storage::fetch`]), checks
//! them and keeps them. [`converge`] scrubs
//! the files not checked for a while ([`BlobFiles::scrub`]), fills in the files a replica lacks
//! (a damaged one the scrub removed included) and removes the files no metadata names any
//! more, so every replica ends with every blob, intact, and none that was deleted.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use crate::digest::Digest;
use crate::error::RegistryError;
use crate::files::{BlobFiles, FileError};
use crate::storage::{self, BlobMeta, Storage, decode, list_all};

/// Runs a blocking file operation off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, FileError> + Send + 'static,
) -> Result<T, RegistryError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(FileError::Mismatch { digest })) => Err(RegistryError::DigestInvalid(format!(
            "the bytes do not match {digest}"
        ))),
        Ok(Err(e)) => Err(RegistryError::Unavailable(e.to_string())),
        Err(e) => Err(RegistryError::Unavailable(format!(
            "a blob file task failed: {e}"
        ))),
    }
}

/// Writes bytes already checked against `digest` to this replica's file.
async fn write_local(
    files: &Arc<BlobFiles>,
    digest: &Digest,
    bytes: Bytes,
) -> Result<(), RegistryError> {
    let (files, digest) = (files.clone(), digest.clone());
    blocking(move || files.write_verified(&digest, &bytes)).await
}

/// This replica's copy of a blob, checked against its digest; `None` if it has none (a
/// damaged copy is removed and counts as none).
pub async fn read_local(
    files: &Arc<BlobFiles>,
    digest: &Digest,
) -> Result<Option<Bytes>, RegistryError> {
    let (files, digest) = (files.clone(), digest.clone());
    Ok(blocking(move || files.read(&digest))
        .await?
        .map(Bytes::from))
}

/// A blob's bytes from another replica, checked and kept here; `None` if none had them.
async fn fetch_and_keep<S: Storage>(
    storage: &S,
    files: &Arc<BlobFiles>,
    digest: &Digest,
    holders: &[String],
) -> Result<Option<Bytes>, RegistryError> {
    let Some(bytes) = storage.fetch(digest, holders).await? else {
        return Ok(None);
    };
    if digest.verify(&bytes).is_err() {
        return Err(RegistryError::Unavailable(format!(
            "a replica sent bytes for {digest} that do not match it"
        )));
    }
    write_local(files, digest, bytes.clone()).await?;
    Ok(Some(bytes))
}

/// The whole blob, checked against its digest: this replica's file, or else a peer's copy
/// (then kept here).
pub async fn load<S: Storage>(
    storage: &S,
    files: &Arc<BlobFiles>,
    digest: &Digest,
    meta: &BlobMeta,
) -> Result<Bytes, RegistryError> {
    if let Some(bytes) = read_local(files, digest).await? {
        return Ok(bytes);
    }
    match fetch_and_keep(storage, files, digest, &meta.holders).await? {
        Some(bytes) => Ok(bytes),
        None => Err(RegistryError::Unavailable(format!(
            "blob {digest} is on no replica that answers"
        ))),
    }
}

/// Stores a blob a peer sends while it arrives: `pieces` (the request body) are written to a
/// temporary file about a MiB at a time and hashed on the way; at the end `named` gives the
/// digest's hex (the transfer's trailer: an upload in several requests names its digest only
/// in its last), and the file is checked against it, fsynced and moved into place. A body that
/// fails part way, grows past [`crate::MAX_BLOB_BYTES`], ends without naming its digest or
/// does not match it leaves no file behind.
pub async fn receive<E: std::fmt::Display>(
    files: &Arc<BlobFiles>,
    pieces: impl futures::Stream<Item = Result<Bytes, E>> + Unpin,
    named: impl FnOnce() -> Option<String>,
) -> Result<(), RegistryError> {
    let writing = crate::file_push::Writing::start(files, None).await?;
    let writing = writing.take(pieces, &"a blob from a peer").await?;
    let Some(hex) = named() else {
        return Err(RegistryError::DigestInvalid(
            "the transfer ended without naming its digest".into(),
        ));
    };
    let digest = Digest::parse(&format!("sha256:{hex}"))?;
    writing.finish(files, &digest).await?;
    Ok(())
}

/// How long a file's last check against its digest stands before the scrub hashes it again.
pub const SCRUB_AGE: Duration = Duration::from_secs(60 * 60);

/// About how many bytes one [`converge`] pass hashes (64 MiB: some 50 ms of one core with
/// SHA-NI; every 10 s that re-checks up to 22 GiB an hour).
pub const SCRUB_BYTES_PER_PASS: u64 = 64 << 20;

/// What one [`converge`] pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Converged {
    /// Files the scrub hashed and found intact.
    pub checked: usize,
    /// Files the scrub found damaged and removed (then fetched again, counted in `filled`).
    pub damaged: usize,
    /// Blobs fetched from peers.
    pub filled: usize,
    /// Files no metadata names, removed.
    pub swept: usize,
}

/// One pass: scrub (hash files whose last check is [`SCRUB_AGE`] old or that this process never
/// checked, up to [`SCRUB_BYTES_PER_PASS`]; remove the damaged); fetch every blob in files
/// whose metadata this replica can read and whose file it lacks; remove files that no metadata
/// names and that are older than `grace` (a push writes its file before its metadata commits).
pub async fn converge<S: Storage>(
    storage: &S,
    files: &Arc<BlobFiles>,
    now: SystemTime,
    grace: Duration,
) -> Result<Converged, RegistryError> {
    let scrubbed = {
        let files = files.clone();
        blocking(move || files.scrub(SCRUB_AGE, SCRUB_BYTES_PER_PASS)).await?
    };
    let metas = list_all(storage, storage::BLOBS).await?;
    let local = {
        let files = files.clone();
        blocking(move || files.list()).await?
    };
    let here: HashSet<&str> = local.iter().map(|f| f.hex.as_str()).collect();
    let mut named = HashSet::new();
    let mut done = Converged {
        checked: scrubbed.checked,
        damaged: scrubbed.removed,
        ..Converged::default()
    };
    for stored in &metas {
        let hex = stored.key.trim_start_matches(storage::BLOBS);
        named.insert(hex.to_owned());
        let meta: BlobMeta = decode(stored)?;
        if !meta.files || here.contains(hex) {
            continue;
        }
        let digest = Digest::parse(&format!("sha256:{hex}"))?;
        match fetch_and_keep(storage, files, &digest, &meta.holders).await {
            Ok(Some(_)) => done.filled += 1,
            Ok(None) => tracing::warn!(%digest, "no replica could give a blob this one lacks"),
            Err(e) => tracing::warn!(%digest, error = %e, "fetching a blob this one lacks failed"),
        }
    }
    for file in &local {
        let old = file.modified + grace <= now;
        if old && !named.contains(&file.hex) {
            let (files, hex) = (files.clone(), file.hex.clone());
            if blocking(move || files.remove(&hex)).await? {
                done.swept += 1;
            }
        }
    }
    Ok(done)
}

/// Runs [`converge`] at once and then every `interval`, until `shutdown`.
pub async fn run_converge<S: Storage>(
    storage: &S,
    files: Arc<BlobFiles>,
    interval: Duration,
    grace: Duration,
    shutdown: CancellationToken,
) {
    loop {
        match converge(storage, &files, SystemTime::now(), grace).await {
            Ok(c) if c == Converged::default() => {}
            Ok(c) => tracing::info!(
                checked = c.checked,
                damaged = c.damaged,
                filled = c.filled,
                swept = c.swept,
                "registry blob files converged"
            ),
            Err(e) => {
                tracing::debug!(error = %e, "registry blob files: pass failed; retrying later")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}
