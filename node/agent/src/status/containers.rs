//! Per-container statuses: state (waiting with the kubelet's reason and message, running,
//! terminated with Completed / Error / OOMKilled), lastState, restartCount, ready, started,
//! image and imageID.

use super::{ContainerFacts, State, Termination, Waiting};
use crate::kube_time::to_kube;
use skiff_api::k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, Pod,
};
use skiff_runtime_wasm::spec::TerminationReason;

/// `imageID` of `image` whose bytes have `digest` (see the module docs of `status`).
pub fn image_id(image: &str, digest: &str) -> String {
    if image.starts_with('/') || image.starts_with("file://") || image.ends_with(".wasm") {
        return digest.to_owned();
    }
    let name = image.split('@').next().unwrap_or(image);
    // Drop a tag: a ':' after the last '/' (a ':' before it is a registry port).
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let repository = match name[last_slash..].rfind(':') {
        Some(colon) => &name[..last_slash + colon],
        None => name,
    };
    format!("{repository}@{digest}")
}

/// Statuses of `facts` in order; `None` for an empty list (as the API omits it).
pub fn statuses(pod: &Pod, facts: &[ContainerFacts]) -> Option<Vec<ContainerStatus>> {
    if facts.is_empty() {
        return None;
    }
    Some(facts.iter().map(|f| status(pod, f)).collect())
}

fn status(pod: &Pod, f: &ContainerFacts) -> ContainerStatus {
    let sandbox = pod.metadata.uid.as_deref().unwrap_or_default();
    let running = matches!(f.state, State::Running { .. });
    ContainerStatus {
        name: f.name.clone(),
        image: f.image.clone(),
        image_id: f
            .image_digest
            .as_deref()
            .map(|d| image_id(&f.image, d))
            .unwrap_or_default(),
        container_id: f
            .image_digest
            .as_ref()
            .map(|_| format!("wasm://{sandbox}/{}", f.name)),
        state: Some(state(pod, f)),
        last_state: Some(
            f.last_termination
                .as_ref()
                .map(terminated)
                .unwrap_or_default(),
        ),
        restart_count: f.restart_count,
        ready: running && f.ready,
        started: Some(running && f.started),
        ..ContainerStatus::default()
    }
}

fn state(pod: &Pod, f: &ContainerFacts) -> ContainerState {
    match &f.state {
        State::Running { started_at } => ContainerState {
            running: Some(ContainerStateRunning {
                started_at: Some(to_kube(*started_at)),
            }),
            ..ContainerState::default()
        },
        State::Terminated(t) => terminated(t),
        State::Waiting(w) => {
            let (reason, message) = waiting(pod, &f.name, w);
            ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some(reason.to_owned()),
                    message,
                }),
                ..ContainerState::default()
            }
        }
    }
}

/// The waiting reason and message, worded as the kubelet words them.
fn waiting(pod: &Pod, container: &str, w: &Waiting) -> (&'static str, Option<String>) {
    match w {
        Waiting::ContainerCreating => ("ContainerCreating", None),
        Waiting::PodInitializing => ("PodInitializing", None),
        Waiting::CrashLoopBackOff { delay } => {
            let meta = &pod.metadata;
            let message = format!(
                "back-off {} restarting failed container={container} pod={}_{}({})",
                go_duration(*delay),
                meta.name.as_deref().unwrap_or_default(),
                meta.namespace.as_deref().unwrap_or("default"),
                meta.uid.as_deref().unwrap_or_default(),
            );
            ("CrashLoopBackOff", Some(message))
        }
        Waiting::ErrImagePull { message } => ("ErrImagePull", Some(message.clone())),
        Waiting::ImagePullBackOff { message } => ("ImagePullBackOff", Some(message.clone())),
        Waiting::CreateContainerError { message } => {
            ("CreateContainerError", Some(message.clone()))
        }
        Waiting::CreateContainerConfigError { message } => {
            ("CreateContainerConfigError", Some(message.clone()))
        }
    }
}

/// A duration as Go prints it (`10s`, `5m0s`, `1m20s`, `100ms`).
fn go_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let frac = d.subsec_millis();
    let s_text = if frac == 0 {
        format!("{s}s")
    } else {
        let digits = format!("{frac:03}");
        format!("{s}.{}s", digits.trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => s_text,
        (0, m) => format!("{m}m{s_text}"),
        (h, m) => format!("{h}h{m}m{s_text}"),
    }
}

fn terminated(t: &Termination) -> ContainerState {
    let (reason, message) = match &t.reason {
        TerminationReason::Exited { code: 0 } => ("Completed", None),
        TerminationReason::Exited { .. } => ("Error", None),
        TerminationReason::OutOfMemory => ("OOMKilled", None),
        TerminationReason::StackOverflow => ("Error", Some("wasm stack overflow".to_owned())),
        TerminationReason::Interrupted => ("Error", Some("stopped by the agent".to_owned())),
        TerminationReason::Trap { message } => ("Error", Some(message.clone())),
        TerminationReason::StartFailed { message } => ("StartError", Some(message.clone())),
    };
    ContainerState {
        terminated: Some(ContainerStateTerminated {
            exit_code: t.reason.exit_code(),
            reason: Some(reason.to_owned()),
            message,
            started_at: t.started_at.map(to_kube),
            finished_at: Some(to_kube(t.finished_at)),
            ..ContainerStateTerminated::default()
        }),
        ..ContainerState::default()
    }
}

/// The pod's QoS class from its containers' requests and limits.
pub fn qos_class(pod: &Pod) -> &'static str {
    let containers: Vec<_> = pod
        .spec
        .iter()
        .flat_map(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
        })
        .collect();
    let has = |c: &&skiff_api::k8s_openapi::api::core::v1::Container| {
        c.resources.as_ref().is_some_and(|r| {
            r.limits.as_ref().is_some_and(|l| !l.is_empty())
                || r.requests.as_ref().is_some_and(|q| !q.is_empty())
        })
    };
    let guaranteed = |c: &&skiff_api::k8s_openapi::api::core::v1::Container| {
        c.resources.as_ref().is_some_and(|r| {
            let limits = r.limits.clone().unwrap_or_default();
            let requests = r.requests.clone().unwrap_or_default();
            ["cpu", "memory"].iter().all(|k| {
                limits.contains_key(*k)
                    && requests.get(*k).is_none_or(|q| Some(q) == limits.get(*k))
            })
        })
    };
    if !containers.iter().any(has) {
        "BestEffort"
    } else if containers.iter().all(guaranteed) {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::{go_duration, image_id};
    use std::time::Duration;

    #[test]
    fn image_ids_and_go_durations() {
        let d = "sha256:abc";
        let table = [
            ("/opt/app.wasm", "sha256:abc"),
            ("file:///opt/app.wasm", "sha256:abc"),
            ("ghcr.io/acme/app:v1", "ghcr.io/acme/app@sha256:abc"),
            ("localhost:5000/app", "localhost:5000/app@sha256:abc"),
            (
                "localhost:5000/app:1.2@sha256:def",
                "localhost:5000/app@sha256:abc",
            ),
        ];
        for (image, want) in table {
            assert_eq!(image_id(image, d), want, "{image}");
        }
        let ms = Duration::from_millis;
        for (dur, want) in [
            (ms(10_000), "10s"),
            (ms(300_000), "5m0s"),
            (ms(80_000), "1m20s"),
            (ms(100), "100ms"),
            (ms(1_500), "1.5s"),
        ] {
            assert_eq!(go_duration(dur), want);
        }
    }
}
