//! The pod conditions the kubelet sets: PodScheduled, Initialized, ContainersReady and
//! Ready, each keeping its lastTransitionTime while its status does not change.

use super::{ContainerFacts, PodSnapshot, State, succeeded};
use crate::kube_time::to_kube;
use skiff_api::k8s_openapi::api::core::v1::{PodCondition, PodStatus};
use std::time::SystemTime;

/// One condition before the transition time is decided.
struct Cond {
    type_: &'static str,
    ok: bool,
    reason: Option<&'static str>,
    message: Option<String>,
}

pub fn conditions(
    snap: &PodSnapshot,
    phase: &str,
    previous: Option<&PodStatus>,
    now: SystemTime,
) -> Vec<PodCondition> {
    let completed = phase == "Succeeded" || phase == "Failed";
    let initialized = initialized(snap);
    let not_ready: Vec<&str> = snap
        .containers
        .iter()
        .filter(|c| !is_ready(c))
        .map(|c| c.name.as_str())
        .collect();
    let ready = |type_| {
        let (reason, message) = if not_ready.is_empty() {
            (None, None)
        } else if completed {
            (Some("PodCompleted"), None)
        } else {
            let names = not_ready.join(" ");
            (
                Some("ContainersNotReady"),
                Some(format!("containers with unready status: [{names}]")),
            )
        };
        Cond {
            type_,
            ok: not_ready.is_empty(),
            reason,
            message,
        }
    };
    let scheduled = Cond {
        type_: "PodScheduled",
        ok: true,
        reason: None,
        message: None,
    };
    let old = previous
        .and_then(|p| p.conditions.as_deref())
        .unwrap_or(&[]);
    // An evicted pod carries the kubelet's DisruptionTarget condition.
    let disruption = snap.evicted.as_ref().map(|message| Cond {
        type_: "DisruptionTarget",
        ok: true,
        reason: Some("TerminationByKubelet"),
        message: Some(message.clone()),
    });
    [
        initialized,
        ready("Ready"),
        ready("ContainersReady"),
        scheduled,
    ]
    .into_iter()
    .chain(disruption)
    .map(|c| finish(c, old, now))
    .collect()
}

/// Initialized: every init container succeeded.
fn initialized(snap: &PodSnapshot) -> Cond {
    let pending: Vec<&str> = snap
        .init_containers
        .iter()
        .filter(|c| !matches!(&c.state, State::Terminated(t) if succeeded(t)))
        .map(|c| c.name.as_str())
        .collect();
    let done = pending.is_empty();
    Cond {
        type_: "Initialized",
        ok: done,
        reason: (!done).then_some("ContainersNotInitialized"),
        message: (!done)
            .then(|| format!("containers with incomplete status: [{}]", pending.join(" "))),
    }
}

fn is_ready(c: &ContainerFacts) -> bool {
    matches!(c.state, State::Running { .. }) && c.ready
}

fn finish(c: Cond, old: &[PodCondition], now: SystemTime) -> PodCondition {
    let status = if c.ok { "True" } else { "False" };
    let kept = old
        .iter()
        .find(|o| o.type_ == c.type_ && o.status == status)
        .and_then(|o| o.last_transition_time.clone());
    PodCondition {
        type_: c.type_.to_owned(),
        status: status.to_owned(),
        reason: c.reason.map(str::to_owned),
        message: c.message,
        last_transition_time: Some(kept.unwrap_or_else(|| to_kube(now))),
        ..PodCondition::default()
    }
}
