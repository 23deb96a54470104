//! Benchmarks on `skiff up` (`up-bench`): the whole single-node cluster in one process (from
//! `SKIFF_BIN`), driven through the Kubernetes API with kube-rs.
//! - `deploy`: a Deployment of N replicas, time from the create to Available (issue 15).
//! - `start`, `burst`, `density`: pods with `spec.nodeName` set, no scheduler in the path
//!   (issue 14): one after another until Running, many clients at once, and thousands idle on
//!   the one agent with the process's RSS.
//!
//! - `run`: `skiff run` of a local .wasm to the app's first HTTP 200, cold and warm (issue 17).
//!
//! Running is what a watch of the pods reports (`status.phase`), as a client would see it.

mod deploy;
mod pods;
mod requests;
mod run;
mod timeline;
mod watch;

use std::time::Duration;

use anyhow::Context;
use k8s_openapi::api::core::v1::Node;
use kube::Client;
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use skiff_tests::{Replica, ReplicaOptions, kubeconfig_for};
use tokio::time::{Instant, sleep};

pub use deploy::{DeployOutcome, deploy};
pub use pods::{BurstOutcome, StartOutcome, burst, density, start_latency, warm_image};
pub use requests::{RequestCounts, describe_delta, request_counts};
pub use run::{RunOutcome, fresh_module, run_to_first_200};

/// The node `skiff up` registers.
pub const NODE: &str = "bench-node";

/// How the cluster is started.
#[derive(Clone, Debug)]
pub struct UpOptions {
    /// wasmtime pooling allocator slots (`--pooling-instances`); `None`: on-demand.
    pub pooling: Option<u32>,
    /// The Node's pod capacity (`--max-pods`).
    pub max_pods: u32,
}

/// A running `skiff up` and an admin client of it.
pub struct Up {
    pub replica: Replica,
    pub client: Client,
    /// An admin kubeconfig of the cluster (for the `skiff` CLI).
    pub kubeconfig: std::path::PathBuf,
}

impl Up {
    /// Starts `skiff up` with a node pod CIDR of /18 (16,382 pod IPs, all virtual: pods talk
    /// through the runtime's in-process network) and waits until its Node is Ready with a pod
    /// CIDR.
    pub async fn start(options: &UpOptions) -> anyhow::Result<Up> {
        let mut args = vec![
            "--name".to_owned(),
            NODE.to_owned(),
            "--node-cidr-mask-size".to_owned(),
            "18".to_owned(),
            "--max-pods".to_owned(),
            options.max_pods.to_string(),
        ];
        if let Some(slots) = options.pooling {
            args.extend(["--pooling-instances".to_owned(), slots.to_string()]);
        }
        let replica = Replica::start(ReplicaOptions::up("up-bench").args(args)).await?;
        let path = kubeconfig_for(&replica, &replica.url())?;
        let config = kube::Config::from_custom_kubeconfig(
            Kubeconfig::read_from(&path)?,
            &KubeConfigOptions::default(),
        )
        .await
        .context("kube config")?;
        let client = Client::try_from(config)?;
        wait_node_ready(&client).await?;
        Ok(Up {
            replica,
            client,
            kubeconfig: path,
        })
    }

    /// The resident set of the `skiff up` process, in bytes.
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        let pid = self.replica.pid().context("skiff up is not running")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .context("no VmRSS")?
            .parse()?;
        Ok(kib * 1024)
    }
}

async fn wait_node_ready(client: &Client) -> anyhow::Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(node) = nodes.get_opt(NODE).await.ok().flatten() {
            let ready = node
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            let cidr = node
                .spec
                .as_ref()
                .and_then(|s| s.pod_cidr.as_ref())
                .is_some();
            if ready && cidr {
                return Ok(());
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the node was not Ready with a pod CIDR within 60 s"
        );
        sleep(Duration::from_millis(100)).await;
    }
}

/// The guest every benchmark pod runs, as an absolute path: `BENCH_IMAGE`, else `tcp-echo`
/// (which listens and then idles) as `examples-wasm` builds it.
pub fn image() -> anyhow::Result<String> {
    let path = std::env::var("BENCH_IMAGE")
        .unwrap_or_else(|_| "examples-wasm/target/wasm32-wasip2/release/tcp-echo.wasm".to_owned());
    let absolute = std::fs::canonicalize(&path)
        .with_context(|| format!("no guest at {path} (build examples-wasm or set BENCH_IMAGE)"))?;
    Ok(absolute.display().to_string())
}

/// The `p`-th percentile (nearest rank) of sorted `samples`.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
