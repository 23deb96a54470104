//! Blobs in files, over an in-memory store and a real directory: push and pull, ranges, blobs
//! stored as chunks before files, a damaged file, deletes, collection and the converge sweep;
//! verified files streamed, damage after a verified pull, the scrub.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{Method, StatusCode};

use crate::blobs::ByteRange;
use crate::file_stream::{self, PIECE_BYTES};
use crate::files::BlobFiles;
use crate::storage::{BLOBS, BlobMeta, CHUNKS, Freshness, blob_key, decode, list_all};
use crate::tests::{call, code, push_blob};
use crate::{Digest, MemoryStorage, Registry, RegistryError, Storage, file_blobs, file_push, gc};

fn module(len: u32) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

fn with_files(reg: crate::tests::Reg) -> (tempfile::TempDir, crate::tests::Reg) {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = Arc::new(BlobFiles::open(dir.path()).expect("open"));
    (dir, reg.with_files(files))
}

async fn stored_meta(reg: &crate::tests::Reg, digest: &str) -> BlobMeta {
    let key = blob_key(&Digest::parse(digest).unwrap());
    let stored = reg.storage().get(&key, Freshness::Latest).await.unwrap();
    decode(&stored.unwrap()).unwrap()
}

#[tokio::test]
async fn a_pushed_blob_is_a_file_with_only_metadata_in_the_store() {
    let (_dir, reg) = with_files(Registry::new(MemoryStorage::default()));
    let blob = module(3 << 20);
    let digest = push_blob(&reg, "app", &blob).await;
    let meta = stored_meta(&reg, &digest).await;
    assert!(meta.files && meta.chunks == 0 && meta.size == blob.len() as u64);
    assert!(list_all(reg.storage(), CHUNKS).await.unwrap().is_empty());
    let files = reg.files().unwrap();
    assert!(files.contains(Digest::parse(&digest).unwrap().hex()));

    let uri = format!("/v2/app/blobs/{digest}");
    let (status, headers, body) = call(&reg, Method::GET, &uri, &[], vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["docker-content-digest"], digest.as_str());
    assert!(body[..] == blob[..]);
    let range = [("range", "bytes=1048570-1048579")];
    let (status, headers, body) = call(&reg, Method::GET, &uri, &range, vec![]).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        headers["content-range"],
        format!("bytes 1048570-1048579/{}", blob.len())
    );
    assert!(body[..] == blob[1_048_570..1_048_580]);
}

#[tokio::test]
async fn blobs_stored_as_chunks_before_files_stay_readable() {
    let reg = Registry::new(MemoryStorage::default());
    let blob = module(1_500_000);
    let digest = push_blob(&reg, "app", &blob).await;
    let (_dir, reg) = with_files(reg);
    assert!(!stored_meta(&reg, &digest).await.files);
    let uri = format!("/v2/app/blobs/{digest}");
    let (status, _, body) = call(&reg, Method::GET, &uri, &[], vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body[..] == blob[..]);
    let (status, ..) = call(&reg, Method::DELETE, &uri, &[], vec![]).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(list_all(reg.storage(), CHUNKS).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_damaged_file_with_no_peer_to_refetch_from_is_never_served() {
    let (_dir, reg) = with_files(Registry::new(MemoryStorage::default()));
    let blob = module(10_000);
    let digest = push_blob(&reg, "app", &blob).await;
    let path = reg
        .files()
        .unwrap()
        .path(Digest::parse(&digest).unwrap().hex());
    std::fs::write(&path, &blob[..9_000]).unwrap();
    let uri = format!("/v2/app/blobs/{digest}");
    let (status, _, body) = call(&reg, Method::GET, &uri, &[], vec![]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(code(&body), "UNAVAILABLE");
    assert!(!path.exists(), "the damaged file was removed");
}

#[tokio::test]
async fn deletes_and_collection_remove_the_metadata_then_the_file() {
    let (_dir, reg) = with_files(Registry::new(MemoryStorage::default()));
    let unreferenced = push_blob(&reg, "app", &module(100)).await;
    let deleted = push_blob(&reg, "app", &module(200)).await;
    let files = reg.files().unwrap().clone();
    let hex = |d: &str| Digest::parse(d).unwrap().hex().to_owned();
    let uri = format!("/v2/app/blobs/{deleted}");
    let (status, ..) = call(&reg, Method::DELETE, &uri, &[], vec![]).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(!files.contains(&hex(&deleted)));
    let collected = gc::collect(reg.storage(), Some(&files), 1_000 + 100, 100)
        .await
        .unwrap();
    assert_eq!(collected.blobs, vec![hex(&unreferenced)]);
    assert!(!files.contains(&hex(&unreferenced)));
    assert!(list_all(reg.storage(), BLOBS).await.unwrap().is_empty());
}

#[tokio::test]
async fn converge_sweeps_only_old_files_that_no_metadata_names() {
    let storage = MemoryStorage::default();
    let dir = tempfile::tempdir().unwrap();
    let files = Arc::new(BlobFiles::open(dir.path()).unwrap());
    let named = Digest::of(b"named");
    file_push::put(&storage, &files, &named, "named".into(), 1_000)
        .await
        .unwrap();
    let orphan = Digest::of(b"orphan");
    files.write(&orphan, b"orphan").unwrap();
    let grace = Duration::from_secs(3_600);
    let fresh = file_blobs::converge(&storage, &files, SystemTime::now(), grace).await;
    assert_eq!(fresh.unwrap(), file_blobs::Converged::default());
    assert!(
        files.contains(orphan.hex()),
        "a push writes its file before its metadata"
    );
    let later = SystemTime::now() + grace;
    let swept = file_blobs::converge(&storage, &files, later, grace).await;
    assert_eq!(swept.unwrap().swept, 1);
    assert!(!files.contains(orphan.hex()));
    assert!(files.contains(named.hex()));
}

/// The body of a pull, or where it stopped: `Err` once the stream fails.
async fn stream_all(pieces: crate::file_stream::Pieces) -> Result<Vec<u8>, RegistryError> {
    let mut pieces = pieces;
    let mut all = Vec::new();
    while let Some(piece) = futures::StreamExt::next(&mut pieces).await {
        all.extend_from_slice(&piece?);
    }
    Ok(all)
}

#[tokio::test]
async fn a_verified_file_streams_whole_or_a_range_across_pieces() {
    let (_dir, reg) = with_files(Registry::new(MemoryStorage::default()));
    let blob = module(5 * PIECE_BYTES as u32 / 2);
    let digest = Digest::parse(&push_blob(&reg, "app", &blob).await).unwrap();
    let files = reg.files().unwrap();
    let size = blob.len() as u64;
    let whole = file_stream::open(files, &digest, size, None).await.unwrap();
    assert!(stream_all(whole.expect("verified")).await.unwrap() == blob);
    let range = ByteRange {
        first: PIECE_BYTES - 3,
        last: 2 * PIECE_BYTES + 4,
    };
    let part = file_stream::open(files, &digest, size, Some(range))
        .await
        .unwrap();
    let part = stream_all(part.expect("verified")).await.unwrap();
    assert!(part[..] == blob[range.first as usize..=range.last as usize]);
    let other_size = file_stream::open(files, &digest, size + 1, None)
        .await
        .unwrap();
    assert!(
        other_size.is_none(),
        "a size other than the metadata's is checked first"
    );
}

#[tokio::test]
async fn a_file_cut_short_while_it_streams_ends_the_stream_with_an_error() {
    let (_dir, reg) = with_files(Registry::new(MemoryStorage::default()));
    // More pieces than the reader can hold ahead of an unread stream (the channel's pieces
    // plus the one it waits to send), so some are still to be read when the file is cut.
    let blob = module(8 * PIECE_BYTES as u32);
    let digest = Digest::parse(&push_blob(&reg, "app", &blob).await).unwrap();
    let files = reg.files().unwrap();
    let pieces = file_stream::open(files, &digest, blob.len() as u64, None).await;
    let pieces = pieces.unwrap().expect("verified");
    let file = std::fs::File::options()
        .write(true)
        .open(files.path(digest.hex()));
    file.unwrap().set_len(PIECE_BYTES + 10).unwrap();
    let e = stream_all(pieces).await.expect_err("cut short");
    assert_eq!(e.code(), "UNAVAILABLE");
}

/// A pull after a verified pull: a file changed since (same size, other bytes) is checked
/// again before its first byte goes out and, with no peer to refetch from, never served.
#[tokio::test]
async fn damage_after_a_verified_pull_is_caught_by_the_next_pull() {
    let (_dir, reg) = with_files(Registry::new(MemoryStorage::default()));
    let blob = module(2 * PIECE_BYTES as u32 + 7);
    let digest = push_blob(&reg, "app", &blob).await;
    let uri = format!("/v2/app/blobs/{digest}");
    let (status, headers, body) = call(&reg, Method::GET, &uri, &[], vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-length"], blob.len().to_string().as_str());
    assert!(body[..] == blob[..]);
    let path = reg
        .files()
        .unwrap()
        .path(Digest::parse(&digest).unwrap().hex());
    // Past one tick of the kernel's coarse clock (file times), so the write shows.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut damaged = blob.clone();
    damaged[PIECE_BYTES as usize] ^= 0xff;
    std::fs::write(&path, &damaged).unwrap();
    let (status, _, body) = call(&reg, Method::GET, &uri, &[], vec![]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(code(&body), "UNAVAILABLE");
    assert!(!path.exists(), "the damaged file was removed");
}

#[tokio::test]
async fn converge_scrubs_and_removes_damage_the_metadata_does_not_show() {
    let storage = MemoryStorage::default();
    let dir = tempfile::tempdir().unwrap();
    let files = Arc::new(BlobFiles::open(dir.path()).unwrap());
    let digest = Digest::of(b"kept whole");
    file_push::put(&storage, &files, &digest, "kept whole".into(), 1_000)
        .await
        .unwrap();
    let grace = Duration::from_secs(3_600);
    let now = SystemTime::now();
    let fresh = file_blobs::converge(&storage, &files, now, grace)
        .await
        .unwrap();
    assert_eq!(
        fresh,
        file_blobs::Converged::default(),
        "written just now: not due"
    );
    // A restart forgets every check: the next pass hashes the file, finds bit rot, removes it.
    let path = files.path(digest.hex());
    std::fs::write(&path, b"kept whble").unwrap();
    let restarted = Arc::new(BlobFiles::open(dir.path()).unwrap());
    let pass = file_blobs::converge(&storage, &restarted, now, grace)
        .await
        .unwrap();
    assert_eq!((pass.checked, pass.damaged, pass.filled), (0, 1, 0));
    assert!(!path.exists());
}
