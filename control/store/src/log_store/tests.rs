//! Unit tests of the log store: append/read/truncate/purge/vote/committed, reopening, bad records,
//! and how appends are grouped into fsyncs.

use std::io;

use openraft::storage::{IOFlushed, RaftLogReader, RaftLogStorage};
use redb::ReadableDatabase as _;

use super::LogStore;
use super::tables::LOG;
use super::test_util::{append_flushed, blank, blanks, log_id, vote};

fn indexes(entries: &[super::Entry]) -> Vec<u64> {
    entries.iter().map(|e| e.log_id.index).collect()
}

#[tokio::test]
async fn append_read_vote_committed_survive_reopen() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("raft-log.redb");
    let mut store = LogStore::open(&path).map_err(io::Error::other)?;
    assert_eq!(store.get_log_state().await?.last_log_id, None);
    assert_eq!(store.read_vote().await?, None);
    assert_eq!(store.read_committed().await?, None);

    append_flushed(&mut store, blanks(1, 0, 4)).await?;
    append_flushed(&mut store, blanks(2, 5, 9)).await?;
    store.save_vote(&vote(2, 1)).await?;
    store.save_committed(Some(log_id(2, 7))).await?;

    let mut reader = store.get_log_reader().await;
    assert_eq!(
        indexes(&reader.try_get_log_entries(3..7).await?),
        vec![3, 4, 5, 6]
    );
    assert_eq!(indexes(&reader.try_get_log_entries(8..).await?), vec![8, 9]);
    assert_eq!(indexes(&reader.try_get_log_entries(9..=20).await?), vec![9]);
    assert!(reader.try_get_log_entries(4..4).await?.is_empty());
    assert_eq!(reader.limited_get_log_entries(0, 10).await?.len(), 10);
    drop(reader);
    drop(store);

    let mut store = LogStore::open(&path).map_err(io::Error::other)?;
    assert_eq!(
        indexes(&store.try_get_log_entries(0..).await?),
        (0..10).collect::<Vec<_>>()
    );
    assert_eq!(store.read_vote().await?, Some(vote(2, 1)));
    assert_eq!(store.read_committed().await?, Some(log_id(2, 7)));
    let state = store.get_log_state().await?;
    assert_eq!(
        (state.last_purged_log_id, state.last_log_id),
        (None, Some(log_id(2, 9)))
    );
    Ok(())
}

#[tokio::test]
async fn committed_is_readable_at_once_and_rides_on_the_next_appends() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("raft-log.redb");
    let mut store = LogStore::open(&path).map_err(io::Error::other)?;
    append_flushed(&mut store, blanks(1, 0, 4)).await?;
    // `save_committed` queues its write and returns; the value is readable at once all the same.
    for i in 0..=4 {
        store.save_committed(Some(log_id(1, i))).await?;
        assert_eq!(store.read_committed().await?, Some(log_id(1, i)));
    }
    // Queued among appends, it shares their commit; the last one saved wins.
    store.append(blanks(1, 5, 6), IOFlushed::noop()).await?;
    store.save_committed(Some(log_id(1, 6))).await?;
    append_flushed(&mut store, blanks(1, 7, 8)).await?;
    drop(store);
    let mut store = LogStore::open(&path).map_err(io::Error::other)?;
    assert_eq!(store.read_committed().await?, Some(log_id(1, 6)));
    Ok(())
}

#[tokio::test]
async fn entries_are_readable_when_append_returns_before_the_flush() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut store = LogStore::open(&dir.path().join("raft-log.redb")).map_err(io::Error::other)?;
    let mut reader = store.get_log_reader().await;
    for i in 0..50 {
        // Nobody waits for the fsync: the entry must be visible anyway.
        store.append([blank(1, i)], IOFlushed::noop()).await?;
        assert_eq!(indexes(&reader.try_get_log_entries(i..=i).await?), vec![i]);
    }
    assert_eq!(reader.try_get_log_entries(0..).await?.len(), 50);
    Ok(())
}

#[tokio::test]
async fn truncate_after_removes_the_suffix_durably() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("raft-log.redb");
    let mut store = LogStore::open(&path).map_err(io::Error::other)?;
    append_flushed(&mut store, blanks(1, 0, 10)).await?;
    store.truncate_after(Some(log_id(1, 5))).await?;
    assert_eq!(
        indexes(&store.try_get_log_entries(0..).await?),
        vec![0, 1, 2, 3, 4, 5]
    );
    append_flushed(&mut store, blanks(3, 6, 7)).await?;
    assert_eq!(store.get_log_state().await?.last_log_id, Some(log_id(3, 7)));
    drop(store);

    let mut store = LogStore::open(&path).map_err(io::Error::other)?;
    assert_eq!(
        store.try_get_log_entries(6..7).await?[0].log_id,
        log_id(3, 6)
    );
    store.truncate_after(None).await?;
    assert!(store.try_get_log_entries(0..).await?.is_empty());
    assert_eq!(store.get_log_state().await?.last_log_id, None);
    Ok(())
}

#[tokio::test]
async fn purge_hides_at_once_deletes_in_chunks_and_survives_reopen() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("raft-log.redb");
    let mut store = LogStore::open(&path).map_err(io::Error::other)?;
    append_flushed(&mut store, blanks(1, 0, 9_999)).await?;
    store.purge(log_id(1, 8_000)).await?;
    // Visible at once, even while chunks are still being deleted behind it.
    assert_eq!(
        store
            .try_get_log_entries(0..)
            .await?
            .first()
            .map(|e| e.log_id.index),
        Some(8_001)
    );
    append_flushed(&mut store, blanks(1, 10_000, 10_009)).await?;
    let state = store.get_log_state().await?;
    assert_eq!(
        (state.last_purged_log_id, state.last_log_id),
        (Some(log_id(1, 8_000)), Some(log_id(1, 10_009)))
    );
    drop(store);

    let mut store = LogStore::open(&path).map_err(io::Error::other)?;
    assert_eq!(store.try_get_log_entries(0..).await?.len(), 2_009);
    // The deletion finished before the writer stopped: nothing below the purge point is left.
    let db = store.shared.db.clone();
    let first = db
        .begin_read()
        .map_err(io::Error::other)?
        .open_table(LOG)
        .map_err(io::Error::other)?;
    assert_eq!(
        super::tables::first_index(store.path(), &first)?,
        Some(8_001)
    );

    // Purging past the end empties the log; the last log id becomes the purge point.
    store.purge(log_id(2, 20_000)).await?;
    let state = store.get_log_state().await?;
    assert_eq!(
        (state.last_purged_log_id, state.last_log_id),
        (Some(log_id(2, 20_000)), Some(log_id(2, 20_000)))
    );
    Ok(())
}

/// openraft awaits `append` but not the flush callback, so appends issued while an fsync runs are
/// merged: far fewer fsyncs than appends. Waiting for every flush costs one fsync each.
#[tokio::test]
async fn group_commit_merges_fsyncs() -> io::Result<()> {
    use openraft::type_config::TypeConfigExt as _;
    let dir = tempfile::tempdir()?;
    let mut store = LogStore::open(&dir.path().join("raft-log.redb")).map_err(io::Error::other)?;
    const N: u64 = 300;

    let before = store.durable_commits();
    let started = std::time::Instant::now();
    for i in 0..N {
        append_flushed(&mut store, vec![blank(1, i)]).await?;
    }
    let one_by_one = (store.durable_commits() - before, started.elapsed());

    let before = store.durable_commits();
    let started = std::time::Instant::now();
    let mut flushed = Vec::new();
    for i in N..2 * N {
        let (tx, rx) = super::TypeConfig::oneshot();
        store.append([blank(1, i)], IOFlushed::signal(tx)).await?;
        flushed.push(rx);
    }
    for rx in flushed {
        rx.await.map_err(io::Error::other)??;
    }
    let pipelined = (store.durable_commits() - before, started.elapsed());
    eprintln!(
        "{N} appends: awaiting each flush {one_by_one:?}; pipelined {pipelined:?} (fsyncs, time)"
    );
    assert!(one_by_one.0 >= N, "{one_by_one:?}");
    assert!(pipelined.0 <= N, "{pipelined:?}");
    assert_eq!(store.try_get_log_entries(0..).await?.len() as u64, 2 * N);
    Ok(())
}
