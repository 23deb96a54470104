//! A worker started for a pod that already ran on this node (the agent restarted): its
//! containers' restart counts continue from the pod's last written status, as the kubelet's
//! continue from the containers the runtime still lists. A container that had run (it was
//! running when the agent died, or had exited) counts its next start as a restart.

use super::slot::Slot;
use crate::status::ContainerFacts;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

/// Seeds `slots` (runs so far) and `facts` (restart counts) of the app containers from the
/// container statuses `pod` carries.
pub(super) fn continue_restart_counts(pod: &Pod, slots: &mut [Slot], facts: &mut [ContainerFacts]) {
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    for (slot, fact) in slots.iter_mut().zip(facts.iter_mut()) {
        let Some(status) = statuses.iter().find(|s| s.name == fact.name) else {
            continue;
        };
        let runs = runs_so_far(status);
        slot.starts = runs;
        fact.restart_count = (runs - 1).max(0);
    }
}

/// How many runs the status shows: the restart count plus the run it last had, if any.
fn runs_so_far(status: &ContainerStatus) -> i32 {
    let state = status.state.as_ref();
    let ran = state.is_some_and(|s| s.running.is_some() || s.terminated.is_some())
        || status
            .last_state
            .as_ref()
            .is_some_and(|s| s.terminated.is_some())
        || status.restart_count > 0;
    if ran {
        status.restart_count.saturating_add(1)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn runs_count_the_last_run_whatever_stopped_it() {
        // (status JSON, runs so far): the next start's restartCount is this value.
        let table = [
            (
                json!({"restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}),
                0,
            ),
            (json!({"restartCount": 0, "state": {"running": {}}}), 1),
            (json!({"restartCount": 4, "state": {"running": {}}}), 5),
            (
                json!({"restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"exitCode": 1}}}),
                3,
            ),
            (
                json!({"restartCount": 0, "state": {"terminated": {"exitCode": 0}}}),
                1,
            ),
        ];
        for (mut status, want) in table {
            status["name"] = json!("c");
            status["image"] = json!("i");
            status["imageID"] = json!("");
            status["ready"] = json!(false);
            let status: ContainerStatus = serde_json::from_value(status.clone()).unwrap();
            assert_eq!(runs_so_far(&status), want, "{status:?}");
        }
    }
}
