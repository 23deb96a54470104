//! The set-up the log tests share: one replica, a node joined through
//! `/skiff/v1/node-join`, a runtime-wasm runtime in this process whose sandboxes are keyed
//! by pod uid (as the agent keys them), and the agent's tunnel serving its containers.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use http::Method;
use serde_json::json;
use skiff_agent::tunnel::{RuntimeLogs, TunnelConfig, TunnelError, keep_tunnels};
use skiff_runtime_wasm::network::LocalNetwork;
use skiff_runtime_wasm::spec::{ContainerSpec, PodSpec};
use skiff_runtime_wasm::{Runtime, RuntimeConfig};
use skiff_tests::{ApiClient, Kubectl, Replica, ReplicaOptions};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

/// The task running `keep_tunnels`.
pub type Tunnel = JoinHandle<Result<(), TunnelError>>;

/// The node whose pods these tests run.
pub const NODE: &str = "edge-1";

pub struct Lab {
    pub replica: Replica,
    pub admin: ApiClient,
    pub kubectl: Kubectl,
    /// The runtime the tunnel serves logs from.
    pub rt: Runtime,
    logs_dir: PathBuf,
    next_ip: Mutex<u8>,
}

/// The secret part of a `K10<hash>::<role>:<secret>` token file.
fn token_secret(replica: &Replica, file: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(replica.data_dir.join(file))?;
    Ok(text
        .trim()
        .rsplit(':')
        .next()
        .context("empty token")?
        .to_owned())
}

impl Lab {
    /// A replica serving the API and a runtime with no pods yet.
    pub async fn start(label: &str) -> anyhow::Result<Lab> {
        let replica = Replica::start(ReplicaOptions::new(label)).await?;
        let admin = ApiClient::admin(&replica)?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while !admin
            .get("/api/v1/namespaces/default")
            .await?
            .status
            .is_success()
        {
            if Instant::now() > deadline {
                bail!("namespace default not created within 20 s");
            }
            sleep(Duration::from_millis(100)).await;
        }
        let kubectl = Kubectl::for_replica(&replica)?;
        let scratch = skiff_tests::scratch_dir(&format!("{label}-node"))?;
        let net = Arc::new(LocalNetwork::new());
        let rt = Runtime::new(RuntimeConfig::new(scratch.join("runtime")), net)?;
        Ok(Lab {
            replica,
            admin,
            kubectl,
            rt,
            logs_dir: scratch.join("pods"),
            next_ip: Mutex::new(10),
        })
    }

    /// Joins node `name` with the agent token; returns its bearer token.
    pub async fn join(&self, name: &str) -> anyhow::Result<String> {
        let joiner = ApiClient::with_token(
            &self.replica,
            Some(&token_secret(&self.replica, "agent-token")?),
        )?;
        let answer = joiner
            .json(
                Method::POST,
                "/skiff/v1/node-join",
                &json!({ "nodeName": name }),
            )
            .await?
            .ok()?;
        Ok(answer["token"]
            .as_str()
            .context("no token in the join answer")?
            .to_owned())
    }

    /// Opens a node's tunnels (the agent's `keep_tunnels`, with the node's `token`) serving
    /// this lab's pods; cancel the token to close them, then await the task.
    pub fn tunnel(&self, token: String) -> anyhow::Result<(CancellationToken, Tunnel)> {
        let ca = std::fs::read_to_string(self.replica.data_dir.join("pki/ca.crt"))?;
        let config = TunnelConfig::new(token, ca, vec![self.replica.url()]);
        let logs = Arc::new(RuntimeLogs(self.rt.clone()));
        let stop = CancellationToken::new();
        let task = tokio::spawn(keep_tunnels(config, logs, stop.clone()));
        Ok((stop, task))
    }

    /// Pod `name` with containers `containers`, bound to [`NODE`], in the API only; its uid.
    pub async fn api_pod(&self, name: &str, containers: &[&str]) -> anyhow::Result<String> {
        let specs: Vec<_> = containers
            .iter()
            .map(|c| json!({ "name": c, "image": "registry.local/example.wasm" }))
            .collect();
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": name },
            "spec": { "nodeName": NODE, "containers": specs },
        });
        let created = self
            .admin
            .json(Method::POST, "/api/v1/namespaces/default/pods", &pod)
            .await?
            .ok()?;
        Ok(created["metadata"]["uid"]
            .as_str()
            .context("no uid")?
            .to_owned())
    }

    /// Pod `name` bound to [`NODE`] in the API, and its sandbox with `containers` created
    /// (not started) in the runtime.
    pub async fn pod(&self, name: &str, containers: Vec<ContainerSpec>) -> anyhow::Result<String> {
        let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
        let uid = self.api_pod(name, &names).await?;
        let ip = {
            let mut next = skiff_sync::lock(&self.next_ip);
            *next += 1;
            *next
        };
        self.rt.create_pod(PodSpec {
            id: uid.clone(),
            ip: IpAddr::from([10, 244, 0, ip]),
            name: uid.clone(),
            namespace: "default".into(),
            log_dir: self.logs_dir.join(&uid),
        })?;
        for container in containers {
            self.rt.create_container(&uid, container).await?;
        }
        Ok(uid)
    }

    /// Waits until `kubectl logs <pod>` stops answering 503 (the tunnel is registered).
    pub async fn wait_for_tunnel(&self, pod: &str) -> anyhow::Result<()> {
        self.wait_for_tunnel_within(pod, Duration::from_secs(20))
            .await
    }

    /// [`Lab::wait_for_tunnel`] for up to `limit`.
    pub async fn wait_for_tunnel_within(&self, pod: &str, limit: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let out = self.kubectl.run(&["logs", pod], "").await?;
            if out.success {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "kubectl logs {pod} still fails after {limit:?}: {}",
                    out.stderr
                );
            }
            sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A container of the `client` guest: `count` lines `error <i> calling nowhere:1: ...`,
/// `interval_ms` apart, then exit 2 (the name never resolves: guest lookups stay in the
/// overlay).
pub fn counter(name: &str, count: u32, interval_ms: u32) -> ContainerSpec {
    let examples = skiff_runtime_wasm::examples::build().expect("building examples-wasm");
    let mut spec = ContainerSpec::new(name, examples.path("client").display().to_string());
    for (k, v) in [
        ("TARGET", "nowhere:1".to_owned()),
        ("COUNT", count.to_string()),
        ("INTERVAL_MS", interval_ms.to_string()),
    ] {
        spec.env.insert(k.into(), v);
    }
    spec
}
