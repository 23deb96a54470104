//! skiff's scheduler, kube-scheduler's counterpart: it picks a node for every pod that has
//! none, and binds the pod there through the API.
//!
//! # Layout
//! - `decide`: the decision, a pure function of a pod and the nodes with the pods already on
//!   them: filters (readiness, cordons, resources, node selector and affinity, taints, pod
//!   anti-affinity on the hostname), then scores (least allocated, preferred affinity, spread of
//!   one owner's pods). No I/O, no clock; tested by table.
//! - `queue`: the pods waiting in one pass and the nodes' current load, from the caches.
//! - `bind`: the writes (bindings, PodScheduled=False, FailedScheduling events).
//! - `run`: the loop: watch caches, and passes while this replica holds the scheduler Lease
//!   (`skiff-election`).
//!
//! **Architecture Invariant:** this crate talks to the cluster only through the Kubernetes API
//! (kube-rs); it does not depend on the store or replica crates, as kube-scheduler does not
//! talk to etcd.

mod bind;
pub mod decide;
mod queue;
mod run;

pub use queue::DEFAULT_SCHEDULER;
pub use run::{RunError, run};
