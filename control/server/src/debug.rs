//! `skiff debug`'s read-only diagnosis of a data directory: the Raft log listed entry by entry
//! (`skiff_store::dump`), from a copy, so a running or damaged replica's files are
//! never touched.

use std::path::{Path, PathBuf};

/// Why a data directory could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum DebugError {
    #[error("{0} has no raft log (store/raft-log.redb)")]
    NoLog(PathBuf),
    #[error("copying {path}: {source}")]
    Copy {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Dump(#[from] skiff_store::DumpError),
}

/// The listing of the Raft log under `data_dir` (see `Dump`'s `Display`).
pub async fn raft_log(data_dir: &Path) -> Result<String, DebugError> {
    let store = data_dir.join("store");
    let copy = tempfile::tempdir().map_err(|source| DebugError::Copy {
        path: std::env::temp_dir(),
        source,
    })?;
    if !store.join("raft-log.redb").exists() {
        return Err(DebugError::NoLog(data_dir.to_owned()));
    }
    for name in ["raft-log.redb", "raft-log.wal"] {
        let from = store.join(name);
        if from.exists() {
            std::fs::copy(&from, copy.path().join(name))
                .map_err(|source| DebugError::Copy { path: from, source })?;
        }
    }
    let dump = skiff_store::dump(&copy.path().join("raft-log.redb")).await?;
    Ok(dump.to_string())
}
