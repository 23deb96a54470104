//! The Raft state machine: applies committed entries to the MVCC map in `state.redb`, publishes
//! watch events, and builds and installs snapshots.
//!
//! Applying: `apply` hands each batch to the `applier`, which commits a lone batch at once and
//! merges batches queued behind a running commit into one redb transaction (group commit); it
//! answers clients after the commit.
//!
//! Durability: most batches commit to redb without fsync (openraft re-applies the log from the
//! persisted commit point after a crash, and redb rolls back atomically to its last durable
//! commit, which carries its own applied log id). One batch per `applier::DURABLE_EVERY` commits
//! with fsync, so each fsync carries little and the file's reusable space is bounded. Snapshots are
//! built from a read transaction and fsynced as files before openraft purges the log behind
//! them; after a crash, openraft installs the newest snapshot when the state machine's durable
//! state is older, so the state machine never needs an fsync on the snapshot path (which would
//! stall applies while it flushes).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{Stream, TryStreamExt};
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder};
use redb::{Database, Durability, ReadableDatabase};

use super::applier::Applier;
use super::codec;
use super::mvcc::{META, MvccError, WriteTables};
use super::snapshot::{self, SnapshotData, SnapshotFiles};
use super::types::{Event, Request, Response, TypeConfig};
use super::watch::{Published, WatchHub};

pub type LogId = openraft::alias::LogIdOf<TypeConfig>;
type Entry = openraft::alias::EntryOf<TypeConfig>;
pub type StoredMembership = openraft::alias::StoredMembershipOf<TypeConfig>;
pub type SnapshotMeta = openraft::alias::SnapshotMetaOf<TypeConfig>;
pub type Snapshot = openraft::alias::SnapshotOf<TypeConfig, SnapshotData>;

pub(crate) const META_APPLIED: &str = "raft.applied";
pub(crate) const META_MEMBERSHIP: &str = "raft.membership";

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{path}: the file is empty (expected a redb database); it was left untouched")]
    Empty { path: PathBuf },
    #[error("{path}: cannot open the state database: {source}")]
    Database {
        path: PathBuf,
        source: redb::DatabaseError,
    },
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: MvccError },
    #[error("{path}: {source}")]
    Snapshot { path: PathBuf, source: io::Error },
    #[error("{path}: cannot start the apply thread: {source}")]
    ApplyThread { path: PathBuf, source: io::Error },
}

/// Handle on the state machine. Cheap to clone; all clones share one redb database and one
/// apply thread.
#[derive(Clone)]
pub struct StateMachine {
    db: Arc<Database>,
    hub: WatchHub,
    snapshots: SnapshotFiles,
    applier: Applier,
}

impl StateMachine {
    /// Opens (or creates) `dir/state.redb` and `dir/snapshots/`.
    pub fn open(dir: &Path) -> Result<Self, OpenError> {
        let path = dir.join("state.redb");
        let db = Arc::new(open_database(&path)?);
        let read = |source| OpenError::Read {
            path: path.clone(),
            source,
        };
        let txn = db.begin_read().map_err(|e| read(e.into()))?;
        let (applied, _) = read_applied_in(&txn).map_err(read)?;
        drop(txn);
        let hub = WatchHub::default();
        let commit_db = db.clone();
        let commit = move |entries: &[Entry], durable: bool| {
            Self::apply_batch(&commit_db, durable, entries).map_err(|e| e.to_string())
        };
        let visible = applied.map_or(0, |id| id.index);
        let applier = Applier::spawn(hub.clone(), visible, Arc::new(commit)).map_err(|source| {
            OpenError::ApplyThread {
                path: path.clone(),
                source,
            }
        })?;
        let sm = StateMachine {
            db,
            hub,
            snapshots: SnapshotFiles::new(dir.join("snapshots")),
            applier,
        };
        let snap_dir = dir.join("snapshots");
        sm.snapshots.check().map_err(|source| OpenError::Snapshot {
            path: snap_dir,
            source,
        })?;
        Ok(sm)
    }

    pub fn database(&self) -> &Arc<Database> {
        &self.db
    }

    pub fn hub(&self) -> &WatchHub {
        &self.hub
    }

    /// Waits until the entry at `index` is applied and readable here, at most `timeout`.
    pub async fn wait_applied(&self, index: u64, timeout: std::time::Duration) -> io::Result<()> {
        self.applier.wait_visible(index, timeout).await
    }

    fn read_applied(&self) -> Result<(Option<LogId>, StoredMembership), MvccError> {
        let txn = self.db.begin_read()?;
        read_applied_in(&txn)
    }
    /// Applies a batch of entries in one redb transaction; returns the answers and the events.
    fn apply_batch(
        db: &Database,
        durable: bool,
        entries: &[openraft::alias::EntryOf<TypeConfig>],
    ) -> Result<(Vec<Response>, Vec<Event>), MvccError> {
        let txn = db.begin_write()?;
        let mut responses = Vec::with_capacity(entries.len());
        let mut events = Vec::new();
        {
            let mut tables = WriteTables::open(&txn)?;
            for entry in entries {
                let response = match &entry.payload {
                    EntryPayload::Blank => Response::Empty,
                    EntryPayload::Normal(Request::Txn(t)) => tables.apply_txn(t, &mut events)?,
                    EntryPayload::Normal(Request::Compact { revision }) => Response::Compacted {
                        revision: tables.compact(*revision)?,
                    },
                    EntryPayload::Membership(m) => {
                        let stored = StoredMembership::new(Some(entry.log_id), m.clone());
                        tables
                            .meta
                            .insert(META_MEMBERSHIP, codec::encode(&stored).as_slice())?;
                        Response::Empty
                    }
                };
                responses.push(response);
            }
            if let Some(last) = entries.last() {
                tables
                    .meta
                    .insert(META_APPLIED, codec::encode(&Some(last.log_id)).as_slice())?;
            }
            tables.finish()?;
        }
        let mut txn = txn;
        txn.set_durability(if durable {
            Durability::Immediate
        } else {
            Durability::None
        })?;
        txn.commit()?;
        Ok((responses, events))
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = SnapshotData;
    type SnapshotBuilder = StateMachine;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        self.applier.barrier().await?;
        Ok(self.read_applied()?)
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        let mut batch = Vec::new();
        let mut responders = Vec::new();
        while let Some((entry, responder)) = entries.try_next().await? {
            batch.push(entry);
            responders.push(responder);
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.applier.apply(batch, responders).await
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        data: SnapshotData,
    ) -> Result<(), io::Error> {
        self.applier.barrier().await?;
        let db = self.db.clone();
        let snapshots = self.snapshots.clone();
        let installed = meta.last_log_id.map_or(0, |id| id.index);
        let meta = meta.clone();
        tokio::task::spawn_blocking(move || -> Result<(), io::Error> {
            let decoded = snapshot::decode(&data)?;
            snapshot::install(&db, &meta, &decoded)?;
            snapshots.save(&meta, &data)?;
            Ok(())
        })
        .await
        .map_err(io::Error::other)??;
        self.applier.set_visible(installed);
        self.hub.publish(Published::Reset);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        let snapshots = self.snapshots.clone();
        tokio::task::spawn_blocking(move || snapshots.latest())
            .await
            .map_err(io::Error::other)?
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    type SnapshotData = SnapshotData;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        self.applier.barrier().await?;
        let db = self.db.clone();
        let snapshots = self.snapshots.clone();
        tokio::task::spawn_blocking(move || -> Result<Snapshot, io::Error> {
            // A read transaction sees one consistent state while applies continue.
            let read = db.begin_read().map_err(io::Error::other)?;
            let (applied, membership) = read_applied_in(&read)?;
            let data = snapshot::encode_from(&read)?;
            let meta = SnapshotMeta {
                last_log_id: applied,
                last_membership: membership,
            };
            snapshots.save(&meta, &data)?;
            Ok(Snapshot {
                meta,
                snapshot: data,
            })
        })
        .await
        .map_err(io::Error::other)?
    }
}

/// The applied log id and membership as seen by one read transaction.
fn read_applied_in(
    txn: &redb::ReadTransaction,
) -> Result<(Option<LogId>, StoredMembership), MvccError> {
    let meta = match txn.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => {
            return Ok((None, StoredMembership::default()));
        }
        Err(e) => return Err(e.into()),
    };
    let applied = match meta.get(META_APPLIED)? {
        Some(v) => codec::decode(v.value())?,
        None => None,
    };
    let membership = match meta.get(META_MEMBERSHIP)? {
        Some(v) => codec::decode(v.value())?,
        None => StoredMembership::default(),
    };
    Ok((applied, membership))
}

/// Opens `state.redb`, creating it only when absent: an existing file is never reinitialised,
/// and all tables exist afterwards so readers need no special case.
fn open_database(path: &Path) -> Result<Database, OpenError> {
    let db_err = |source| OpenError::Database {
        path: path.to_owned(),
        source,
    };
    let db = match std::fs::metadata(path) {
        Ok(m) if m.len() == 0 => {
            return Err(OpenError::Empty {
                path: path.to_owned(),
            });
        }
        Ok(_) => Database::builder().open(path).map_err(db_err)?,
        Err(_) => Database::builder().create(path).map_err(db_err)?,
    };
    let init = || -> Result<(), MvccError> {
        let txn = db.begin_write()?;
        WriteTables::open(&txn)?;
        txn.commit()?;
        Ok(())
    };
    init().map_err(|source| OpenError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(db)
}
