//! skiff's controller manager, kube-controller-manager's counterpart: it runs the decisions of
//! `skiff-controllers` as kube-runtime controllers and carries out their plans through the API.
//!
//! # Layout
//! - `run`: [`run`], the leadership loop: starts every controller while this replica holds the
//!   controller-manager Lease, cancels and awaits them the moment it does not.
//! - `context`: [`ManagerConfig`], the shared caches (pods, ReplicaSets) and what one term of
//!   leadership starts (the reflectors and the controllers, owned by one `JoinSet`).
//! - `cache_ready`: whether a shared cache has listed once, for any number of waiting
//!   reconciles (kube-runtime's `Store::wait_until_ready` wakes only the last of them).
//! - `expectations`: kube-controller-manager's expectations: creations and deletions a
//!   ReplicaSet waits to see in the pod cache before it decides again.
//! - `replicaset`, `deployment`, `endpoints`, `node_lifecycle`: one controller each:
//!   `reconcile(Arc<K>, Arc<Ctx>) -> Result<Action, Error>` plus an `error_policy` with
//!   back-off; each executes its pure plan.
//! - `owners`: adopting and releasing children (a merge patch of `ownerReferences`).
//! - `error`: [`ManagerError`] (the manager as a whole) and [`Error`] (one reconcile).
//!
//! **Architecture Invariant:** talks to the cluster only through the Kubernetes API; depends on
//! no store/replica/apiserver crate (only `skiff-controllers`, `skiff-api`, kube-rs).

mod cache_ready;
mod context;
mod deployment;
mod endpoints;
mod error;
mod expectations;
mod node_lifecycle;
mod owners;
mod replicaset;
mod run;

pub use context::ManagerConfig;
pub use error::{Error, ManagerError};
pub use run::run;
