//! A Kubernetes Pod to what runtime-wasm runs: the sandbox, one [`ContainerSpec`] per init
//! and app container (argv, env, mounts, limits, ports), and the volume directories and
//! files to write. Pure: the ConfigMaps and Secrets the pod references and the node facts
//! the downward API needs are passed in.
//!
//! `command` and `args`: a Wasm component has one entry point and its image carries no
//! ENTRYPOINT or CMD list, so both are empty, and Kubernetes' rule (command replaces the
//! entrypoint, args replace the command's arguments) gives `command ++ args`. The runtime
//! sets argv[0] to the container name, so guests see `[name, command.., args..]`; both are
//! `$(VAR)`-expanded with the container's environment, as Kubernetes does.

mod env;
mod errors;
mod expand;
mod fields;
mod probes;
mod projected;
mod pull_secrets;
mod quantity;
mod volumes;

pub use errors::{CONFIG_ERROR_REASON, CREATE_ERROR_REASON, ConfigError, PlanError, Unsupported};
pub use expand::expand;
pub use probes::{ProbeAction, ProbeKind, ProbeSpec};
pub use projected::token_key;
pub use quantity::parse_milli;
pub use volumes::{disk_volumes_dir, in_memory, volume_dir};

use skiff_api::k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Probe, Secret};
use skiff_runtime_wasm::spec::{ContainerSpec, Limits, PodSpec, PortSpec};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// The ConfigMaps and Secrets of the pod's namespace that it references, by name, and the
/// ServiceAccount tokens its projected volumes ask for, by [`token_key`].
#[derive(Debug, Clone, Default)]
pub struct References {
    /// Shared with the node's other pods that reference the same object (`ref_cache.rs`).
    pub config_maps: BTreeMap<String, Arc<ConfigMap>>,
    pub secrets: BTreeMap<String, Arc<Secret>>,
    pub tokens: BTreeMap<String, IssuedToken>,
}

/// A bound ServiceAccount token the node obtained through TokenRequest for the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    /// When to ask for a new one: at 80% of its life, as the kubelet's token manager does.
    pub refresh_at: tokio::time::Instant,
}

/// What the node knows about the pod that the Pod object does not say.
#[derive(Debug, Clone)]
pub struct PodFacts {
    /// The runtime sandbox key (the pod UID, or `namespace_name` without one).
    pub sandbox_id: String,
    pub namespace: String,
    pub node_name: String,
    pub pod_ip: IpAddr,
    pub host_ip: IpAddr,
    /// The pod's host directory on disk: the containers' `<name>.log` and default emptyDir
    /// volumes (`volumes/<name>`) live in it.
    pub pod_dir: PathBuf,
    /// The directory of the volumes kept in memory (Secret, ConfigMap, projected,
    /// downwardAPI, `emptyDir` of medium Memory), one `<name>` each: `<tmpfs root>/<sandbox
    /// id>`, or `<pod_dir>/volumes` when the node has no tmpfs root.
    pub memory_volumes_dir: PathBuf,
    /// Node allocatable cpu and memory: the downward API's value for an unset limit.
    pub node_cpu_millis: u64,
    pub node_memory_bytes: u64,
}

/// A file the worker writes before the containers start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    pub path: PathBuf,
    pub contents: Vec<u8>,
}

/// The pod's volume directories and the files in them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeFiles {
    pub dirs: Vec<PathBuf>,
    pub files: Vec<PlannedFile>,
}

/// One container: its runtime spec, or why it cannot be created.
#[derive(Debug, Clone)]
pub struct ContainerPlan {
    pub name: String,
    pub image: String,
    pub spec: Result<ContainerSpec, PlanError>,
    /// The httpGet and tcpSocket probes the agent runs.
    pub probes: Vec<ProbeSpec>,
    /// Probes skipped because Wasm cannot run them (exec, grpc): the agent reports each
    /// as a Warning event; the container runs without that probe.
    pub skipped_probes: Vec<Unsupported>,
}

/// Everything needed to run a pod.
#[derive(Debug, Clone)]
pub struct PodPlan {
    pub sandbox: PodSpec,
    /// The volumes, or the reason they cannot be set up (the containers then wait in
    /// ContainerCreating, as Kubernetes' failed mounts do).
    pub volumes: Result<VolumeFiles, PlanError>,
    pub init_containers: Vec<ContainerPlan>,
    pub containers: Vec<ContainerPlan>,
}

/// Translates `pod` for this node.
pub fn plan_pod(pod: &Pod, refs: &References, facts: &PodFacts) -> PodPlan {
    let spec = pod.spec.clone().unwrap_or_default();
    let plan = |c: &Container| container_plan(pod, c, refs, facts);
    PodPlan {
        sandbox: PodSpec {
            id: facts.sandbox_id.clone(),
            ip: facts.pod_ip,
            name: pod.metadata.name.clone().unwrap_or_default(),
            namespace: facts.namespace.clone(),
            log_dir: facts.pod_dir.clone(),
        },
        volumes: volumes::plan_volumes(pod, refs, facts),
        init_containers: spec.init_containers.iter().flatten().map(plan).collect(),
        containers: spec.containers.iter().map(plan).collect(),
    }
}

fn container_plan(pod: &Pod, c: &Container, refs: &References, facts: &PodFacts) -> ContainerPlan {
    ContainerPlan {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        spec: container_spec(pod, c, refs, facts),
        probes: probes::probes(c),
        skipped_probes: skipped_probes(c),
    }
}

/// The runtime spec of one container.
pub fn container_spec(
    pod: &Pod,
    c: &Container,
    refs: &References,
    facts: &PodFacts,
) -> Result<ContainerSpec, PlanError> {
    let env = env::container_env(pod, c, refs, facts)?;
    let expand_all = |list: &Option<Vec<String>>| -> Vec<String> {
        list.iter()
            .flatten()
            .map(|a| expand(a, |name| env.get(name).cloned()))
            .collect()
    };
    let mut args = expand_all(&c.command);
    args.extend(expand_all(&c.args));
    let mut spec = ContainerSpec::new(c.name.clone(), c.image.clone().unwrap_or_default());
    spec.args = args;
    spec.volumes = volumes::mounts(pod, c, facts)?;
    spec.limits = limits(c)?;
    spec.ports = ports(c)?;
    spec.env = env;
    spec.pull_auth = pull_secrets::pull_auth(pod, &spec.image, refs);
    Ok(spec)
}

/// `limits.memory` and `limits.cpu`.
fn limits(c: &Container) -> Result<Limits, ConfigError> {
    let limits = c.resources.as_ref().and_then(|r| r.limits.as_ref());
    let milli = |name: &str| -> Result<Option<i128>, ConfigError> {
        match limits.and_then(|l| l.get(name)) {
            Some(q) => parse_milli(&q.0)
                .filter(|v| *v >= 0)
                .map(Some)
                .ok_or_else(|| ConfigError::Quantity(q.0.clone())),
            None => Ok(None),
        }
    };
    let memory_bytes =
        milli("memory")?.map(|m| u64::try_from((m + 999) / 1000).unwrap_or(u64::MAX));
    let cpu_millicores = milli("cpu")?.map(|m| u32::try_from(m.max(1)).unwrap_or(u32::MAX));
    Ok(Limits {
        memory_bytes,
        cpu_millicores,
    })
}

fn ports(c: &Container) -> Result<Vec<PortSpec>, Unsupported> {
    c.ports
        .iter()
        .flatten()
        .map(|p| {
            let port = u16::try_from(p.container_port).map_err(|_| Unsupported::Port {
                container: c.name.clone(),
                port: p.container_port,
            })?;
            Ok(PortSpec {
                container_port: port,
            })
        })
        .collect()
}

/// Probes with an action Wasm cannot run.
fn skipped_probes(c: &Container) -> Vec<Unsupported> {
    let probes: [(&'static str, &Option<Probe>); 3] = [
        ("startup", &c.startup_probe),
        ("liveness", &c.liveness_probe),
        ("readiness", &c.readiness_probe),
    ];
    let container = || c.name.clone();
    probes
        .into_iter()
        .filter_map(|(probe, p)| {
            let p = p.as_ref()?;
            if p.exec.is_some() {
                Some(Unsupported::ExecProbe {
                    container: container(),
                    probe,
                })
            } else if p.grpc.is_some() {
                Some(Unsupported::GrpcProbe {
                    container: container(),
                    probe,
                })
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
