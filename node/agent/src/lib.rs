//! The node agent (skiff's kubelet): turns Pods bound to this node into runtime-wasm pods,
//! drives each to its desired state, and says what happened the way the kubelet does.
//!
//! # Layout
//! - [`run()`]: the whole agent (credential, Node, pods) until shutdown; [`AgentOptions`].
//! - [`join`] and [`credential`]: joining a cluster with a `K10...::node:` token and the
//!   node credential kept in `<data-dir>/credential.json`; [`client`] builds the kube-rs
//!   client from it.
//! - [`node_sync`]: registering the Node, its status, the Lease heartbeat, re-registration.
//! - [`pods`]: the pod manager (a watch of this node's pods, one task and worker per pod,
//!   pod IPs, referenced ConfigMaps and Secrets, status writes, events, deletion).
//! - [`backoff`]: the crash-loop and image-pull back-off (10 s doubling to 5 min, reset
//!   after 10 min of clean running).
//! - [`node_object`]: the Node this agent registers (capacity, labels, nodeInfo,
//!   addresses, conditions) from host facts passed in; [`host`] reads those facts.
//! - [`translate`]: a Pod plus the ConfigMaps and Secrets it references to runtime-wasm
//!   specs, volume directories and the files to write into them.
//! - [`volume_root`]: where the volumes from the API (and memory emptyDirs) are kept: a
//!   tmpfs directory (`--volumes-dir`, else under `/dev/shm`), else the pod's directory.
//! - [`status`]: what the runtime and the worker know about a pod to the Pod `status` the
//!   kubelet writes (phase, conditions, container states).
//! - [`worker`]: one task per pod that creates the sandbox, pulls, runs init and app
//!   containers, restarts them with back-off, probes them, stops them on deletion and
//!   publishes status and events.
//! - [`tunnel`]: the tunnels the agent opens to every control-plane replica, over which it
//!   serves container logs (`kubectl logs`) and resource metrics without listening on a port.
//! - [`metrics`]: the node's resource metrics (per-container CPU and memory, node totals),
//!   sampled from the runtime every period and served as a summary over the tunnels.
//!
//! **Architecture Invariants:**
//! - The agent talks to the control plane only through the Kubernetes API (and the join
//!   endpoint); it runs guests only through runtime-wasm's `Runtime`.
//! - `backoff`, `node_object`, `translate`, `status` and `pods::ips` do no I/O and read no
//!   clock: the time is passed in as `now`, so they are tested by table.
//! - A pod worker is the only writer of its pod's runtime sandbox, and it owns every task it
//!   starts: it awaits them before it returns. The pod manager owns the pod tasks (a
//!   `JoinSet` it drains on shutdown); `run` owns the manager and the Node loop.

mod api;
pub mod backoff;
pub mod client;
pub mod credential;
pub mod host;
pub mod join;
mod kube_time;
pub mod metrics;
pub mod node_object;
pub mod node_sync;
mod options;
pub mod pods;
mod run;
pub mod status;
pub mod translate;
pub mod tunnel;
pub mod volume_root;
pub mod worker;

pub use options::{Access, AgentError, AgentOptions};
pub use run::run;
/// Container log rotation settings ([`AgentOptions::container_logs`]).
pub use skiff_runtime_wasm::logs::LogConfig as ContainerLogConfig;
