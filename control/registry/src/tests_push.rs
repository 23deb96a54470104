//! A push relayed while it arrives (`file_push::put_stream`), over a store whose "peers" are
//! readers of the feed: they see the first piece before the upload ends, a push that breaks off
//! or does not match leaves no file and no metadata, and what a peer reads is the whole blob.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::feed::{Feed, FeedError};
use crate::files::BlobFiles;
use crate::storage::{Freshness, Stored, blob_key};
use crate::{Digest, MemoryStorage, RegistryError, Storage, StorageError, file_push};

/// What a test peer read: the whole blob, or where its transfer broke off; `None` before the
/// transfer ended.
pub(crate) type Received = Arc<Mutex<Option<Result<Vec<u8>, FeedError>>>>;

/// A store with one peer: the peer reads the feed piece by piece, reports each piece's size on
/// `seen` as it reads it, and keeps what it read.
pub(crate) struct OnePeer {
    store: MemoryStorage,
    seen: mpsc::UnboundedSender<usize>,
    /// What the peer read: the whole blob, or where its transfer broke off.
    pub(crate) received: Received,
    /// The digest the finished feed named.
    pub(crate) named: Arc<Mutex<Option<Digest>>>,
    /// Whether the next transfer fails at once (a peer gone meanwhile).
    pub(crate) fail_next: Arc<AtomicBool>,
}

impl Storage for OnePeer {
    async fn get(&self, key: &str, fresh: Freshness) -> Result<Option<Stored>, StorageError> {
        self.store.get(key, fresh).await
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Stored>, StorageError> {
        self.store.list(prefix, start_after, limit).await
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), StorageError> {
        self.store.put(key, value).await
    }

    async fn delete(&self, key: &str, if_revision: Option<u64>) -> Result<bool, StorageError> {
        self.store.delete(key, if_revision).await
    }

    async fn replicate(&self, feed: Feed) -> Result<Vec<String>, StorageError> {
        if self.fail_next.swap(false, Ordering::SeqCst) {
            return Err(StorageError::Unavailable("the peer went away".into()));
        }
        let mut reader = Box::pin(feed.reader());
        let mut whole = Vec::new();
        let outcome = loop {
            match reader.next().await {
                Some(Ok(piece)) => {
                    let _ = self.seen.send(piece.len());
                    whole.extend_from_slice(&piece);
                }
                Some(Err(e)) => break Err(e),
                None => break Ok(whole),
            }
        };
        let failed = outcome.is_err();
        *skiff_sync::lock(&self.named) = feed.digest();
        *skiff_sync::lock(&self.received) = Some(outcome);
        match failed {
            true => Err(StorageError::Unavailable("the transfer broke off".into())),
            false => Ok(vec!["peer".into()]),
        }
    }
}

pub(crate) fn setup() -> (
    tempfile::TempDir,
    Arc<BlobFiles>,
    OnePeer,
    mpsc::UnboundedReceiver<usize>,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = Arc::new(BlobFiles::open(dir.path()).expect("open"));
    let (seen, seen_rx) = mpsc::unbounded_channel();
    let peer = OnePeer {
        store: MemoryStorage::default(),
        seen,
        received: Arc::default(),
        named: Arc::default(),
        fail_next: Arc::default(),
    };
    (dir, files, peer, seen_rx)
}

pub(crate) type Upload = mpsc::UnboundedSender<Result<Bytes, String>>;

/// A client's upload: what it sends on `Upload` arrives on the stream.
pub(crate) fn upload() -> (
    Upload,
    impl futures::Stream<Item = Result<Bytes, String>> + Send + Unpin,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, tokio_stream_of(rx))
}

async fn has_metadata(peer: &OnePeer, digest: &Digest) -> bool {
    let stored = peer.get(&blob_key(digest), Freshness::Latest).await;
    stored.unwrap().is_some()
}

/// An upload that already sent all of `pieces` and ended.
fn sent(
    pieces: &[&'static [u8]],
) -> impl futures::Stream<Item = Result<Bytes, String>> + Send + Unpin {
    let (client, upload) = upload();
    for piece in pieces {
        client.send(Ok(Bytes::from_static(piece))).unwrap();
    }
    upload
}

fn tokio_stream_of<T: Send + 'static>(
    mut rx: mpsc::UnboundedReceiver<T>,
) -> impl futures::Stream<Item = T> + Send + Unpin {
    Box::pin(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

#[tokio::test]
async fn the_peer_reads_the_upload_while_it_arrives_and_ends_with_the_whole_blob() {
    let (_dir, files, peer, mut seen) = setup();
    let blob: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let digest = Digest::of(&blob);
    let (client, pieces) = upload();
    let prefix = Bytes::copy_from_slice(&blob[..1000]);
    let push = file_push::put_stream(&peer, &files, &digest, prefix, pieces, 7);
    let drive = async {
        // The prefix and the first piece reach the peer before the rest is even sent.
        assert_eq!(seen.recv().await, Some(1000));
        client
            .send(Ok(Bytes::copy_from_slice(&blob[1000..100_000])))
            .unwrap();
        assert_eq!(seen.recv().await, Some(99_000));
        client
            .send(Ok(Bytes::copy_from_slice(&blob[100_000..])))
            .unwrap();
        drop(client);
    };
    let (stored, ()) = tokio::join!(push, drive);
    let meta = stored.expect("push");
    assert_eq!(meta.size, blob.len() as u64);
    assert_eq!(meta.holders, vec!["peer".to_owned()]);
    let received = skiff_sync::lock(&peer.received).take();
    assert!(
        received == Some(Ok(blob.clone())),
        "the peer got the whole blob"
    );
    assert_eq!(files.read(&digest).unwrap(), Some(blob));
}

#[tokio::test]
async fn a_push_that_breaks_off_leaves_no_file_no_metadata_and_an_aborted_peer() {
    let (dir, files, peer, _seen) = setup();
    let blob = vec![5u8; 50_000];
    let digest = Digest::of(&blob);
    let (client, pieces) = upload();
    client
        .send(Ok(Bytes::copy_from_slice(&blob[..20_000])))
        .unwrap();
    client.send(Err("connection reset".into())).unwrap();
    let result = file_push::put_stream(&peer, &files, &digest, Bytes::new(), pieces, 7).await;
    assert!(
        matches!(&result, Err(RegistryError::Unavailable(m)) if m.contains("broke off")),
        "{result:?}"
    );
    let received = skiff_sync::lock(&peer.received).take();
    assert_eq!(received, Some(Err(FeedError::BrokenOff)));
    assert!(!files.contains(digest.hex()));
    assert!(!has_metadata(&peer, &digest).await);
    let leftovers = std::fs::read_dir(dir.path().join("tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "no temporary file stays");
}

#[tokio::test]
async fn bytes_that_do_not_match_are_refused_and_stored_nowhere() {
    let (_dir, files, peer, _seen) = setup();
    let digest = Digest::of(b"what the client claims");
    let pieces = sent(&[b"what it ", b"sends"]);
    let result = file_push::put_stream(&peer, &files, &digest, Bytes::new(), pieces, 7).await;
    assert!(
        matches!(result, Err(RegistryError::DigestInvalid(_))),
        "{result:?}"
    );
    assert!(!files.contains(digest.hex()));
    assert!(!has_metadata(&peer, &digest).await);
}

#[tokio::test]
async fn a_stored_blob_pushed_again_is_checked_and_left_as_is() {
    let (_dir, files, peer, _seen) = setup();
    let blob = Bytes::from_static(b"already here");
    let digest = Digest::of(&blob);
    let first = file_push::put(&peer, &files, &digest, blob.clone(), 1)
        .await
        .unwrap();
    let pieces = sent(&[b"already ", b"here"]);
    let again = file_push::put_stream(&peer, &files, &digest, Bytes::new(), pieces, 9).await;
    assert_eq!(again.unwrap(), first, "the first push's metadata stays");
    let pieces = sent(&[b"other bytes!"]);
    let wrong = file_push::put_stream(&peer, &files, &digest, Bytes::new(), pieces, 9).await;
    assert!(
        matches!(wrong, Err(RegistryError::DigestInvalid(_))),
        "{wrong:?}"
    );
}
