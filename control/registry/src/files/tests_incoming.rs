//! Blob files written while their bytes arrive ([`Incoming`]), and [`file_blobs::receive`]
//! over a stream: stored only when the whole matches the digest; nothing left behind
//! otherwise.

use std::sync::Arc;

use bytes::Bytes;

use super::*;
use crate::error::RegistryError;
use crate::file_blobs;

fn store() -> (tempfile::TempDir, BlobFiles) {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = BlobFiles::open(dir.path()).expect("open");
    (dir, files)
}

fn leftovers(files: &BlobFiles) -> usize {
    fs::read_dir(files.tmp_dir()).expect("tmp").count()
}

#[test]
fn pieces_appended_then_finished_read_back_as_the_blob_without_a_second_hash() {
    let (_dir, files) = store();
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let digest = Digest::of(&bytes);
    let mut incoming = files.incoming().expect("incoming");
    for piece in bytes.chunks(65_536) {
        incoming.append(piece).expect("append");
    }
    assert_eq!(incoming.len(), bytes.len() as u64);
    files.finish_incoming(incoming, &digest).expect("finish");
    assert_eq!(leftovers(&files), 0);
    let (mut file, size) = files
        .open_verified(&digest)
        .expect("open")
        .expect("recorded as verified");
    assert_eq!(size, bytes.len() as u64);
    let mut read = Vec::new();
    file.read_to_end(&mut read).expect("read");
    assert_eq!(read, bytes);
}

#[test]
fn a_mismatch_or_an_unfinished_file_leaves_nothing() {
    let (_dir, files) = store();
    let digest = Digest::of(b"what was promised");
    let mut incoming = files.incoming().expect("incoming");
    incoming.append(b"something else").expect("append");
    let err = files
        .finish_incoming(incoming, &digest)
        .expect_err("refused");
    assert!(matches!(err, FileError::Mismatch { .. }), "{err}");
    assert!(!files.contains(digest.hex()));

    let mut dropped = files.incoming().expect("incoming");
    dropped.append(b"what was").expect("append");
    assert_eq!(leftovers(&files), 1);
    drop(dropped);
    assert_eq!(leftovers(&files), 0, "a dropped transfer removes its file");
}

#[tokio::test]
async fn a_received_stream_is_stored_only_whole_and_matching() {
    let (_dir, files) = store();
    let files = Arc::new(files);
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let digest = Digest::of(&bytes);
    let pieces: Vec<Result<Bytes, String>> = bytes
        .chunks(16_384)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();

    // Cut short: an error part way stores nothing.
    let mut broken = pieces[..40].to_vec();
    broken.push(Err("connection reset".to_owned()));
    let err = file_blobs::receive(&files, futures::stream::iter(broken), named(&digest))
        .await
        .expect_err("broken off");
    assert!(matches!(err, RegistryError::Unavailable(_)), "{err}");
    // Short of the end: the digest does not match.
    let short = pieces[..pieces.len() - 1].to_vec();
    let err = file_blobs::receive(&files, futures::stream::iter(short), named(&digest))
        .await
        .expect_err("mismatch");
    assert!(matches!(err, RegistryError::DigestInvalid(_)), "{err}");
    // Whole, but the transfer never named its digest.
    let unnamed = futures::stream::iter(pieces.clone());
    let err = file_blobs::receive(&files, unnamed, || None)
        .await
        .expect_err("unnamed");
    assert!(matches!(err, RegistryError::DigestInvalid(_)), "{err}");
    assert!(!files.contains(digest.hex()));
    assert_eq!(leftovers(&files), 0);

    file_blobs::receive(&files, futures::stream::iter(pieces), named(&digest))
        .await
        .expect("stored");
    assert_eq!(files.read(&digest).expect("read"), Some(bytes));
    assert_eq!(leftovers(&files), 0);
}

/// The trailer's digest, as the peer endpoint reads it.
fn named(digest: &Digest) -> impl FnOnce() -> Option<String> {
    let hex = digest.hex().to_owned();
    move || Some(hex)
}
