//! Leader election on a `coordination.k8s.io/v1` Lease, as kube-scheduler and
//! kube-controller-manager elect their active instance (client-go's `leaderelection`): every
//! candidate reads the Lease; the holder renews it every `renew_every`; a candidate takes it
//! over once `renewTime + leaseDurationSeconds` has passed; every write carries the Lease's
//! `resourceVersion`, so of two candidates racing for it one gets 409 Conflict and stays a
//! follower.
//!
//! # Layout
//! - `decide`: what a candidate does with the Lease it read (pure; tested by table).
//! - `elector`: the loop that reads and writes the Lease through the API and publishes whether
//!   this candidate leads.
//!
//! A holder that cannot renew stops leading once `renew_deadline` has passed since its last
//! successful renewal, before the Lease expires for the others (`renew_deadline <
//! lease_duration`), so two holders never act at once as long as clocks advance at the same
//! rate. Losing a renewal race stops it at once.
//!
//! **Architecture Invariant:** talks to the cluster only through the Kubernetes API (kube-rs).

mod decide;
mod elector;

pub use decide::{Step, decide};
pub use elector::{Elector, ElectorConfig};
