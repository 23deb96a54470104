//! Test harness: a real runtime over a `LocalNetwork`, the example guests, and pod workers
//! with shortened back-offs, observed through their status channel.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use skiff_agent::backoff::BackoffPolicy;
use skiff_agent::translate::References;
use skiff_agent::worker::{PodInput, PodWorker, WorkerConfig};
use skiff_api::k8s_openapi::api::core::v1::{Pod, PodStatus};
use skiff_api::table::{IncludeObject, table};
use skiff_runtime_wasm::examples;
use skiff_runtime_wasm::network::LocalNetwork;
use skiff_runtime_wasm::{Runtime, RuntimeConfig};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Every test body runs under this bound.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The path of example guest `name`.
pub fn guest(name: &str) -> String {
    let built =
        examples::build().expect("building examples-wasm (rustup target add wasm32-wasip2)");
    built.path(name).display().to_string()
}

/// A compiled-code cache shared by the tests of this binary, so each guest compiles once.
fn shared_data_dir() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("tempdir"))
        .path()
}

/// A runtime, a pods directory and the cancellation token of its workers.
pub struct Node {
    pub rt: Runtime,
    pub net: Arc<LocalNetwork>,
    pub cfg: Arc<WorkerConfig>,
    pub cancel: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Node {
    pub fn new() -> Result<Self> {
        Node::with_volumes_root(false)
    }

    /// A node whose memory volumes live in `<scratch>/shm` (`memory`) or under each pod's
    /// directory.
    pub fn with_volumes_root(memory: bool) -> Result<Self> {
        let net = Arc::new(LocalNetwork::new());
        let rt = Runtime::new(RuntimeConfig::new(shared_data_dir()), net.clone())?;
        let dir = tempfile::tempdir()?;
        let mut cfg = WorkerConfig::new(dir.path().join("pods"), "node-1", "127.0.0.1".parse()?);
        cfg.volumes_root = memory.then(|| dir.path().join("shm"));
        cfg.crash_backoff = BackoffPolicy::scaled(Duration::from_millis(100));
        cfg.pull_backoff = BackoffPolicy::scaled(Duration::from_millis(400));
        cfg.error_hold = Duration::from_millis(150);
        Ok(Node {
            rt,
            net,
            cfg: Arc::new(cfg),
            cancel: CancellationToken::new(),
            _dir: dir,
        })
    }

    /// Starts a worker for `pod` at `ip`; returns it and the sender of its desired state.
    pub fn run(&self, pod: Pod, ip: &str) -> Result<(PodWorker, watch::Sender<Arc<PodInput>>)> {
        self.run_with(pod, ip, References::default())
    }

    /// [`Node::run`] with the ConfigMaps and Secrets the pod references.
    pub fn run_with(
        &self,
        pod: Pod,
        ip: &str,
        refs: References,
    ) -> Result<(PodWorker, watch::Sender<Arc<PodInput>>)> {
        let (tx, rx) = watch::channel(Arc::new(PodInput {
            pod: Arc::new(pod),
            refs,
        }));
        let worker = PodWorker::spawn(
            self.rt.clone(),
            self.net.clone(),
            self.cfg.clone(),
            ip.parse()?,
            rx,
            self.cancel.child_token(),
        );
        Ok((worker, tx))
    }

    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.rt.shutdown(Duration::ZERO).await;
    }
}

/// A pod named `name` (uid `uid-<name>`) from a JSON spec.
pub fn pod(name: &str, spec: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"),
                     "creationTimestamp": "2024-05-01T12:00:00Z"},
        "spec": spec,
    }))
    .expect("pod JSON")
}

/// The STATUS column kubectl shows for `pod` with `status`.
pub fn status_column(pod: &Pod, status: &PodStatus) -> String {
    let mut p = pod.clone();
    p.status = Some(status.clone());
    let obj = serde_json::to_value(&p).expect("pod to JSON");
    let info = skiff_api::resources::find("", "v1", "pods").expect("pods resource");
    let t = table(
        info,
        std::slice::from_ref(&obj),
        IncludeObject::None,
        0,
        Value::Null,
    );
    t["rows"][0]["cells"][2]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Waits until `check` holds for the published status; returns that status.
pub async fn wait_for(
    worker: &PodWorker,
    what: &str,
    bound: Duration,
    check: impl Fn(&PodStatus) -> bool,
) -> Result<PodStatus> {
    let mut rx = worker.status();
    let found = tokio::time::timeout(bound, async {
        loop {
            let status = rx.borrow_and_update().clone();
            if check(&status) {
                return Ok(status);
            }
            if rx.changed().await.is_err() {
                bail!("worker ended; last status: {}", describe(&status));
            }
        }
    })
    .await;
    match found {
        Ok(result) => result,
        Err(_) => bail!(
            "no status with {what} within {bound:?}; last: {}",
            describe(&rx.borrow())
        ),
    }
}

/// Waits until kubectl's STATUS column reads `column`.
pub async fn wait_column(
    worker: &PodWorker,
    pod: &Pod,
    column: &str,
    bound: Duration,
) -> Result<PodStatus> {
    wait_for(worker, &format!("STATUS {column}"), bound, |s| {
        status_column(pod, s) == column
    })
    .await
    .with_context(|| {
        format!(
            "waiting for {}",
            pod.metadata.name.as_deref().unwrap_or_default()
        )
    })
}

/// The status as JSON, for failure messages.
pub fn describe(status: &PodStatus) -> String {
    serde_json::to_string(status).unwrap_or_default()
}

/// The app container's status at `i`, as JSON.
pub fn container(status: &PodStatus, i: usize) -> Value {
    let list = status.container_statuses.clone().unwrap_or_default();
    serde_json::to_value(list.get(i)).unwrap_or(Value::Null)
}

pub fn phase(status: &PodStatus) -> &str {
    status.phase.as_deref().unwrap_or_default()
}

/// Runs a test body under [`TEST_TIMEOUT`].
pub async fn bounded<F: std::future::Future<Output = Result<()>>>(body: F) -> Result<()> {
    tokio::time::timeout(TEST_TIMEOUT, body)
        .await
        .context("test timed out")?
}
