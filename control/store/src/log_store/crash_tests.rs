//! Crash recovery through the WAL. A crash is simulated by copying the files: `raft-log.redb`
//! as it was at its last durable commit, and `raft-log.wal` after acknowledged appends that only
//! the WAL made durable. Reopening the copies must bring every acknowledged entry back, and must
//! never bring back entries a truncation removed.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use openraft::storage::{RaftLogReader, RaftLogStorage};
use redb::{ReadableDatabase as _, ReadableTable as _};

use super::LogStore;
use super::tables::LOG;
use super::test_util::{append_flushed, blanks};

/// Long enough that no checkpoint runs during a test: appends reach only the WAL.
const NO_CHECKPOINT: Duration = Duration::from_secs(3600);

fn log_path(dir: &Path) -> PathBuf {
    dir.join("raft-log.redb")
}

/// Copies one of the log's files (`ext`: "redb" or "wal") into `to`.
fn copy_file(from: &Path, to: &Path, ext: &str) {
    let name = format!("raft-log.{ext}");
    fs::copy(from.join(&name), to.join(&name)).expect("copy a log file");
}

/// The entry ids (term, index) in the log at `dir`, read straight from the redb file.
fn ids_in_redb(dir: &Path) -> Vec<u64> {
    let db = redb::Database::open(log_path(dir)).expect("open the copy with redb");
    let txn = db.begin_read().expect("read");
    let table = txn.open_table(LOG).expect("log table");
    table
        .iter()
        .expect("iter")
        .map(|row| row.expect("row").0.value())
        .collect()
}

async fn ids(store: &mut LogStore) -> io::Result<Vec<(u64, u64)>> {
    Ok(store
        .try_get_log_entries(0..)
        .await?
        .iter()
        .map(|e| (e.log_id.leader_id.term, e.log_id.index))
        .collect())
}

#[tokio::test]
async fn acknowledged_appends_come_back_from_the_wal() -> io::Result<()> {
    let (live, crashed) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let mut store =
        LogStore::open_with(&log_path(live.path()), NO_CHECKPOINT).map_err(io::Error::other)?;
    // Opening checkpointed, so the file on disk is redb's last durable state.
    copy_file(live.path(), crashed.path(), "redb");
    append_flushed(&mut store, blanks(1, 0, 4)).await?;
    append_flushed(&mut store, blanks(1, 5, 5)).await?;
    append_flushed(&mut store, blanks(2, 6, 9)).await?;
    copy_file(live.path(), crashed.path(), "wal");
    drop(store);

    assert!(
        ids_in_redb(crashed.path()).is_empty(),
        "the copied redb file already had the entries; the test would not exercise the WAL"
    );
    let mut reopened = LogStore::open(&log_path(crashed.path())).map_err(io::Error::other)?;
    let mut expected: Vec<(u64, u64)> = (0..=5).map(|i| (1, i)).collect();
    expected.extend((6..=9).map(|i| (2, i)));
    assert_eq!(ids(&mut reopened).await?, expected);
    drop(reopened);
    // Replay checkpointed: a second open finds them in redb itself.
    assert_eq!(ids_in_redb(crashed.path()), (0..=9).collect::<Vec<_>>());
    let mut again = LogStore::open(&log_path(crashed.path())).map_err(io::Error::other)?;
    assert_eq!(ids(&mut again).await?, expected);
    Ok(())
}

#[tokio::test]
async fn a_truncation_is_never_undone_by_replay() -> io::Result<()> {
    let (live, crashed) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let mut store =
        LogStore::open_with(&log_path(live.path()), NO_CHECKPOINT).map_err(io::Error::other)?;
    append_flushed(&mut store, blanks(1, 0, 9)).await?;
    store
        .truncate_after(Some(super::test_util::log_id(1, 4)))
        .await?;
    // The truncation committed durably with a new epoch: copy that state, then append
    // entries of a new term that only the WAL holds.
    copy_file(live.path(), crashed.path(), "redb");
    append_flushed(&mut store, blanks(3, 5, 7)).await?;
    copy_file(live.path(), crashed.path(), "wal");
    drop(store);

    assert_eq!(ids_in_redb(crashed.path()), (0..=4).collect::<Vec<_>>());
    let mut reopened = LogStore::open(&log_path(crashed.path())).map_err(io::Error::other)?;
    let mut expected: Vec<(u64, u64)> = (0..=4).map(|i| (1, i)).collect();
    expected.extend((5..=7).map(|i| (3, i)));
    assert_eq!(ids(&mut reopened).await?, expected);
    Ok(())
}

#[tokio::test]
async fn a_missing_wal_is_refused_and_nothing_is_written() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = log_path(dir.path());
    let mut store = LogStore::open(&path).map_err(io::Error::other)?;
    append_flushed(&mut store, blanks(1, 0, 2)).await?;
    drop(store);
    fs::remove_file(path.with_extension("wal"))?;
    let before = fs::read(&path)?;
    let err = LogStore::open(&path).expect_err("a log without its WAL must not open");
    let message = err.to_string();
    assert!(message.contains("raft-log.wal is missing"), "{message}");
    assert!(fs::read(&path)? == before, "the refused log was modified");
    assert!(!path.with_extension("wal").exists());
    Ok(())
}
