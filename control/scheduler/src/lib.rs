//! skiff's scheduler, kube-scheduler's counterpart: it picks a node for every pod that has
//! none, and binds the pod there through the API.
//!
//! # Layout
//! - `decide`: the decision, a pure function of a pod and the nodes with the pods already on
//!   them: filters (readiness, cordons, resources, node selector and affinity, taints, pod
//!   anti-affinity on the hostname), then scores (least allocated, preferred affinity, spread of
//!   one owner's pods). No I/O, no clock; tested by table.
//! - `queue`: which pods wait for this scheduler and which hold a node's resources.
//! - `cluster`: the cache: node states, waiting and assumed pods, changed one watch event at
//!   a time (kube-scheduler's `Cache` and queue).
//! - `pass`: one pass: each waiting pod placed on a rotating sample of the nodes
//!   (kube-scheduler's `percentageOfNodesToScore`), assumed there and handed to the binder.
//! - `bind`: the writes (bindings, PodScheduled=False, FailedScheduling events).
//! - `events`: the Events it records, and the paced loop that posts each bound pod's
//!   Scheduled Event without holding up the bindings.
//! - `run`: the loop: watch caches, passes while this replica holds the scheduler Lease
//!   (`skiff-election`), and the bind pipeline (many bindings in flight, not awaited by passes).
//! - `metrics`: kube-scheduler's metric families for `/metrics`.
//!
//! **Architecture Invariant:** this crate talks to the cluster only through the Kubernetes API
//! (kube-rs); it does not depend on the store or replica crates, as kube-scheduler does not
//! talk to etcd.

mod bind;
mod cluster;
pub mod decide;
mod events;
mod metrics;
mod pass;
mod queue;
mod run;

pub use metrics::{Metrics, Outcome};
pub use queue::DEFAULT_SCHEDULER;
pub use run::{RunError, run, run_with_metrics};
