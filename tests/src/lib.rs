//! Shared helpers for skiff's end-to-end tests: real `skiff server` processes, a KV client, and
//! the network faults (namespaces) the fault tests inject.
//!
//! # Layout
//! - `process`: [`Replica`], one `skiff server` child process with its own data directory.
//! - `cluster`: [`Cluster`], one or three replicas started and joined, and leader lookup.
//! - `client`: [`KvClient`], the `/kv/v1/*` JSON API over HTTPS (rustls, cluster CA, bearer).
//! - `kv`: the API's answers ([`KvError`], [`RangeResult`]) and the NDJSON [`WatchStream`].
//! - `netns`: network namespaces joined by a bridge, with per-replica cut and heal.
//! - `harness`: [`run_bounded`], which runs one test serialised, time-bounded, and keeps the
//!   data directories of a failed test for debugging; locating the binary; free ports; [`Exited`].
//!
//! Every child process is killed when its handle drops, so a failed or timed-out test leaves
//! nothing running.

pub mod client;
pub mod cluster;
pub mod harness;
pub mod kv;
pub mod netns;
pub mod process;

pub use client::KvClient;
pub use cluster::Cluster;
pub use harness::{Exited, free_port, run_bounded, scratch_dir, skiff_bin};
pub use kv::{Kv, KvError, RangeResult, WatchLine, WatchStream};
pub use process::{Replica, ReplicaOptions};
