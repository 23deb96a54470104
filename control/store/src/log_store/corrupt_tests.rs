//! Tests that a damaged log file is refused with an error naming it and saying what is wrong,
//! and that the refused file is left byte for byte as it was.

use std::fs;
use std::path::Path;

use openraft::storage::{RaftLogReader, RaftLogStorage};

use super::test_util::{append_flushed, blanks, vote};
use super::{LogStore, LogStoreError};

/// Builds a real log with some entries and a vote, closes it, and returns its bytes.
async fn real_log(path: &Path) -> Vec<u8> {
    let mut store = LogStore::open(path).expect("open a new log");
    append_flushed(&mut store, blanks(1, 0, 200))
        .await
        .expect("append");
    store.save_vote(&vote(1, 1)).await.expect("vote");
    drop(store);
    fs::read(path).expect("read the log file")
}

/// Writes `bytes` to `path`, opens it, and checks the error names the file, contains `says`,
/// and the file is unchanged.
fn assert_refused(path: &Path, bytes: &[u8], says: &str) -> LogStoreError {
    fs::write(path, bytes).expect("write the damaged file");
    let err = LogStore::open(path).expect_err("a damaged log must not open");
    let message = err.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "error does not name the file: {message}"
    );
    assert!(
        message.contains(says),
        "error does not say {says:?}: {message}"
    );
    assert_eq!(
        fs::read(path).expect("read back"),
        bytes,
        "the refused file was modified"
    );
    err
}

#[test]
fn garbage_file_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("raft-log.redb");
    let garbage: Vec<u8> = (0..70_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let err = assert_refused(&path, &garbage, "magic number mismatch");
    assert!(matches!(err, LogStoreError::Corrupt { .. }), "{err:?}");
    assert_refused(&path, b"not a database", "corrupt");
}

#[test]
fn empty_file_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("raft-log.redb");
    let err = assert_refused(&path, b"", "is empty");
    assert!(matches!(err, LogStoreError::Empty { .. }), "{err:?}");
}

#[tokio::test]
async fn truncated_log_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("raft-log.redb");
    let bytes = real_log(&path).await;
    for cut in [bytes.len() - 1, bytes.len() / 2, 4096, 600] {
        assert_refused(&path, &bytes[..cut], "truncated");
    }
    for cut in [100, 10, 1] {
        assert_refused(&path, &bytes[..cut], "corrupt");
    }
    // The intact bytes still open, with their contents.
    fs::write(&path, &bytes).expect("restore");
    let mut store = LogStore::open(&path).expect("the intact log opens");
    assert_eq!(
        store.try_get_log_entries(0..).await.expect("read").len(),
        201
    );
    assert_eq!(store.read_vote().await.expect("vote"), Some(vote(1, 1)));
}

#[tokio::test]
async fn second_open_of_an_open_log_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("raft-log.redb");
    let _store = LogStore::open(&path).expect("open");
    let err = LogStore::open(&path).expect_err("already open");
    assert!(matches!(err, LogStoreError::InUse { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
}

#[test]
fn half_created_log_is_replaced_and_missing_dir_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("raft-log.redb");
    // A crash while creating leaves only `<name>.creating`, which is ours to redo.
    fs::write(dir.path().join("raft-log.redb.creating"), b"half").expect("write");
    drop(LogStore::open(&path).expect("a new log replaces a half-created one"));
    assert!(!dir.path().join("raft-log.redb.creating").exists());
    drop(LogStore::open(&path).expect("and reopens"));

    let missing = dir.path().join("no-such-dir").join("raft-log.redb");
    let err = LogStore::open(&missing).expect_err("no directory");
    assert!(matches!(err, LogStoreError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-dir"), "{err}");
}
