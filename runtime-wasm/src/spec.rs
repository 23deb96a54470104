//! The runtime's API types: what to run (pods, containers, limits) and what happened (status).
//!
//! Plain structs on purpose: the node agent translates Kubernetes pods into these.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// A pod sandbox: the shared network identity of its containers.
#[derive(Debug, Clone)]
pub struct PodSpec {
    /// Unique key of the sandbox on this node (e.g. the pod UID or `ns/name`).
    pub id: String,
    /// The pod's virtual IP (10.244.x.y); every container binds and connects as this address.
    pub ip: IpAddr,
    /// The pod's name (metric labels; the sandbox is found by `id`).
    pub name: String,
    /// Namespace, used for short-name resolution (`svc` -> `svc.<ns>`).
    pub namespace: String,
    /// Where this pod's container logs go (created if missing).
    pub log_dir: PathBuf,
}

/// How a container's component is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WorkloadKind {
    /// Decide from the binary: a core module is wasip1, a component exporting
    /// wasi:http/incoming-handler is HTTP, one exporting wasi:cli/run is a command.
    #[default]
    Auto,
    /// wasi:cli/run component: a server or a run-to-completion job.
    Command,
    /// wasi:http proxy component: one instance per request, served on the pod IP.
    Http,
    /// wasip1 core module (`_start`), for jobs.
    Wasip1,
}

/// A directory on the host preopened in the guest.
#[derive(Debug, Clone)]
pub struct VolumeMount {
    pub host_path: PathBuf,
    /// Path the guest sees (e.g. `/config`).
    pub guest_path: String,
    pub read_only: bool,
}

/// A port the container serves; for HTTP components the runtime listens on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSpec {
    pub container_port: u16,
}

/// Resource limits of one container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory + tables cap in bytes; `None` uses the runtime's default cap.
    pub memory_bytes: Option<u64>,
    /// CPU share in millicores (1000 = one core); `None` is unthrottled (still preemptible).
    pub cpu_millicores: Option<u32>,
}

/// One container of a pod.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub name: String,
    /// Image reference: `/path/x.wasm`, `file:///path/x.wasm` or `registry/repo:tag[@sha256:..]`.
    pub image: String,
    pub kind: WorkloadKind,
    /// argv[1..]; argv[0] is the container name.
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub volumes: Vec<VolumeMount>,
    pub limits: Limits,
    pub ports: Vec<PortSpec>,
    /// Credentials for the image's registry (from the pod's `imagePullSecrets`).
    pub pull_auth: Option<crate::image::OciAuth>,
}

impl ContainerSpec {
    /// A container with defaults: auto kind, no args, env, volumes, limits or ports.
    pub fn new(name: impl Into<String>, image: impl Into<String>) -> Self {
        ContainerSpec {
            name: name.into(),
            image: image.into(),
            kind: WorkloadKind::Auto,
            args: Vec::new(),
            env: BTreeMap::new(),
            volumes: Vec::new(),
            limits: Limits::default(),
            ports: Vec::new(),
            pull_auth: None,
        }
    }
}

/// Why a container stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminationReason {
    /// Returned from its entry point or called exit; `code` 0 is success. WASI 0.2 commands
    /// pass any code 0-255 with `wasi:cli/exit#exit-with-code` (0.2.12), or 0/1 with
    /// `exit`; wasip1 modules pass any code.
    Exited { code: i32 },
    /// Memory limit reached (a grow was refused).
    OutOfMemory,
    /// Wasm stack exhausted.
    StackOverflow,
    /// Stopped by the runtime (stop after the grace period, or removal).
    Interrupted,
    /// Any other trap, with wasmtime's description.
    Trap { message: String },
    /// Instantiation failed (e.g. a missing volume directory).
    StartFailed { message: String },
}

impl TerminationReason {
    /// The exit code a Kubernetes status would show (137 for OOM/kill, like Linux).
    pub fn exit_code(&self) -> i32 {
        match self {
            TerminationReason::Exited { code } => *code,
            TerminationReason::OutOfMemory | TerminationReason::Interrupted => 137,
            _ => 128,
        }
    }
}

/// Lifecycle state of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running {
        started_at: SystemTime,
    },
    Terminated {
        reason: TerminationReason,
        finished_at: SystemTime,
    },
}

/// What the runtime reports about a container.
#[derive(Debug, Clone)]
pub struct ContainerStatus {
    pub name: String,
    /// `sha256:<hex>` of the Wasm bytes that run.
    pub image_digest: String,
    pub state: ContainerState,
    /// Host path of the current log file (it appears with the container's first output;
    /// read it through `Runtime::logs`, which never shows a stale file left at this path).
    pub log_path: PathBuf,
}

/// Default grace period between a stop request and cancelling the guest.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);
