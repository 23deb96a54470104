//! A pushed blob stored as files while it arrives: each piece of the upload goes to this
//! replica's temporary file (hashed on the way, [`Incoming`]) and, through a [`feed`], to
//! every peer's copy at once ([`Storage::replicate`]). At the end of the upload this replica
//! checks the digest, fsyncs and moves its file into place; each peer does the same with its
//! copy. Once a majority holds it the metadata goes through the store, and only then does the
//! blob exist. Bytes that do not match the digest are stored nowhere.

use std::fmt::Display;
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use crate::error::RegistryError;
use crate::feed::{self, FeedWriter};
use crate::file_blobs::blocking;
use crate::files::{BlobFiles, Incoming};
use crate::storage::{BlobMeta, Storage, blob_key, encode};

/// How many received bytes gather before one write to the file (off the async workers).
const WRITE_PIECE: usize = 1024 * 1024;

/// Stores `bytes` as the blob `digest` if they hash to it; as [`put_stream`] with the whole
/// blob at once.
pub async fn put<S: Storage>(
    storage: &S,
    files: &Arc<BlobFiles>,
    digest: &Digest,
    bytes: Bytes,
    now: u64,
) -> Result<BlobMeta, RegistryError> {
    let nothing_more = futures::stream::empty::<Result<Bytes, std::convert::Infallible>>();
    put_stream(storage, files, digest, bytes, nothing_more, now).await
}

/// Stores `prefix` followed by `pieces` (an upload's body as it arrives) as the blob `digest`,
/// if they hash to it. Returns once the file is durable on a majority of the replicas and the
/// metadata is committed. A blob already stored is left as is (the bytes are still read and
/// checked). An upload that breaks off, grows past [`crate::MAX_BLOB_BYTES`] or does not match
/// leaves no file, here or on a peer.
pub async fn put_stream<S: Storage, E: Display>(
    storage: &S,
    files: &Arc<BlobFiles>,
    digest: &Digest,
    prefix: Bytes,
    pieces: impl Stream<Item = Result<Bytes, E>> + Send + Unpin,
    now: u64,
) -> Result<BlobMeta, RegistryError> {
    let upload = futures::stream::iter([Ok(prefix)]).chain(pieces);
    if let Some(existing) = crate::blobs::meta(storage, digest).await? {
        check_stream(digest, upload).await?;
        return Ok(existing);
    }
    let (writer, feed) = feed::feed();
    let (written, sent) = tokio::join!(
        write_incoming(files, digest, upload, writer),
        storage.replicate(feed)
    );
    let size = written?;
    let meta = BlobMeta::in_files(size, now, sent?);
    storage.put(&blob_key(digest), encode(&meta)).await?;
    Ok(meta)
}

/// Writes `pieces` to a temporary file about a MiB at a time, hashed on the way, and hands
/// each piece to `feed` as it comes; at the end checks the file against `digest`, fsyncs it
/// and moves it into place. Returns the blob's size. On any failure the feed's readers see
/// the transfer break off and no file stays behind.
pub(crate) async fn write_incoming<E: Display>(
    files: &Arc<BlobFiles>,
    digest: &Digest,
    pieces: impl Stream<Item = Result<Bytes, E>> + Unpin,
    feed: FeedWriter,
) -> Result<u64, RegistryError> {
    let writing = Writing::start(files, Some(feed)).await?;
    let writing = writing.take(pieces, digest).await?;
    writing.finish(files, digest).await
}

/// A blob file being written from one or more requests' bodies ([`Self::take`]), each piece
/// also handed to the peers' feed, until [`Self::finish`] names its digest. Dropped
/// unfinished, it removes its file and breaks off the feed.
#[derive(Debug)]
pub(crate) struct Writing {
    incoming: Incoming,
    /// Received, not yet written (written a MiB at a time, off the async workers).
    gathered: Vec<u8>,
    feed: Option<FeedWriter>,
}

impl Writing {
    /// A new temporary file; pieces go to `feed` too, if given.
    pub(crate) async fn start(
        files: &Arc<BlobFiles>,
        feed: Option<FeedWriter>,
    ) -> Result<Writing, RegistryError> {
        let files = files.clone();
        let incoming = blocking(move || files.incoming()).await?;
        Ok(Writing {
            incoming,
            gathered: Vec::with_capacity(WRITE_PIECE),
            feed,
        })
    }

    /// Bytes received so far.
    pub(crate) fn len(&self) -> u64 {
        self.incoming.len() + self.gathered.len() as u64
    }

    /// Reads `pieces` to their end; `what` names the blob in errors.
    pub(crate) async fn take<E: Display>(
        mut self,
        mut pieces: impl Stream<Item = Result<Bytes, E>> + Unpin,
        what: &(dyn Display + Sync),
    ) -> Result<Writing, RegistryError> {
        while let Some(piece) = pieces.next().await {
            let piece = piece.map_err(|e| broke_off(what, e))?;
            self = self.push(piece).await?;
        }
        Ok(self)
    }

    /// Takes one piece (a body read whole, or one piece of a stream).
    pub(crate) async fn push(mut self, piece: Bytes) -> Result<Writing, RegistryError> {
        check_size(self.len() as usize + piece.len())?;
        if let Some(feed) = &self.feed {
            feed.push(piece.clone());
        }
        self.gathered.extend_from_slice(&piece);
        if self.gathered.len() >= WRITE_PIECE {
            self.flush().await
        } else {
            Ok(self)
        }
    }

    async fn flush(mut self) -> Result<Writing, RegistryError> {
        let gathered = std::mem::take(&mut self.gathered);
        self.incoming = append(self.incoming, gathered).await?;
        Ok(self)
    }

    /// The blob is whole: finishes the feed, naming `digest` (the peers learn it only now),
    /// checks the file against it, fsyncs it and moves it into place. Returns the blob's
    /// size.
    pub(crate) async fn finish(
        self,
        files: &Arc<BlobFiles>,
        digest: &Digest,
    ) -> Result<u64, RegistryError> {
        let mut writing = self.flush().await?;
        if let Some(feed) = writing.feed.take() {
            feed.finish(digest.clone());
        }
        let size = writing.incoming.len();
        let (files, digest) = (files.clone(), digest.clone());
        let incoming = writing.incoming;
        blocking(move || files.finish_incoming(incoming, &digest)).await?;
        Ok(size)
    }
}

/// Reads `pieces` to the end and checks them against `digest` (a push of a blob already
/// stored).
async fn check_stream<E: Display>(
    digest: &Digest,
    mut pieces: impl Stream<Item = Result<Bytes, E>> + Unpin,
) -> Result<(), RegistryError> {
    let (mut hasher, mut size) = (Sha256::new(), 0usize);
    while let Some(piece) = pieces.next().await {
        let piece = piece.map_err(|e| broke_off(digest, e))?;
        size += piece.len();
        check_size(size)?;
        hasher.update(&piece);
    }
    if hex::encode(hasher.finalize()) != digest.hex() {
        return Err(RegistryError::DigestInvalid(format!(
            "the bytes do not match {digest}"
        )));
    }
    Ok(())
}

fn broke_off(what: &(dyn Display + Sync), cause: impl Display) -> RegistryError {
    RegistryError::Unavailable(format!("the transfer of {what} broke off: {cause}"))
}

/// `SIZE_INVALID` past [`crate::MAX_BLOB_BYTES`].
pub(crate) fn check_size(size: usize) -> Result<(), RegistryError> {
    if size > crate::MAX_BLOB_BYTES {
        return Err(RegistryError::SizeInvalid(format!(
            "a blob may hold at most {} bytes",
            crate::MAX_BLOB_BYTES
        )));
    }
    Ok(())
}

/// Appends `bytes` to `incoming` on a blocking thread; hands it back.
async fn append(mut incoming: Incoming, bytes: Vec<u8>) -> Result<Incoming, RegistryError> {
    if bytes.is_empty() {
        return Ok(incoming);
    }
    blocking(move || incoming.append(&bytes).map(|()| incoming)).await
}
