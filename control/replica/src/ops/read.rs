//! Client reads: linearizable through a read-index round, or serializable from the local copy,
//! and watches served from this replica.

use std::time::Duration;

use tokio::time::Instant;

use super::read_round::{any_round, leader_round};
use super::{Consistency, LEADER_WAIT, StoreReadError};
use crate::Replica;
use crate::read_index::RoundError;
use skiff_store::types::KeyValue;
use skiff_store::{ListOptions, ListPage, WatchError, Watcher};

impl Replica {
    /// The leader's half of a follower's read-index: the log index a read must wait for.
    /// Concurrent requests share rounds; this never forwards.
    pub(crate) async fn read_index_as_leader(&self) -> Result<u64, RoundError> {
        let lead = self.leadership();
        let round = move || leader_round(lead.clone());
        self.leader_reads.read_index(round).await
    }

    /// Waits until this replica has applied everything committed before now. Concurrent calls
    /// share read-index rounds (see `read_index`).
    pub async fn linearize(&self) -> Result<(), StoreReadError> {
        let deadline = Instant::now() + LEADER_WAIT;
        let (lead, peers, advertise) = (
            self.leadership(),
            self.peers.clone(),
            self.advertise.clone(),
        );
        let round = move || any_round(lead.clone(), peers.clone(), advertise.clone());
        loop {
            match self.reads.read_index(round.clone()).await {
                Ok(index) => {
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    return self
                        .sm
                        .wait_applied(index, remaining)
                        .await
                        .map_err(StoreReadError::NotApplied);
                }
                Err(RoundError::Fatal(e)) => return Err(StoreReadError::Fatal(e)),
                Err(RoundError::NoLeader(e)) if Instant::now() >= deadline => {
                    return Err(StoreReadError::NoLeader(format!(
                        "no leader answered within {LEADER_WAIT:?}: {e}"
                    )));
                }
                Err(RoundError::NoLeader(_)) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// The value of `key` (at `revision`, or the newest) and the store's revision.
    pub async fn get(
        &self,
        key: &str,
        revision: Option<u64>,
        consistency: Consistency,
    ) -> Result<(Option<KeyValue>, u64), StoreReadError> {
        if consistency == Consistency::Linearizable {
            self.linearize().await?;
        }
        Ok(self.sm.mvcc().get(key, revision)?)
    }

    /// One page of the keys under `prefix`.
    pub async fn list(
        &self,
        prefix: &str,
        options: &ListOptions,
        consistency: Consistency,
    ) -> Result<ListPage, StoreReadError> {
        if consistency == Consistency::Linearizable {
            self.linearize().await?;
        }
        Ok(self.sm.mvcc().list(prefix, options)?)
    }

    /// Events under `prefix` with revision greater than `after`, served from this replica.
    pub fn watch(&self, prefix: &str, after: u64) -> Result<Watcher, WatchError> {
        self.sm
            .hub()
            .watch(self.sm.mvcc().clone(), prefix.to_owned(), after)
    }
}
