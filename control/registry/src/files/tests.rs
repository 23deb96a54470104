//! The blob file store on a real directory: atomic writes, digest checks, damaged files.

use super::*;

fn store() -> (tempfile::TempDir, BlobFiles) {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = BlobFiles::open(dir.path()).expect("open");
    (dir, files)
}

#[test]
fn a_written_blob_reads_back_and_leaves_no_temporary_file() {
    let (_dir, files) = store();
    let bytes = b"\0asm\x01\0\0\0 some module".to_vec();
    let digest = Digest::of(&bytes);
    files.write(&digest, &bytes).expect("write");
    assert_eq!(files.read(&digest).expect("read"), Some(bytes));
    assert!(files.contains(digest.hex()));
    let leftovers = fs::read_dir(files.tmp_dir()).expect("tmp").count();
    assert_eq!(leftovers, 0, "the temporary file was renamed into place");
    let listed = files.list().expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].hex, digest.hex());
}

#[test]
fn bytes_that_do_not_match_the_digest_are_refused_and_nothing_is_stored() {
    let (_dir, files) = store();
    let digest = Digest::of(b"what was promised");
    let err = files
        .write(&digest, b"something else")
        .expect_err("refused");
    assert!(matches!(err, FileError::Mismatch { .. }), "{err}");
    assert!(!files.contains(digest.hex()));
    assert_eq!(files.read(&digest).expect("read"), None);
}

#[test]
fn a_corrupt_or_truncated_file_is_removed_and_reads_as_missing() {
    let (_dir, files) = store();
    let bytes = vec![7u8; 100_000];
    let digest = Digest::of(&bytes);
    for damage in [&b"flipped"[..], &bytes[..50_000], &[]] {
        files.write(&digest, &bytes).expect("write");
        fs::write(files.path(digest.hex()), damage).expect("damage the file");
        assert_eq!(
            files.read(&digest).expect("read"),
            None,
            "damaged: never served"
        );
        assert!(!files.contains(digest.hex()), "the damaged file is gone");
    }
}

#[test]
fn a_missing_blob_reads_as_none_and_removes_as_false() {
    let (_dir, files) = store();
    let digest = Digest::of(b"never stored");
    assert_eq!(files.read(&digest).expect("read"), None);
    assert!(!files.remove(digest.hex()).expect("remove"));
    files.write(&digest, b"never stored").expect("write");
    assert!(files.remove(digest.hex()).expect("remove"));
    assert_eq!(files.read(&digest).expect("read"), None);
}

#[test]
fn reopening_clears_temporaries_a_crash_left_and_keeps_blobs() {
    let (dir, files) = store();
    let digest = Digest::of(b"kept");
    files.write(&digest, b"kept").expect("write");
    fs::write(files.tmp_dir().join("half-written"), b"par").expect("leftover");
    let reopened = BlobFiles::open(dir.path()).expect("reopen");
    assert_eq!(fs::read_dir(reopened.tmp_dir()).expect("tmp").count(), 0);
    assert_eq!(
        reopened.read(&digest).expect("read"),
        Some(b"kept".to_vec())
    );
}
