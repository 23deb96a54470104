//! One replica, kubectl, and one agent with shortened test timings; polling helpers.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
pub use skiff_tests::fleet::{poll, tail};
use skiff_tests::{Agent, Kubectl, Replica, ReplicaOptions, node_credential};
use tokio::time::{Instant, sleep};

/// Every test's bound.
pub const LIMIT: Duration = Duration::from_secs(240);
/// How long one condition may take to hold.
pub const WAIT: Duration = Duration::from_secs(60);
/// The agent's test timings: short back-offs, quick look-ups of missing references,
/// resource metrics sampled every 2 s.
pub const FAST: [&str; 8] = [
    "--crash-backoff-base-ms",
    "300",
    "--refs-retry-ms",
    "300",
    "--lease-seconds",
    "2",
    "--metrics-seconds",
    "2",
];

pub struct Setup {
    pub replica: Replica,
    pub kubectl: Kubectl,
    pub agent: Agent,
}

/// How the agent gets its credential.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// `--server URL --token <agent-token>`: the join endpoint.
    Join,
    /// A node-token Secret and `credential.json` made by hand (what `skiff up` hands in).
    ByHand,
}

/// A replica, and an agent for node `node` that joined it, running and Ready.
pub async fn start(node: &str) -> anyhow::Result<Setup> {
    start_with(node, Credential::Join).await
}

/// [`start`] with the credential obtained as `how` says.
pub async fn start_with(node: &str, how: Credential) -> anyhow::Result<Setup> {
    let replica = Replica::start(ReplicaOptions::new("agent-server")).await?;
    let kubectl = Kubectl::for_replica(&replica)?;
    poll("the API answers", WAIT, || async {
        Ok(kubectl.run(&["get", "ns", "default"], "").await?.success)
    })
    .await?;
    let (url, token) = (replica.url(), replica.agent_token()?);
    let mut args = FAST.to_vec();
    if how == Credential::Join {
        args.extend(["--server", &url, "--token", &token]);
    }
    let mut agent = Agent::prepare(node, &args)?;
    if how == Credential::ByHand {
        node_credential(&kubectl, &replica, &agent).await?;
    }
    agent.spawn()?;
    let mut setup = Setup {
        replica,
        kubectl,
        agent,
    };
    setup.wait_node_ready().await?;
    Ok(setup)
}

impl Setup {
    pub async fn wait_node_ready(&mut self) -> anyhow::Result<()> {
        let name = self.agent.name.clone();
        let jsonpath = r#"jsonpath={.status.conditions[?(@.type=="Ready")].status}"#;
        for _ in 0..(WAIT.as_millis() / 200) {
            self.agent.check_running()?;
            let out = self
                .kubectl
                .run(&["get", "node", &name, "-o", jsonpath], "")
                .await?;
            if out.success && out.stdout.trim() == "True" {
                return Ok(());
            }
            sleep(Duration::from_millis(200)).await;
        }
        bail!(
            "node {name} not Ready within {WAIT:?}; agent stderr: {}",
            self.agent.last_stderr()
        )
    }

    /// Creates an object from JSON.
    pub async fn apply(&self, object: &Value) -> anyhow::Result<()> {
        self.kubectl
            .ok_stdin(&["apply", "-f", "-"], &object.to_string())
            .await?;
        Ok(())
    }

    /// The pod as JSON, or `None` when it does not exist.
    pub async fn pod(&self, name: &str) -> anyhow::Result<Option<Value>> {
        let out = self
            .kubectl
            .run(&["get", "pod", name, "-o", "json"], "")
            .await?;
        if !out.success {
            anyhow::ensure!(
                out.stderr.contains("NotFound"),
                "kubectl get pod {name}: {}",
                out.stderr
            );
            return Ok(None);
        }
        Ok(Some(serde_json::from_str(&out.stdout)?))
    }

    /// `kubectl get pod <name>`'s row as columns (NAME READY STATUS RESTARTS AGE).
    pub async fn row(&self, name: &str) -> anyhow::Result<Vec<String>> {
        let out = self
            .kubectl
            .ok(&["get", "pod", name, "--no-headers"])
            .await?;
        Ok(out.split_whitespace().map(str::to_owned).collect())
    }

    /// Waits until `check` holds for the pod's kubectl row; returns that row.
    pub async fn wait_row(
        &mut self,
        name: &str,
        what: &str,
        check: impl Fn(&[String]) -> bool,
    ) -> anyhow::Result<Vec<String>> {
        let deadline = Instant::now() + WAIT;
        let mut last = Vec::new();
        while Instant::now() < deadline {
            self.agent.check_running()?;
            if let Ok(row) = self.row(name).await {
                if check(&row) {
                    return Ok(row);
                }
                last = row;
            }
            sleep(Duration::from_millis(200)).await;
        }
        let describe = self
            .kubectl
            .run(&["describe", "pod", name], "")
            .await?
            .stdout;
        bail!(
            "pod {name}: no {what} within {WAIT:?}; last row {last:?}\n{describe}\nagent: {}",
            tail(&self.agent.last_stderr())
        )
    }

    /// Waits for the STATUS column to read `status`.
    pub async fn wait_status(&mut self, name: &str, status: &str) -> anyhow::Result<Vec<String>> {
        self.wait_row(name, &format!("STATUS {status}"), |r| {
            r.get(2).map(String::as_str) == Some(status)
        })
        .await
    }
}

/// The .wasm of example guest `name`.
pub fn guest(name: &str) -> anyhow::Result<String> {
    let built = skiff_runtime_wasm::examples::build().context("building examples-wasm")?;
    Ok(built.path(name).display().to_string())
}

/// A pod bound to `node` with one container `c` running `image`, plus `spec` fields.
pub fn pod(name: &str, node: &str, container: Value, spec: Value) -> Value {
    let mut pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "terminationGracePeriodSeconds": 5, "containers": [container]},
    });
    if let (Some(target), Some(extra)) = (pod["spec"].as_object_mut(), spec.as_object()) {
        target.extend(extra.clone());
    }
    pod
}

/// The STATUS column of a `kubectl get pod ... --no-headers` row (watch output included).
pub fn status_of(line: &str) -> &str {
    line.split_whitespace().nth(2).unwrap_or_default()
}

impl Setup {
    /// `kubectl get pod <name> --watch --no-headers`: one row per change of the pod.
    pub fn watch_pod(&self, name: &str) -> anyhow::Result<skiff_tests::KubectlWatch> {
        self.kubectl
            .spawn(&["get", "pod", name, "--watch", "--no-headers"])
    }

    /// `kubectl describe pod <name>`.
    pub async fn describe(&self, name: &str) -> anyhow::Result<String> {
        self.kubectl.ok(&["describe", "pod", name]).await
    }

    /// Waits until `kubectl describe pod <name>` shows every one of `wanted`; returns it.
    pub async fn wait_describe(&self, name: &str, wanted: &[&str]) -> anyhow::Result<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.describe(name).await?;
            if wanted.iter().all(|w| text.contains(w)) {
                return Ok(text);
            }
            if Instant::now() >= deadline {
                let missing: Vec<_> = wanted.iter().filter(|w| !text.contains(*w)).collect();
                bail!("describe pod {name}: no {missing:?} within {WAIT:?}:\n{text}");
            }
            sleep(Duration::from_millis(300)).await;
        }
    }
}
