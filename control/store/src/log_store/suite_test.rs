//! Runs openraft's storage contract suite (`openraft::testing::log::Suite`) against [`LogStore`]
//! paired with the real [`StateMachine`], each on a fresh temporary directory.

use std::io;

use openraft::testing::log::{StoreBuilder, Suite};
use openraft::{ErrorSubject, ErrorVerb, StorageError};
use tempfile::TempDir;

use super::LogStore;
use crate::state_machine::StateMachine;
use crate::types::TypeConfig;

struct Builder;

fn open_error(e: impl std::fmt::Display) -> StorageError<TypeConfig> {
    StorageError::from_io_error(
        ErrorSubject::Store,
        ErrorVerb::Read,
        io::Error::other(e.to_string()),
    )
}

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for Builder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError<TypeConfig>> {
        let dir = tempfile::tempdir().map_err(open_error)?;
        let log = LogStore::open(&dir.path().join("raft-log.redb")).map_err(open_error)?;
        let sm = StateMachine::open(dir.path()).map_err(open_error)?;
        Ok((dir, log, sm))
    }
}

/// The whole storage contract, including snapshots of a state machine that applied nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openraft_suite_all_cases() -> Result<(), StorageError<TypeConfig>> {
    Suite::<TypeConfig, LogStore, StateMachine, Builder, TempDir>::test_all(Builder).await
}
