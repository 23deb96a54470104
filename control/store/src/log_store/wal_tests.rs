//! The WAL file on its own: records round-trip within their epoch, a write cut short at the end
//! is dropped, and damage anywhere else is refused with the file left as it was.

use std::fs;
use std::path::{Path, PathBuf};

use super::{CAPACITY, HEADER, Items, Wal, WalError};

fn item(index: u64, len: usize) -> (u64, Vec<u8>) {
    (index, vec![index as u8; len])
}

/// A new WAL beside `dir/raft-log.redb`, started at epoch 1, with `records` written and synced.
fn written(dir: &Path, records: &[Items]) -> PathBuf {
    let log = dir.join("raft-log.redb");
    let (mut wal, replayed) = Wal::open(&log, None).expect("create the WAL");
    assert!(replayed.is_empty());
    wal.restart(1);
    for record in records {
        assert!(wal.append(std::slice::from_ref(record)).expect("append"));
    }
    wal.sync().expect("sync");
    log
}

fn records() -> Vec<Items> {
    vec![
        vec![item(1, 10), item(2, 300)],
        vec![item(3, 0)],
        vec![item(4, 4000), item(5, 1)],
    ]
}

#[test]
fn records_come_back_only_for_their_epoch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = written(dir.path(), &records());
    let wal_path = log.with_extension("wal");
    assert_eq!(fs::metadata(&wal_path).expect("stat").len(), CAPACITY);

    let (_, replayed) = Wal::open(&log, Some(1)).expect("reopen");
    assert_eq!(replayed, records());
    let (_, replayed) = Wal::open(&log, Some(2)).expect("reopen at a later epoch");
    assert!(
        replayed.is_empty(),
        "records of epoch 1 replayed at epoch 2"
    );

    // A restart writes the new epoch's records over the old ones from the start.
    let (mut wal, _) = Wal::open(&log, Some(1)).expect("reopen");
    wal.restart(2);
    assert!(wal.append(&[vec![item(9, 5)]]).expect("append"));
    wal.sync().expect("sync");
    let (_, replayed) = Wal::open(&log, Some(2)).expect("reopen");
    assert_eq!(replayed, vec![vec![item(9, 5)]]);
    let (_, replayed) = Wal::open(&log, Some(1)).expect("reopen");
    assert!(
        replayed.is_empty(),
        "epoch 1's first record was overwritten"
    );
}

#[test]
fn a_record_cut_short_at_the_end_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = written(dir.path(), &records());
    let wal_path = log.with_extension("wal");
    let mut bytes = fs::read(&wal_path).expect("read");
    // The last record starts after the first two; damage its last byte.
    let last_start = HEADER + 2 * 12 + 310 + HEADER + 12;
    let last_end = last_start + HEADER + 2 * 12 + 4001;
    bytes[last_end - 1] ^= 0xff;
    fs::write(&wal_path, &bytes).expect("write");
    let (_, replayed) = Wal::open(&log, Some(1)).expect("a torn tail opens");
    assert_eq!(replayed, records()[..2].to_vec());
}

#[test]
fn damage_before_a_good_record_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = written(dir.path(), &records());
    let wal_path = log.with_extension("wal");
    let mut bytes = fs::read(&wal_path).expect("read");
    bytes[HEADER + 20] ^= 0xff;
    fs::write(&wal_path, &bytes).expect("write");
    let err = Wal::open(&log, Some(1)).expect_err("mid-log damage must be refused");
    let message = err.to_string();
    assert!(matches!(err, WalError::Corrupt { .. }), "{err:?}");
    assert!(
        message.contains(&wal_path.display().to_string()),
        "{message}"
    );
    assert!(message.contains("checksum"), "{message}");
    assert!(
        fs::read(&wal_path).expect("read back") == bytes,
        "the refused WAL was modified"
    );
}

#[test]
fn a_missing_or_resized_wal_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = written(dir.path(), &records());
    let wal_path = log.with_extension("wal");

    let bytes = fs::read(&wal_path).expect("read");
    fs::write(&wal_path, &bytes[..4096]).expect("truncate");
    let err = Wal::open(&log, Some(1)).expect_err("a truncated WAL must be refused");
    assert!(err.to_string().contains("4096 bytes"), "{err}");
    assert_eq!(fs::read(&wal_path).expect("read back").len(), 4096);

    fs::remove_file(&wal_path).expect("remove");
    let err = Wal::open(&log, Some(3)).expect_err("a missing WAL must be refused");
    assert!(matches!(err, WalError::Missing { epoch: 3, .. }), "{err:?}");
    assert!(!wal_path.exists(), "a refused open created the WAL");

    // A log that names no epoch (new, or from before the WAL) gets a new one.
    let (_, replayed) = Wal::open(&log, None).expect("create");
    assert!(replayed.is_empty());
    assert_eq!(fs::metadata(&wal_path).expect("stat").len(), CAPACITY);
}

#[test]
fn a_record_that_does_not_fit_is_not_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = written(dir.path(), &[]);
    let (mut wal, _) = Wal::open(&log, Some(1)).expect("reopen");
    wal.restart(1);
    let big = vec![item(1, CAPACITY as usize / 2)];
    assert!(wal.append(std::slice::from_ref(&big)).expect("first half"));
    assert!(
        !wal.append(std::slice::from_ref(&big)).expect("no room"),
        "an overflow was written"
    );
    wal.restart(2);
    assert!(wal.append(&[big]).expect("room again after a checkpoint"));
    // Before any checkpoint names an epoch, nothing is written.
    let (mut fresh, _) = Wal::open(&dir.path().join("other.redb"), None).expect("create");
    assert!(!fresh.append(&[vec![item(1, 1)]]).expect("append"));
}
