//! The replicated MVCC key-value store: skiff's etcd.
//!
//! # Layout
//! - `types`: requests, responses, key-values, events (the Raft payload).
//! - `codec`: versioned binary encoding of everything stored or sent.
//! - `log_store`: the Raft log in its own redb file (`raft-log.redb`), and `dump`, its listing
//!   for `skiff debug raft-log`.
//! - `mvcc`: the MVCC map: versions in redb (`state.redb`) keyed by revision, and `index`, the
//!   in-memory key index with the current values; `write` applies to it, `read` and `watch`
//!   read it, `snapshot` copies it whole.
//! - `state_machine`: the Raft state machine over the MVCC map, applied from the log.
//! - `applier`: the thread that commits applied entries in groups and answers clients.
//! - `background`: snapshot building on its own thread at a lower CPU priority.

#![deny(unreachable_pub)]

mod applier;
mod background;
pub mod codec;
mod index;
mod log_store;
mod mvcc;
#[cfg(test)]
mod mvcc_tests;
mod read;
mod snapshot;
mod state_machine;
pub mod types;
mod watch;
mod write;

pub use log_store::{Dump, DumpError, LogStore, LogStoreError, dump};
pub use read::{ListOptions, ListPage, ReadError};
pub use snapshot::SnapshotData;
pub use state_machine::{OpenError, Snapshot, SnapshotMeta, StateMachine};
pub use watch::{SharedEvent, WatchError, Watcher};
