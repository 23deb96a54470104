//! skiff's controller manager, kube-controller-manager's counterpart: it runs the decisions of
//! `skiff-controllers` as kube-runtime controllers and carries out their plans through the API.
//!
//! # Layout
//! - `run`: [`run`], the leadership loop: starts every controller while this replica holds the
//!   controller-manager Lease, cancels and awaits them the moment it does not.
//! - `context`: [`ManagerConfig`], the context of every reconcile (the shared caches of pods,
//!   ReplicaSets and Jobs, expectations, back-off, metrics).
//! - `term`: what one term of leadership starts: the shared caches and every controller, in
//!   one `JoinSet`.
//! - `metrics`: [`Metrics`], reconcile counts, errors, in-flight and retrying objects per
//!   controller, rendered in the Prometheus text format.
//! - `cache_ready`: whether a shared cache has listed once, for any number of waiting
//!   reconciles (kube-runtime's `Store::wait_until_ready` wakes only the last of them).
//! - `expectations`: kube-controller-manager's expectations: creations and deletions a
//!   ReplicaSet waits to see in the pod cache before it decides again.
//! - `replicaset`, `replication_controller`, `deployment`, `daemonset`, `endpoints`,
//!   `node_lifecycle`, `job`, `cronjob`, `pod_cidr`, `disruption` (PodDisruptionBudget
//!   status): one controller each (ReplicationControllers
//!   and DaemonSets only when the API server's resource table serves them):
//!   `reconcile(Arc<K>, Arc<Ctx>) -> Result<Action, Error>` plus an `error_policy` with
//!   back-off; each executes its pure plan.
//! - `daemonset_history`: a DaemonSet's ControllerRevisions (`kubectl rollout history|undo ds`).
//! - `hpa`, `hpa_metrics`: the HorizontalPodAutoscaler controller and its `metrics.k8s.io`
//!   PodMetrics client.
//! - `scale_to_zero`: Deployments annotated `skiff.io/scale-to-zero-idle` scaled to 0 when
//!   their Services saw no connection (reported by the node proxies on the Nodes) for that
//!   long; marks the Services the node proxies wake them through.
//! - `gc`: the garbage collector: a cache and a controller per served kind, the graph of
//!   ownerReferences, Background/Foreground/Orphan propagation.
//! - `events`: core/v1 Events, once per object, reason and message.
//! - `event_ttl`: the sweep deleting Events an hour (`--event-ttl`) after their last write.
//! - `root_ca`: the `kube-root-ca.crt` ConfigMap per namespace (kube's root-ca-cert-publisher).
//! - `serviceaccounts`: a `default` ServiceAccount per namespace, a token Secret per
//!   ServiceAccount, tokens filled into token Secrets made by others.
//! - `job_orphans`: the tracking finalizer removed from pods whose Job is gone.
//! - `pods`: creating and deleting a controller's pods, removing a finalizer.
//! - `owners`: adopting and releasing children (a merge patch of `ownerReferences`).
//! - `error`: [`ManagerError`] (the manager as a whole) and [`Error`] (one reconcile).
//!
//! **Architecture Invariant:** talks to the cluster only through the Kubernetes API; depends on
//! no store/replica/apiserver crate (only `skiff-controllers`, `skiff-api`, kube-rs).

mod cache_ready;
mod context;
mod cronjob;
mod daemonset;
mod daemonset_history;
mod deployment;
mod disruption;
mod endpoints;
mod error;
mod event_ttl;
mod events;
mod expectations;
mod gc;
mod hpa;
mod hpa_metrics;
mod job;
mod job_orphans;
mod metrics;
mod node_lifecycle;
mod owners;
mod pod_cidr;
mod pods;
mod replicaset;
mod replication_controller;
mod root_ca;
mod run;
mod scale_to_zero;
mod serviceaccounts;
mod term;

pub use context::ManagerConfig;
pub use error::{Error, ManagerError};
pub use metrics::{ControllerCounts, Metrics};
pub use run::run;
