//! What the agent is given ([`AgentOptions`], with Kubernetes' timings by default, and how it
//! gets its credential, [`Access`]) and why it stops ([`AgentError`]).

use crate::api::CallError;
use crate::backoff::BackoffPolicy;
use crate::client::ClientError;
use crate::credential::{Credential, CredentialError};
use crate::join::JoinError;
use crate::pods::ips::{CidrError, DEFAULT_POD_CIDR};
use skiff_overlay::OverlayError;
use skiff_runtime_wasm::RuntimeError;
use std::path::PathBuf;
use std::time::Duration;

/// How the agent gets its credential when `<data-dir>/credential.json` does not exist.
#[derive(Debug, Clone)]
pub enum Access {
    /// Join the cluster at `server` with a join token (`K10...::node:...`); the answer is
    /// saved in the data directory.
    Join { server: String, token: String },
    /// A credential the caller already has (`skiff up`'s server hands one in-process);
    /// used as is, ahead of any saved file, and not written to disk.
    Credential(Credential),
}

/// Everything `run` needs.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// Holds `credential.json`, `pods/` (logs, disk volumes), `runtime/` (image and code
    /// caches) and `volumes-dir` (where the memory volumes are, see `crate::volume_root`).
    pub data_dir: PathBuf,
    pub node_name: String,
    /// Used when there is no saved credential (or always, for `Access::Credential`).
    pub access: Option<Access>,
    /// The Lease is renewed this often and lasts four times as long (kubelet: 10 s).
    pub lease_period: Duration,
    /// The Node status is written this often when nothing changes (kubelet: 1 min).
    pub node_status_period: Duration,
    /// Pod IPs come from this CIDR while the Node has no `spec.podCIDR`.
    pub default_pod_cidr: String,
    /// The address the Node reports; default: the local address towards the server.
    pub node_ip: Option<std::net::IpAddr>,
    /// Crash-loop and image-pull back-off (Kubernetes: 10 s doubling to 5 min).
    pub crash_backoff: BackoffPolicy,
    pub pull_backoff: BackoffPolicy,
    /// How long ErrImagePull or CreateContainerError shows before its back-off reason.
    pub error_hold: Duration,
    /// Referenced ConfigMaps and Secrets: read again this often, and this soon while one is missing.
    pub refs_resync: Duration,
    pub refs_retry: Duration,
    /// Pod events posted a second and the burst above that (kubelet: 50 and 100).
    pub event_rate: crate::pods::event_rate::EventRate,
    /// Resource metrics are sampled this often; CPU is the average over one period.
    pub metrics_period: Duration,
    /// wasmtime's pooling allocator with this many instance slots (dense nodes: an on-demand
    /// instance takes about 7 memory mappings, so `vm.max_map_count` caps a node near 9,000
    /// pods); `None`: on-demand allocation.
    pub pooling_instances: Option<u32>,
    /// The pod capacity the Node reports (the kubelet's `--max-pods`).
    pub max_pods: u32,
    /// Container log rotation (the kubelet's `containerLogMaxSize` and
    /// `containerLogMaxFiles`: a log is rotated at `max_file_bytes`, and `max_rotated` older
    /// files are kept beside the current one).
    pub container_logs: skiff_runtime_wasm::logs::LogConfig,
    /// The port of the overlay's tunnel listener on the node's address (0: any free port);
    /// published on the Node as `skiff.io/overlay-port`.
    pub overlay_port: u16,
    /// The root of the volumes kept in memory (`--volumes-dir`); `None`: a directory under
    /// `/dev/shm` when fit, else on disk (`crate::volume_root::choose`).
    pub volumes_dir: Option<PathBuf>,
    /// A replica in this process (`skiff up`): requests to its URL go over in-process
    /// connections instead of HTTPS.
    pub in_process: Option<crate::client::InProcessApi>,
}

impl AgentOptions {
    /// Kubernetes' timings for node `node_name` with data in `data_dir`.
    pub fn new(
        data_dir: impl Into<PathBuf>,
        node_name: impl Into<String>,
        access: Option<Access>,
    ) -> AgentOptions {
        AgentOptions {
            data_dir: data_dir.into(),
            node_name: node_name.into(),
            access,
            lease_period: Duration::from_secs(10),
            node_status_period: Duration::from_secs(60),
            default_pod_cidr: DEFAULT_POD_CIDR.into(),
            node_ip: None,
            crash_backoff: BackoffPolicy::default(),
            pull_backoff: BackoffPolicy::default(),
            error_hold: Duration::from_secs(1),
            refs_resync: Duration::from_secs(60),
            pooling_instances: None,
            max_pods: crate::node_object::DEFAULT_MAX_PODS,
            container_logs: skiff_runtime_wasm::logs::LogConfig::default(),
            overlay_port: 0,
            volumes_dir: None,
            in_process: None,
            refs_retry: Duration::from_secs(2),
            event_rate: crate::pods::event_rate::EventRate::KUBELET,
            metrics_period: crate::metrics::sampler::DEFAULT_PERIOD,
        }
    }
}

/// Why the agent stopped (or could not start).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("joining the cluster: {0}")]
    Join(#[from] JoinError),
    #[error(transparent)]
    VolumesDir(#[from] crate::volume_root::VolumeRootError),
    #[error(transparent)]
    Credential(#[from] CredentialError),
    #[error(
        "no node credential in {0} and no join token: pass --server and --token (the server's <data-dir>/agent-token)"
    )]
    NoCredential(PathBuf),
    #[error(
        "{path} belongs to node {saved:?}, not {wanted:?}: use --name {saved}, or another --data-dir"
    )]
    OtherNode {
        path: PathBuf,
        saved: String,
        wanted: String,
    },
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Cidr(#[from] CidrError),
    #[error("starting the Wasm runtime: {0}")]
    Runtime(#[from] RuntimeError),
    #[error("the API server refused this node's credential: {0}")]
    Refused(#[source] CallError),
    #[error("the pod network: {0}")]
    Overlay(#[from] OverlayError),
}
