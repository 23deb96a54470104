//! The Pod `status` the kubelet writes, from what the runtime reports and what the pod
//! worker knows (restart counts, back-off, pull and create errors, probe results): phase,
//! conditions, IPs, start time and one status per init and app container. Pure: `now` and
//! the previous status (for condition transition times) are passed in.
//!
//! `imageID` is containerd's choice: `repository@sha256:<hex>` for a registry image (what
//! `docker-pullable://` carried under dockershim, without the scheme) and the bare
//! `sha256:<hex>` digest of the Wasm bytes for a local file, which has no repository.

mod conditions;
mod containers;

pub use containers::image_id;

use skiff_api::k8s_openapi::api::core::v1::{HostIP, Pod, PodIP, PodStatus};
use skiff_runtime_wasm::spec::{ContainerState, ContainerStatus, TerminationReason};
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

/// Everything known about a pod at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodSnapshot {
    /// Set once the sandbox exists.
    pub pod_ip: Option<IpAddr>,
    pub host_ip: Option<IpAddr>,
    /// When the agent accepted the pod.
    pub start_time: Option<SystemTime>,
    pub init_containers: Vec<ContainerFacts>,
    pub containers: Vec<ContainerFacts>,
    /// Set when the agent evicted the pod (an emptyDir over its `sizeLimit`): the message.
    /// The pod is then Failed with reason `Evicted`, for good.
    pub evicted: Option<String>,
}

/// One container, as the worker sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerFacts {
    pub name: String,
    /// The image as the spec names it.
    pub image: String,
    /// `sha256:<hex>` of the Wasm bytes, once pulled.
    pub image_digest: Option<String>,
    pub state: State,
    /// The previous run's end (`lastState`).
    pub last_termination: Option<Termination>,
    pub restart_count: i32,
    /// Readiness: running and the readiness probe (if any) passed.
    pub ready: bool,
    /// Running and the startup probe (if any) passed.
    pub started: bool,
}

impl ContainerFacts {
    /// A container that has not been created yet.
    pub fn new(name: impl Into<String>, image: impl Into<String>, waiting: Waiting) -> Self {
        ContainerFacts {
            name: name.into(),
            image: image.into(),
            image_digest: None,
            state: State::Waiting(waiting),
            last_termination: None,
            restart_count: 0,
            ready: false,
            started: false,
        }
    }
}

/// A container's current state.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Waiting(Waiting),
    Running { started_at: SystemTime },
    Terminated(Termination),
}

impl State {
    /// The state the runtime reports (`Created` is still ContainerCreating); `started_at`
    /// is when the worker started the run that terminated.
    pub fn from_runtime(status: &ContainerStatus, started_at: Option<SystemTime>) -> State {
        match &status.state {
            ContainerState::Created => State::Waiting(Waiting::ContainerCreating),
            ContainerState::Running { started_at } => State::Running {
                started_at: *started_at,
            },
            ContainerState::Terminated {
                reason,
                finished_at,
            } => State::Terminated(Termination {
                reason: reason.clone(),
                started_at,
                finished_at: *finished_at,
            }),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Termination {
    pub reason: TerminationReason,
    pub started_at: Option<SystemTime>,
    pub finished_at: SystemTime,
}

/// Why a container is not running, with the kubelet's reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waiting {
    ContainerCreating,
    /// Any container of a pod with init containers before it is created (the kubelet's
    /// default then); app containers stay so while the init containers run.
    PodInitializing,
    /// Restarting after a failure, once `delay` has passed.
    CrashLoopBackOff {
        delay: Duration,
    },
    ErrImagePull {
        message: String,
    },
    ImagePullBackOff {
        message: String,
    },
    CreateContainerError {
        message: String,
    },
    CreateContainerConfigError {
        message: String,
    },
}

/// The pod's `status.reason` after an eviction (the kubelet's `Evicted`).
pub const EVICTED: &str = "Evicted";

/// The Pod status for `snapshot`.
pub fn pod_status(
    pod: &Pod,
    snapshot: &PodSnapshot,
    previous: Option<&PodStatus>,
    now: SystemTime,
) -> PodStatus {
    let phase = phase(pod, snapshot);
    let ip_text = |ip: Option<IpAddr>| ip.map(|ip| ip.to_string());
    PodStatus {
        phase: Some(phase.to_owned()),
        conditions: Some(conditions::conditions(snapshot, phase, previous, now)),
        pod_ip: ip_text(snapshot.pod_ip),
        pod_ips: snapshot.pod_ip.map(|ip| vec![PodIP { ip: ip.to_string() }]),
        host_ip: ip_text(snapshot.host_ip),
        host_ips: snapshot
            .host_ip
            .map(|ip| vec![HostIP { ip: ip.to_string() }]),
        start_time: snapshot.start_time.map(crate::kube_time::to_kube),
        init_container_statuses: containers::statuses(pod, &snapshot.init_containers),
        container_statuses: containers::statuses(pod, &snapshot.containers),
        qos_class: Some(containers::qos_class(pod).to_owned()),
        reason: snapshot.evicted.as_ref().map(|_| EVICTED.to_owned()),
        message: snapshot.evicted.clone(),
        ..PodStatus::default()
    }
}

fn restart_policy(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always")
}

fn succeeded(t: &Termination) -> bool {
    t.reason == TerminationReason::Exited { code: 0 }
}

/// The kubelet's `getPhase`: Pending while initializing or waiting, Running while any
/// container runs or will restart, else Succeeded or Failed.
pub fn phase(pod: &Pod, snapshot: &PodSnapshot) -> &'static str {
    if snapshot.evicted.is_some() {
        return "Failed";
    }
    let policy = restart_policy(pod);
    for init in &snapshot.init_containers {
        match &init.state {
            State::Terminated(t) if succeeded(t) => continue,
            State::Terminated(_) if policy == "Never" => return "Failed",
            _ => return "Pending",
        }
    }
    let (mut running, mut waiting, mut stopped, mut ok) = (0, 0, 0, 0);
    for c in &snapshot.containers {
        match &c.state {
            State::Running { .. } => running += 1,
            State::Terminated(t) => {
                stopped += 1;
                ok += usize::from(succeeded(t));
            }
            State::Waiting(_) if c.last_termination.is_some() => {
                stopped += 1;
                ok += usize::from(c.last_termination.as_ref().is_some_and(succeeded));
            }
            State::Waiting(_) => waiting += 1,
        }
    }
    if waiting > 0 || snapshot.containers.is_empty() {
        "Pending"
    } else if running > 0 || policy == "Always" {
        // Running, or every container is about to restart.
        "Running"
    } else if stopped == ok {
        "Succeeded"
    } else if policy == "Never" {
        "Failed"
    } else {
        "Running"
    }
}

#[cfg(test)]
mod tests;
