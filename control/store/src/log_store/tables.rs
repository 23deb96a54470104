//! The log file's tables and the record helpers that the readers and the writer thread share.
//!
//! - `log`: entry index -> `codec::encode(&entry)`.
//! - `meta`: `vote`, `committed`, `last_purged`, `wal_epoch` -> `codec::encode(&value)`; an
//!   absent key is `None`.

use std::io;
use std::path::Path;

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;

use super::{Entry, LogId};
use crate::codec;

pub(super) const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
pub(super) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

pub(super) const KEY_VOTE: &str = "vote";
pub(super) const KEY_COMMITTED: &str = "committed";
pub(super) const KEY_LAST_PURGED: &str = "last_purged";
/// The WAL epoch named by the last durable commit (`wal`); absent before the first checkpoint.
pub(super) const KEY_WAL_EPOCH: &str = "wal_epoch";

/// Records in `txn` that the WAL's current epoch is `epoch`. Every durable commit of the log
/// does this (see `wal`), so records written before it are never replayed.
pub(super) fn name_wal_epoch(txn: &redb::WriteTransaction, epoch: u64) -> Result<(), redb::Error> {
    txn.open_table(META)?
        .insert(KEY_WAL_EPOCH, codec::encode(&epoch).as_slice())?;
    Ok(())
}

/// An I/O error for a failed redb operation, naming the file and what was being done.
pub(super) fn io_err(path: &Path, what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("raft log {}: {what}: {e}", path.display()))
}

/// Decodes one `meta` record; a record that does not decode is `InvalidData` naming the key.
pub(super) fn read_meta<T: DeserializeOwned>(
    path: &Path,
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> io::Result<Option<T>> {
    let Some(guard) = table
        .get(key)
        .map_err(|e| io_err(path, "cannot read meta", e))?
    else {
        return Ok(None);
    };
    codec::decode(guard.value()).map(Some).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "raft log {}: meta record {key:?} cannot be decoded: {e}",
                path.display()
            ),
        )
    })
}

/// Decodes the entry stored at `index`; a record that does not decode is `InvalidData` naming
/// the index.
pub(super) fn decode_entry(path: &Path, index: u64, bytes: &[u8]) -> io::Result<Entry> {
    codec::decode(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "raft log {}: entry at index {index} cannot be decoded: {e}",
                path.display()
            ),
        )
    })
}

/// Reads the entries with index in `start..end` (`end == None`: to the end of the log), at most
/// `limit` of them, from one read transaction, so the result is a consistent snapshot.
///
/// Fails rather than return a hole: consecutive entries must have consecutive indexes.
pub(super) fn read_entries(
    path: &Path,
    db: &redb::Database,
    start: u64,
    end: Option<u64>,
    limit: usize,
) -> io::Result<Vec<Entry>> {
    let txn = db
        .begin_read()
        .map_err(|e| io_err(path, "cannot begin a read", e))?;
    let table = txn
        .open_table(LOG)
        .map_err(|e| io_err(path, "cannot open the log table", e))?;
    let range = match end {
        Some(end) => table.range(start..end),
        None => table.range(start..),
    }
    .map_err(|e| io_err(path, "cannot read entries", e))?;

    let mut out: Vec<Entry> = Vec::new();
    let mut expected: Option<u64> = None;
    for item in range {
        if out.len() >= limit {
            break;
        }
        let (key, value) = item.map_err(|e| io_err(path, "cannot read an entry", e))?;
        let index = key.value();
        if let Some(expected) = expected
            && index != expected
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "raft log {}: hole in the log: entry {index} follows entry {}",
                    path.display(),
                    expected - 1
                ),
            ));
        }
        let entry = decode_entry(path, index, value.value())?;
        if entry.log_id.index != index {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "raft log {}: the entry stored at index {index} has log id {}",
                    path.display(),
                    entry.log_id
                ),
            ));
        }
        expected = Some(index + 1);
        out.push(entry);
    }
    Ok(out)
}

/// The log id of the last entry present in `table`, if any.
pub(super) fn last_entry_id(
    path: &Path,
    table: &impl ReadableTable<u64, &'static [u8]>,
) -> io::Result<Option<LogId>> {
    let last = table
        .last()
        .map_err(|e| io_err(path, "cannot read the last entry", e))?;
    match last {
        None => Ok(None),
        Some((key, value)) => Ok(Some(decode_entry(path, key.value(), value.value())?.log_id)),
    }
}

/// The index of the first entry present in `table`, if any.
pub(super) fn first_index(
    path: &Path,
    table: &impl ReadableTable<u64, &'static [u8]>,
) -> io::Result<Option<u64>> {
    let first = table
        .first()
        .map_err(|e| io_err(path, "cannot read the first entry", e))?;
    Ok(first.map(|(key, _)| key.value()))
}
