//! [`Fleet`]: control-plane replicas and node agents, each a separate process, with kubectl
//! pointed at one replica; the agents join through the first replica with the agent token,
//! as `skiff agent --server URL --token T` does. Also [`poll`], [`node_kubeconfig`] (a
//! kubeconfig acting as a node, from its saved credential) and [`example`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::time::{Instant, sleep};

use crate::{Agent, Cluster, Kubectl, ReplicaOptions};

/// The agents' test timings: short crash back-off, quick look-ups of missing references,
/// and a 2 s Lease renewal (it lasts 8 s).
pub const AGENT_FAST: [&str; 6] = [
    "--crash-backoff-base-ms",
    "300",
    "--refs-retry-ms",
    "300",
    "--lease-seconds",
    "2",
];

pub struct Fleet {
    pub cluster: Cluster,
    /// The admin's kubectl, against `cluster.replicas[0]` unless a test points it elsewhere.
    pub kubectl: Kubectl,
    pub agents: Vec<Agent>,
}

impl Fleet {
    /// `replicas` replicas started with `server_args`, and one agent per name in `nodes`
    /// (joined through the first replica, with [`AGENT_FAST`]), each node Ready.
    pub async fn start(
        replicas: usize,
        server_args: &[&str],
        nodes: &[&str],
    ) -> anyhow::Result<Fleet> {
        Fleet::start_with(replicas, server_args, &[], nodes).await
    }

    /// [`Fleet::start`] with `agent_args` added to every agent's flags.
    pub async fn start_with(
        replicas: usize,
        server_args: &[&str],
        agent_args: &[&str],
        nodes: &[&str],
    ) -> anyhow::Result<Fleet> {
        let cluster = Cluster::start(replicas, |i| {
            ReplicaOptions::new(&format!("fleet-r{i}")).args(server_args.iter().copied())
        })
        .await?;
        let kubectl = Kubectl::for_replica(&cluster.replicas[0])?;
        poll("the API answers", Duration::from_secs(60), || async {
            Ok(kubectl.run(&["get", "ns", "default"], "").await?.success)
        })
        .await?;
        let (url, token) = (
            cluster.replicas[0].url(),
            cluster.replicas[0].agent_token()?,
        );
        let mut agents = Vec::new();
        for name in nodes {
            let mut args = AGENT_FAST.to_vec();
            args.extend(agent_args);
            args.extend(["--server", &url, "--token", &token]);
            let mut agent = Agent::prepare(name, &args)?;
            agent.spawn()?;
            agents.push(agent);
        }
        let fleet = Fleet {
            cluster,
            kubectl,
            agents,
        };
        for name in nodes {
            fleet.wait_ready_status(name, "True").await?;
        }
        Ok(fleet)
    }

    /// The agent of node `name`.
    pub fn agent(&mut self, name: &str) -> anyhow::Result<&mut Agent> {
        self.agents
            .iter_mut()
            .find(|a| a.name == name)
            .with_context(|| format!("no agent {name}"))
    }

    /// The status of node `name`'s Ready condition ("" when it has none or is not found).
    pub async fn ready_status(&self, name: &str) -> anyhow::Result<String> {
        let jsonpath = r#"jsonpath={.status.conditions[?(@.type=="Ready")].status}"#;
        let out = self
            .kubectl
            .run(&["get", "node", name, "-o", jsonpath], "")
            .await?;
        Ok(out.stdout.trim().to_owned())
    }

    /// Waits up to a minute for node `name`'s Ready condition to read `status`.
    pub async fn wait_ready_status(&self, name: &str, status: &str) -> anyhow::Result<()> {
        let what = format!("node {name} Ready={status}");
        let waited = poll(&what, Duration::from_secs(60), || async {
            Ok(self.ready_status(name).await? == status)
        })
        .await;
        if waited.is_err()
            && let Some(agent) = self.agents.iter().find(|a| a.name == name)
        {
            bail!(
                "{what}: not within 60 s; agent stderr:\n{}",
                tail(&agent.last_stderr())
            );
        }
        waited
    }

    /// `kubectl get <args> -o json`, parsed.
    pub async fn get_json(&self, args: &[&str]) -> anyhow::Result<Value> {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend(["-o", "json"]);
        let out = self.kubectl.ok(&all).await?;
        serde_json::from_str(&out).with_context(|| format!("kubectl {all:?} printed {out}"))
    }

    /// Creates or updates an object from JSON.
    pub async fn apply(&self, object: &Value) -> anyhow::Result<()> {
        self.kubectl
            .ok_stdin(&["apply", "-f", "-"], &object.to_string())
            .await?;
        Ok(())
    }
}

/// Polls `check` every 200 ms until it returns true or `limit` passes (an error counts as
/// false; the last one is named in the failure).
pub async fn poll<F, Fut>(what: &str, limit: Duration, check: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + limit;
    let mut last = None;
    loop {
        match check().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last = Some(e),
        }
        if Instant::now() >= deadline {
            let last = last
                .map(|e| format!(" (last error: {e:#})"))
                .unwrap_or_default();
            bail!("{what}: not within {limit:?}{last}");
        }
        sleep(Duration::from_millis(200)).await;
    }
}

/// A kubeconfig that acts as `agent`'s node: its saved credential's token and CA, and
/// `server`.
pub fn node_kubeconfig(agent: &Agent, server: &str) -> anyhow::Result<PathBuf> {
    let path = agent.data_dir.join("credential.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let credential: Value = serde_json::from_str(&text)?;
    let ca = credential["caCert"].as_str().context("no caCert")?;
    let token = credential["token"].as_str().context("no token")?;
    let dir = crate::scratch_dir(&format!("kubeconfig-{}", agent.name))?;
    std::fs::write(dir.join("ca.crt"), ca)?;
    let config = serde_json::json!({
        "apiVersion": "v1", "kind": "Config", "current-context": "node",
        "clusters": [{"name": "skiff", "cluster": {
            "server": server, "certificate-authority": dir.join("ca.crt")}}],
        "users": [{"name": "node", "user": {"token": token}}],
        "contexts": [{"name": "node", "context": {"cluster": "skiff", "user": "node"}}],
    });
    let file = dir.join("config");
    std::fs::write(&file, serde_json::to_string(&config)?)?;
    Ok(file)
}

/// The .wasm of example guest `name` (built once per process).
pub fn example(name: &str) -> anyhow::Result<String> {
    let built = skiff_runtime_wasm::examples::build().context("building examples-wasm")?;
    Ok(built.path(name).display().to_string())
}

/// The last 30 lines of a log, for failure messages.
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
