//! Counting finished pods exactly once (kube's `trackJobStatusAndRemoveFinalizers`): a pod
//! that finished while carrying the tracking finalizer is first recorded by uid in
//! `status.uncountedTerminatedPods`; once that status is written its finalizer is removed;
//! a recorded uid whose pod no longer carries the finalizer (or is gone) then moves into
//! `succeeded`/`failed`. A crash, or a pod cache behind the Job cache, between any two
//! steps repeats a step, never a count.

use std::collections::BTreeSet;

use k8s_openapi::api::batch::v1::{JobStatus, UncountedTerminatedPods};
use k8s_openapi::api::core::v1::Pod;

use super::TRACKING_FINALIZER;
use crate::common::{is_pod_failed, is_pod_succeeded, is_terminating};

fn tracked(p: &Pod) -> bool {
    p.metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == TRACKING_FINALIZER)
}

/// A finished pod: succeeded, failed, or deleted before it succeeded (counted as failed).
fn outcome(p: &Pod) -> Option<bool> {
    if is_pod_succeeded(p) {
        Some(true)
    } else if is_pod_failed(p) || is_terminating(&p.metadata) {
        Some(false)
    } else {
        None
    }
}

/// Advances the protocol one step for the Job's pods `owned`, updating `status`; returns
/// the names of the pods whose finalizer to remove once `status` is written.
pub(super) fn track_finished(owned: &[&Pod], status: &mut JobStatus) -> Vec<String> {
    let uncounted = status.uncounted_terminated_pods.take().unwrap_or_default();
    let mut succeeded: BTreeSet<String> = uncounted.succeeded.into_iter().flatten().collect();
    let mut failed: BTreeSet<String> = uncounted.failed.into_iter().flatten().collect();
    let still_tracked: BTreeSet<&str> = owned
        .iter()
        .filter(|p| tracked(p))
        .filter_map(|p| p.metadata.uid.as_deref())
        .collect();
    // Recorded pods whose finalizer is gone are counted now.
    for (set, counter) in [
        (&mut succeeded, &mut status.succeeded),
        (&mut failed, &mut status.failed),
    ] {
        let before = set.len();
        set.retain(|uid| still_tracked.contains(uid.as_str()));
        let moved = i32::try_from(before - set.len()).unwrap_or(i32::MAX);
        if moved > 0 {
            *counter = Some(counter.unwrap_or(0).saturating_add(moved));
        }
    }
    let mut remove = Vec::new();
    for p in owned.iter().filter(|p| tracked(p)) {
        let (Some(uid), Some(ok)) = (p.metadata.uid.clone(), outcome(p)) else {
            continue;
        };
        if !failed.contains(&uid) {
            if ok {
                succeeded.insert(uid);
            } else if !succeeded.contains(&uid) {
                failed.insert(uid);
            }
        }
        remove.push(p.metadata.name.clone().unwrap_or_default());
    }
    if !succeeded.is_empty() || !failed.is_empty() {
        status.uncounted_terminated_pods = Some(UncountedTerminatedPods {
            succeeded: Some(succeeded.into_iter().collect()),
            failed: Some(failed.into_iter().collect()),
        });
    }
    remove
}

/// Succeeded and failed pods, counted or recorded.
pub(super) fn totals(status: &JobStatus) -> (i32, i32) {
    let u = status.uncounted_terminated_pods.as_ref();
    let len = |v: Option<&Vec<String>>| i32::try_from(v.map_or(0, Vec::len)).unwrap_or(i32::MAX);
    (
        status
            .succeeded
            .unwrap_or(0)
            .saturating_add(len(u.and_then(|u| u.succeeded.as_ref()))),
        status
            .failed
            .unwrap_or(0)
            .saturating_add(len(u.and_then(|u| u.failed.as_ref()))),
    )
}

/// Whether finished pods are recorded but not counted yet (the Job may not finish until
/// they are).
pub(super) fn pending(status: &JobStatus) -> bool {
    status.uncounted_terminated_pods.is_some()
}
