//! Chunked uploads relayed to the peers while they arrive. The first `PATCH` of a session on a
//! registry with blob files starts a [`Relay`]: a temporary file here and one send to every
//! peer ([`Storage::replicate`] without a digest), both fed each piece of each chunk as it
//! comes. The closing `PUT` adds its own body, names the digest (the peers learn it at the end
//! of their transfer), and the blob exists once this replica's file matches, a majority holds
//! it and its metadata is committed, as for a push in one request ([`crate::file_push`]).
//! A chunk that breaks off ends the session: its file and the peers' copies are removed. If the
//! transfers do not reach a majority (a peer restarted meanwhile), the `PUT` sends the finished
//! file whole instead, as a push in one request does.

use std::sync::Arc;

use bytes::Bytes;

use crate::digest::Digest;
use crate::error::RegistryError;
use crate::feed;
use crate::file_push::Writing;
use crate::files::BlobFiles;
use crate::storage::{BlobMeta, Storage, StorageError, blob_key, encode};
use crate::uploads::{self, Content, PeerSends, Relay};
use crate::{BodyStream, Registry, blobs, file_blobs};

/// A request's chunk: what was read whole, then what is still arriving.
pub(crate) type Chunk = (Bytes, Option<BodyStream>);

impl<S: Storage> Registry<S> {
    /// Writes one chunk to a checked-out session's relay (starting it on the first chunk) and
    /// hands back the content to check in. Any failure ends the session `id`.
    pub(crate) async fn relay_chunk(
        &self,
        files: &Arc<BlobFiles>,
        id: &str,
        content: Content,
        chunk: Chunk,
    ) -> Result<Content, RegistryError> {
        let written = async {
            let Relay { writing, sends } = match content {
                Content::Relay(relay) => relay,
                Content::Bytes(held) => self.start_relay(files, held).await?,
                Content::Busy => return Err(RegistryError::BlobUploadUnknown(id.to_owned())),
            };
            let writing = receive(writing, chunk, &format!("upload {id}")).await?;
            Ok(Content::Relay(Relay { writing, sends }))
        };
        let result = written.await;
        if result.is_err() {
            self.uploads.abandon(id);
        }
        result
    }

    /// A new relay, holding `held` (what the session had in memory) to begin with.
    async fn start_relay(
        &self,
        files: &Arc<BlobFiles>,
        held: Vec<u8>,
    ) -> Result<Relay, RegistryError> {
        let (writer, feed) = feed::feed();
        let writing = Writing::start(files, Some(writer)).await?;
        let storage = self.storage.clone();
        let sends = PeerSends(tokio::spawn(async move {
            // A client that never ends its upload does not hold the peers' transfers open.
            let quiet = feed.quiet_for(uploads::IDLE);
            tokio::select! {
                sent = storage.replicate(feed) => sent,
                () = quiet => Err(StorageError::Unavailable(format!(
                    "the upload sat idle for {:?}", uploads::IDLE
                ))),
            }
        }));
        let writing = writing.push(held.into()).await?;
        Ok(Relay { writing, sends })
    }

    /// The closing request of a relayed upload: takes its `chunk`, checks the whole against
    /// `digest` here and on the peers, waits for a majority to hold it and commits its
    /// metadata (unless the blob was already stored).
    pub(crate) async fn finish_relay(
        &self,
        files: &Arc<BlobFiles>,
        digest: &Digest,
        relay: Relay,
        chunk: Chunk,
        now: u64,
    ) -> Result<(), RegistryError> {
        let Relay { writing, sends } = relay;
        let writing = receive(writing, chunk, digest).await?;
        let size = writing.finish(files, digest).await?;
        let holders = match sends.holders().await {
            Ok(holders) => holders,
            Err(e) => {
                tracing::warn!(%digest, error = %e, "relaying an upload failed; sending it whole");
                self.replicate_whole(files, digest).await?
            }
        };
        let storage = self.storage.as_ref();
        if blobs::meta(storage, digest).await?.is_none() {
            let meta = BlobMeta::in_files(size, now, holders);
            storage.put(&blob_key(digest), encode(&meta)).await?;
        }
        Ok(())
    }
}

impl<S: Storage> Registry<S> {
    /// Sends this replica's file of `digest` to the peers in one piece: what a relay falls
    /// back to when its transfers did not reach a majority (a peer that restarted while the
    /// chunks arrived).
    async fn replicate_whole(
        &self,
        files: &Arc<BlobFiles>,
        digest: &Digest,
    ) -> Result<Vec<String>, RegistryError> {
        let Some(bytes) = file_blobs::read_local(files, digest).await? else {
            return Err(RegistryError::Unavailable(format!(
                "blob {digest} was stored here and is gone"
            )));
        };
        Ok(self
            .storage
            .replicate(feed::whole(bytes, digest.clone()))
            .await?)
    }
}

/// Writes `chunk` (its whole part, then its stream) to `writing`.
async fn receive(
    writing: Writing,
    (whole, rest): Chunk,
    what: &(dyn std::fmt::Display + Sync),
) -> Result<Writing, RegistryError> {
    let writing = writing.push(whole).await?;
    match rest {
        Some(rest) => writing.take(rest, what).await,
        None => Ok(writing),
    }
}
