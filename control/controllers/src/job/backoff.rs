//! The delay before a Job replaces failed pods (`backoffRecord.getRemainingTime`): 10 s
//! doubled for each failure since the last success, at most 10 minutes, counted from the
//! last failure.

use k8s_openapi::api::core::v1::Pod;

use crate::common::{is_pod_failed, is_pod_succeeded, secs};

/// `DefaultJobPodFailureBackOff`.
pub const BASE_SECS: i64 = 10;
/// `MaxJobPodFailureBackOff`.
pub const MAX_SECS: i64 = 600;

/// When the pod's containers finished (the latest `terminated.finishedAt`).
fn finished_at(pod: &Pod) -> Option<i64> {
    pod.status
        .as_ref()?
        .container_statuses
        .iter()
        .flatten()
        .filter_map(|c| {
            c.state
                .as_ref()?
                .terminated
                .as_ref()?
                .finished_at
                .as_ref()
                .map(secs)
        })
        .max()
}

/// Seconds to wait before creating pods again at `now`, if any. Only pods still listed are
/// seen: a failed pod deleted by someone else no longer delays.
pub fn remaining(pods: &[&Pod], now: i64) -> Option<i64> {
    let last_success = pods
        .iter()
        .filter(|p| is_pod_succeeded(p))
        .filter_map(|p| finished_at(p))
        .max();
    let failures: Vec<i64> = pods
        .iter()
        .filter(|p| is_pod_failed(p))
        .filter_map(|p| finished_at(p))
        .filter(|t| last_success.is_none_or(|s| *t > s))
        .collect();
    let last = *failures.iter().max()?;
    let exponent = u32::try_from(failures.len() - 1)
        .unwrap_or(u32::MAX)
        .min(16);
    let delay = (BASE_SECS << exponent).min(MAX_SECS);
    let left = last + delay - now;
    (left > 0).then_some(left)
}
