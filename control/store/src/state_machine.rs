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
//! built from the in-memory key index (one consistent applied state) and fsynced as files before openraft purges the log behind
//! them; after a crash, openraft installs the newest snapshot when the state machine's durable
//! state is older, so the state machine never needs an fsync on the snapshot path (which would
//! stall applies while it flushes).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{Stream, TryStreamExt};
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{OptionalSend, RaftSnapshotBuilder};
use redb::Database;

use super::applier::Applier;
use super::background;
use super::mvcc::{Mvcc, MvccError};
use super::snapshot::{self, SnapshotData, SnapshotFiles};
use super::types::TypeConfig;
use super::watch::{Published, WatchHub};

pub(crate) type LogId = openraft::alias::LogIdOf<TypeConfig>;
type Entry = openraft::alias::EntryOf<TypeConfig>;
pub(crate) type StoredMembership = openraft::alias::StoredMembershipOf<TypeConfig>;
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
    mvcc: Mvcc,
    hub: WatchHub,
    snapshots: SnapshotFiles,
    applier: Applier,
}

impl StateMachine {
    /// Opens (or creates) `dir/state.redb` and `dir/snapshots/`.
    pub fn open(dir: &Path) -> Result<Self, OpenError> {
        let path = dir.join("state.redb");
        let db = Arc::new(open_database(&path)?);
        let mvcc = Mvcc::open(db).map_err(|source| OpenError::Read {
            path: path.clone(),
            source,
        })?;
        let hub = WatchHub::default();
        let commit_mvcc = mvcc.clone();
        let commit = move |entries: &[Entry], durable: bool| {
            commit_mvcc
                .apply_entries(entries, durable)
                .map_err(|e| e.to_string())
        };
        let visible = mvcc.index().applied.map_or(0, |id| id.index);
        let applier = Applier::spawn(hub.clone(), visible, Arc::new(commit)).map_err(|source| {
            OpenError::ApplyThread {
                path: path.clone(),
                source,
            }
        })?;
        let sm = StateMachine {
            mvcc,
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

    pub fn mvcc(&self) -> &Mvcc {
        &self.mvcc
    }

    pub fn hub(&self) -> &WatchHub {
        &self.hub
    }

    /// Waits until the entry at `index` is applied and readable here, at most `timeout`.
    pub async fn wait_applied(&self, index: u64, timeout: std::time::Duration) -> io::Result<()> {
        self.applier.wait_visible(index, timeout).await
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = SnapshotData;
    type SnapshotBuilder = StateMachine;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        self.applier.barrier().await?;
        let index = self.mvcc.index();
        Ok((index.applied, index.membership.clone()))
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
        let mvcc = self.mvcc.clone();
        let snapshots = self.snapshots.clone();
        let installed = meta.last_log_id.map_or(0, |id| id.index);
        let meta = meta.clone();
        tokio::task::spawn_blocking(move || -> Result<(), io::Error> {
            let decoded = snapshot::decode(&data)?;
            snapshot::install(&mvcc, &meta, decoded)?;
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
        let started = std::time::Instant::now();
        self.applier.barrier().await?;
        let barrier = started.elapsed();
        let mvcc = self.mvcc.clone();
        let snapshots = self.snapshots.clone();
        background::run("skiff-snapshot", move || -> Result<Snapshot, io::Error> {
            // The index hands out one consistent state while applies continue.
            let encoding = std::time::Instant::now();
            let (meta, data) = snapshot::encode_from(&mvcc);
            let encoded = encoding.elapsed();
            snapshots.save(&meta, &data)?;
            tracing::info!(
                index = meta.last_log_id.map_or(0, |id| id.index),
                bytes = data.len(),
                barrier_ms = barrier.as_secs_f64() * 1e3,
                encode_ms = encoded.as_secs_f64() * 1e3,
                save_ms = (encoding.elapsed() - encoded).as_secs_f64() * 1e3,
                "snapshot built"
            );
            Ok(Snapshot {
                meta,
                snapshot: data,
            })
        })
        .await
    }
}

/// Opens `state.redb`, creating it only when absent: an existing file is never reinitialised.
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
    Ok(db)
}
