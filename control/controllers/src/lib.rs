//! skiff's controller manager decisions: what kube-controller-manager's controllers decide,
//! as pure functions from objects (k8s-openapi types) and `now` to a plan that a later I/O
//! layer (kube-rs controller loops) executes.
//!
//! # Layout
//! - [`replicaset`]: claim pods, create/delete to match replicas, deletion preference, status.
//! - [`replication_controller`]: the same for core/v1 ReplicationControllers.
//! - [`deployment`]: the new ReplicaSet (template hash, revision), RollingUpdate/Recreate
//!   steps, proportional scaling, history cleanup, Progressing/Available conditions.
//! - [`endpoints`]: the Endpoints and EndpointSlices of a Service from its selected pods.
//! - [`job`]: Job pods by completions/parallelism, backoffLimit, activeDeadlineSeconds, TTL.
//! - [`node_lifecycle`]: Ready=Unknown after the Lease grace period, taints, evictions.
//! - [`pod_cidr`]: one /24 of 10.244.0.0/16 per Node, stable, reused, exhaustion errors.
//! - [`cronjob`]: cron schedules in time zones, missed runs, concurrency policy, history.
//! - [`daemonset`]: one pod per eligible node (selectors, affinity, taints with the daemon
//!   tolerations), RollingUpdate with maxUnavailable or maxSurge, OnDelete, status.
//! - [`disruption`]: PodDisruptionBudget status (expected, healthy, allowed disruptions).
//! - [`hpa`]: HorizontalPodAutoscaler replicas from metrics.k8s.io usage, stabilization, status.
//! - [`scale_to_zero`]: an annotated Deployment scaled to 0 after its Services saw no
//!   connection for its idle time (the node proxies report connections and wake it).
//! - [`event_ttl`]: whether an Event has outlived `--event-ttl` (1 h) since its last write.
//! - [`gc`]: ownerReference garbage collection, Background/Foreground/Orphan propagation.
//! - `common`: pod state (active, ready, available), owner references, int-or-percent.
//! - `error`: [`Error`], what makes an object impossible to reconcile.
//! - `testutil`, `tidy` (tests only): fixtures; the house rules (`//!` openings, no
//!   `unwrap`/`expect` outside tests, reasons on `#[allow]`, file length).
//!
//! Every decision is idempotent: applying its plan and deciding again on the resulting
//! objects plans nothing new. Each module's tests are tables of inputs and expected plans.
//!
//! Entry points, one per controller: `replicaset::reconcile`,
//! `replication_controller::reconcile`, `deployment::reconcile`,
//! `endpoints::{reconcile_endpoints, reconcile_slices}`, `job::reconcile`,
//! `cronjob::reconcile`, `daemonset::reconcile`, `disruption::reconcile`, `hpa::reconcile`, `scale_to_zero::reconcile`, `node_lifecycle::reconcile`, `pod_cidr::plan_pod_cidrs`,
//! `gc::{decide_dependent, decide_owner}`, `event_ttl::expired`.
//!
//! **Architecture Invariant:** no I/O and no clock — callers pass `now`; this crate depends
//! on no store, replica, apiserver, kube-rs or networking crate (only `skiff-api`,
//! `k8s-openapi`, `serde_json`, `thiserror`, and `chrono`/`chrono-tz` for cron time zones).

pub mod common;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod disruption;
pub mod endpoints;
mod error;
pub mod event_ttl;
pub mod gc;
pub mod hpa;
pub mod job;
pub mod node_lifecycle;
pub mod pod_cidr;
pub mod replicaset;
pub mod replication_controller;
pub mod scale_to_zero;

#[cfg(test)]
mod testutil;
#[cfg(test)]
mod tidy;

pub use error::{Error, ScheduleProblem};
