//! The DaemonSet's status (`updateDaemonSetStatus`): per node that should run a pod, whether
//! one is there, and whether the oldest is ready, available and of the current revision;
//! pods on nodes that should not run one are misscheduled.

use k8s_openapi::api::apps::v1::DaemonSetStatus;

use super::{Sync, revision_of};
use crate::common::{is_pod_available, is_pod_ready};

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub(super) fn compute(sync: &Sync) -> DaemonSetStatus {
    let min_ready = sync
        .ds
        .spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0);
    let (mut desired, mut scheduled, mut misscheduled) = (0, 0, 0);
    let (mut ready, mut available, mut updated) = (0, 0, 0);
    for (node, fit) in &sync.nodes {
        let name = node.metadata.name.clone().unwrap_or_default();
        let oldest = sync.by_node.get(&name).and_then(|pods| pods.first());
        match (fit.should_run, oldest) {
            (true, None) => desired += 1,
            (true, Some(pod)) => {
                desired += 1;
                scheduled += 1;
                if is_pod_ready(pod) {
                    ready += 1;
                    available += usize::from(is_pod_available(pod, min_ready, sync.now));
                }
                updated += usize::from(revision_of(pod) == Some(sync.hash.as_str()));
            }
            (false, Some(_)) => misscheduled += 1,
            (false, None) => {}
        }
    }
    let old = sync.ds.status.clone().unwrap_or_default();
    DaemonSetStatus {
        desired_number_scheduled: count(desired),
        current_number_scheduled: count(scheduled),
        number_misscheduled: count(misscheduled),
        number_ready: count(ready),
        number_available: Some(count(available)),
        number_unavailable: Some(count(desired - available)),
        updated_number_scheduled: Some(count(updated)),
        observed_generation: sync.ds.metadata.generation,
        collision_count: old.collision_count,
        conditions: old.conditions,
    }
}
