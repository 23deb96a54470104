//! Opening the log file: an existing file is opened as it is or refused untouched; a new log is
//! built under a temporary name and renamed into place, so a half-created log never exists.
//!
//! redb's `Builder::create` initialises a new database in any *empty* file, so a log truncated to
//! zero bytes would silently come back empty (and the replica would forget its vote). Existing
//! files are therefore opened with `Builder::open`, which never initialises, and an empty file is
//! refused before redb sees it.
//!
//! Appends since the last durable commit may live only in the WAL (`wal`): opening replays the
//! records of the epoch the file names into redb and checkpoints, before anything reads the log.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{DatabaseError, Durability, ReadableDatabase, StorageError};

use super::tables::{self, KEY_LAST_PURGED, KEY_VOTE, KEY_WAL_EPOCH, LOG, META};
use super::wal::Wal;
use super::{LogId, LogStoreError, Vote};

/// What `LogStore::open` needs from the file.
pub(super) struct Opened {
    pub(super) db: Arc<redb::Database>,
    /// Replayed and checkpointed: ready for the next record.
    pub(super) wal: Wal,
    pub(super) vote: Option<Vote>,
    pub(super) last_purged: Option<LogId>,
    /// Set when a purge recorded `last_purged` but the crash came before all its entries were
    /// deleted: the writer finishes deleting up to this index.
    pub(super) purge_leftover: Option<u64>,
}

pub(super) fn open(path: &Path) -> Result<Opened, LogStoreError> {
    let io = |what: &'static str| {
        move |source: io::Error| LogStoreError::Io {
            path: path.to_owned(),
            what,
            source,
        }
    };
    match fs::metadata(path) {
        Ok(meta) if meta.len() == 0 => {
            return Err(LogStoreError::Empty {
                path: path.to_owned(),
            });
        }
        Ok(_) => refuse_missing_wal(path)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => create_new(path)?,
        Err(e) => return Err(io("cannot inspect the file")(e)),
    }
    let db = open_existing(path)?;
    let wal = recover(path, &db)?;
    load(path, db, wal).map_err(io("cannot load the log's state"))
}

/// A log that names a WAL epoch but has no WAL is refused before redb opens it for writing, so
/// the file stays as it was. Only a log that opens read-only can be checked here (one that needs
/// redb's crash recovery cannot); the others are checked after opening, in `recover`.
fn refuse_missing_wal(path: &Path) -> Result<(), LogStoreError> {
    let wal = path.with_extension("wal");
    if wal.exists() {
        return Ok(());
    }
    let peek = || -> Option<u64> {
        let db = redb::Builder::new().open_read_only(path).ok()?;
        let txn = db.begin_read().ok()?;
        let meta = txn.open_table(META).ok()?;
        tables::read_meta(path, &meta, KEY_WAL_EPOCH).ok()?
    };
    match peek() {
        Some(epoch) => Err(super::WalError::Missing { path: wal, epoch }.into()),
        None => Ok(()),
    }
}

/// Replays the WAL's records of the epoch the file names and checkpoints with the next epoch,
/// in one durable commit. A WAL that is missing or damaged is refused before anything is written.
fn recover(path: &Path, db: &redb::Database) -> Result<Wal, LogStoreError> {
    let io = |what: &'static str| {
        move |source: io::Error| LogStoreError::Io {
            path: path.to_owned(),
            what,
            source,
        }
    };
    let epoch: Option<u64> = {
        let txn = db
            .begin_read()
            .map_err(|e| tables::io_err(path, "cannot begin a read", e))
            .map_err(io("cannot read the WAL epoch"))?;
        let meta = txn
            .open_table(META)
            .map_err(|e| tables::io_err(path, "cannot open the meta table", e))
            .map_err(io("cannot read the WAL epoch"))?;
        tables::read_meta(path, &meta, KEY_WAL_EPOCH).map_err(io("cannot read the WAL epoch"))?
    };
    let (mut wal, records) = Wal::open(path, epoch)?;
    let next = epoch.unwrap_or(0) + 1;
    let replay = || -> Result<(), redb::Error> {
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut log = txn.open_table(LOG)?;
            for (index, bytes) in records.iter().flatten() {
                log.insert(*index, bytes.as_slice())?;
            }
        }
        tables::name_wal_epoch(&txn, next)?;
        txn.commit()?;
        Ok(())
    };
    replay()
        .map_err(|e| tables::io_err(path, "cannot replay the WAL", e))
        .map_err(io("cannot recover the log"))?;
    if !records.is_empty() {
        let entries: usize = records.iter().map(Vec::len).sum();
        tracing::info!(
            wal = %wal.path().display(),
            records = records.len(),
            entries,
            "replayed the raft log's WAL"
        );
    }
    wal.restart(next);
    Ok(wal)
}

/// Opens a file that exists, never initialising or resetting it.
fn open_existing(path: &Path) -> Result<redb::Database, LogStoreError> {
    // redb checks some invariants of the file with `debug_assert!`, so a damaged file can panic
    // in debug builds where release builds return `Corrupted`. Treat both the same way.
    let opened = std::panic::catch_unwind(|| redb::Builder::new().open(path));
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(classify(path, e)),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "redb panicked while opening it".to_owned());
            Err(LogStoreError::Corrupt {
                path: path.to_owned(),
                source: redb::Error::Corrupted(message),
            })
        }
    }
}

fn classify(path: &Path, e: DatabaseError) -> LogStoreError {
    let path = path.to_owned();
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            LogStoreError::InUse { path, source: e }
        }
        DatabaseError::Storage(StorageError::Io(source))
            if !matches!(
                source.kind(),
                io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
            ) =>
        {
            LogStoreError::Io {
                path,
                what: "cannot open the file",
                source,
            }
        }
        e => LogStoreError::Corrupt {
            path,
            source: e.into(),
        },
    }
}

/// Creates an empty log with both tables under `<path>.creating`, makes it durable, and renames
/// it to `path`.
fn create_new(path: &Path) -> Result<(), LogStoreError> {
    let tmp = creating_path(path);
    let io = |what: &'static str| {
        let path = tmp.clone();
        move |source: io::Error| LogStoreError::Io { path, what, source }
    };
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("cannot remove a stale half-created log")(e)),
    }
    let other = |e: redb::Error| io::Error::other(e.to_string());
    let db = redb::Builder::new()
        .create(&tmp)
        .map_err(|e| classify(&tmp, e))?;
    let init = || -> Result<(), redb::Error> {
        let txn = db.begin_write()?;
        txn.open_table(LOG)?;
        txn.open_table(META)?;
        txn.commit()?;
        Ok(())
    };
    init()
        .map_err(other)
        .map_err(io("cannot initialise a new log"))?;
    drop(db);
    fs::rename(&tmp, path).map_err(io("cannot rename the new log into place"))?;
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(|source| LogStoreError::Io {
            path: path.to_owned(),
            what: "cannot sync its directory",
            source,
        })
}

fn creating_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_owned()).unwrap_or_default();
    name.push(".creating");
    path.with_file_name(name)
}

/// Reads what the writer and the cache start from.
fn load(path: &Path, db: redb::Database, wal: Wal) -> io::Result<Opened> {
    let txn = db
        .begin_read()
        .map_err(|e| tables::io_err(path, "cannot begin a read", e))?;
    let meta = txn
        .open_table(META)
        .map_err(|e| tables::io_err(path, "cannot open the meta table", e))?;
    let log = txn
        .open_table(LOG)
        .map_err(|e| tables::io_err(path, "cannot open the log table", e))?;
    let vote: Option<Vote> = tables::read_meta(path, &meta, KEY_VOTE)?;
    let last_purged: Option<LogId> = tables::read_meta(path, &meta, KEY_LAST_PURGED)?;
    let first = tables::first_index(path, &log)?;
    // Check the last record decodes now rather than at the first read.
    tables::last_entry_id(path, &log)?;
    let purge_leftover = match (&last_purged, first) {
        (Some(purged), Some(first)) if first <= purged.index => Some(purged.index),
        _ => None,
    };
    drop((meta, log, txn));
    Ok(Opened {
        db: Arc::new(db),
        wal,
        vote,
        last_purged,
        purge_leftover,
    })
}
