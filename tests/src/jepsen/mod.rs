//! A Jepsen-style linearizability test kit: clients record a [`History`] of ops on registers
//! while a [`Nemesis`] kills and pauses replicas; afterwards the history is checked for
//! linearizability per key and the replicas' change logs are compared with each other and with
//! the history.
//!
//! # Layout
//! - `history`: the shared recorder ([`History`], [`Process`]): invocations, completions
//!   (ok / definite fail / indeterminate), monotonic timestamps.
//! - `model`: the register model (unique values; read, write, compare-and-set).
//! - `linear_prep`, `linearizable`: the Wing & Gong search with Lowe's memoisation, per key,
//!   with a budget ([`check`]).
//! - `changelog`: each replica's full change log, compared across replicas and with the
//!   history.
//! - `nemesis`: seeded process faults on a three-replica cluster.
//! - `workload`: the `/kv/v1` clients; `kube_workload`: the same register over ConfigMaps.

pub mod changelog;
pub mod history;
pub mod kube_workload;
pub mod linear_prep;
pub mod linearizable;
pub mod model;
pub mod nemesis;
pub mod workload;

#[cfg(test)]
mod checker_tests;

pub use history::{Entry, History, Outcome, Process, Returned};
pub use linearizable::{Budget, CheckError, KeyStats, check};
pub use model::Op;
pub use nemesis::{Fault, Mix, Nemesis};
pub use workload::Workload;

use std::collections::BTreeMap;

/// Ops by kind and outcome, e.g. `read ok 1200, write info 3, ...`, on one line.
pub fn op_summary(entries: &[Entry]) -> String {
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for e in entries {
        let kind = match e.op {
            Op::Read => "read",
            Op::Write { .. } => "write",
            Op::Cas { .. } => "cas",
        };
        let outcome = match e.outcome {
            Some(Outcome::Ok(_)) => "ok",
            Some(Outcome::Fail(_)) => "fail",
            Some(Outcome::Info(_)) | None => "info",
        };
        *counts.entry((kind, outcome)).or_default() += 1;
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|((k, o), n)| format!("{k} {o} {n}"))
        .collect();
    format!("{} ops: {}", entries.len(), parts.join(", "))
}

/// The search's work over all keys, on one line.
pub fn check_summary(stats: &[KeyStats]) -> String {
    let parts: Vec<String> = stats
        .iter()
        .map(|s| {
            format!(
                "{}: {} ops, {} steps, {} configurations cached, {:.1?}",
                s.key, s.ops, s.steps, s.cached, s.elapsed
            )
        })
        .collect();
    parts.join("; ")
}
