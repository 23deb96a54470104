//! The shared `skiff up` and kubectl, and the polling helpers the steps use.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use skiff_tests::{Kubectl, Replica, ReplicaOptions};

/// How long one condition may take to hold.
pub const WAIT: Duration = Duration::from_secs(90);
/// The node's name.
pub const NODE: &str = "workloads-node";

pub struct Cluster {
    pub up: Replica,
    pub kubectl: Kubectl,
}

impl Cluster {
    /// `skiff up` with short agent timings, its node Ready.
    pub async fn up() -> anyhow::Result<Cluster> {
        let options = ReplicaOptions::up("workloads").args([
            "--name",
            NODE,
            "--lease-seconds",
            "2",
            "--crash-backoff-base-ms",
            "300",
        ]);
        let up = Replica::start(options).await?;
        let kubectl = Kubectl::for_replica(&up)?;
        let cluster = Cluster { up, kubectl };
        let jsonpath = r#"jsonpath={.status.conditions[?(@.type=="Ready")].status}"#;
        cluster
            .poll("the node is Ready", || async {
                Ok(cluster.get(&["node", NODE, "-o", jsonpath]).await? == "True")
            })
            .await?;
        Ok(cluster)
    }

    pub async fn stop(&mut self) {
        self.up.stop().await;
    }

    /// `kubectl apply -f -` of one object.
    pub async fn apply(&self, object: &Value) -> anyhow::Result<()> {
        self.kubectl
            .ok_stdin(&["apply", "-f", "-"], &object.to_string())
            .await?;
        Ok(())
    }

    /// `kubectl <args>`, required to succeed; its output trimmed.
    pub async fn ok(&self, args: &[&str]) -> anyhow::Result<String> {
        Ok(self.kubectl.ok(args).await?.trim().to_owned())
    }

    /// `kubectl get <args>`; an empty string when it fails (not found yet).
    pub async fn get(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        let out = self.kubectl.run(&all, "").await?;
        Ok(if out.success {
            out.stdout.trim().to_owned()
        } else {
            String::new()
        })
    }

    /// `kubectl get <args> -o json`, parsed; `Null` when it fails.
    pub async fn json(&self, args: &[&str]) -> anyhow::Result<Value> {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let text = self.get(&all).await?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Polls `check` until it holds or [`WAIT`] passes; the failure names `what`.
    pub async fn poll<F, Fut>(&self, what: &str, check: F) -> anyhow::Result<()>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = anyhow::Result<bool>>,
    {
        skiff_tests::fleet::poll(what, WAIT, check).await
    }

    /// Names of the pods `selector` selects that are not being deleted.
    pub async fn live_pods(&self, selector: &str) -> anyhow::Result<Vec<Value>> {
        let list = self.json(&["pods", "-l", selector]).await?;
        Ok(list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .cloned()
            .collect())
    }

    /// How many of the selected pods are Running and Ready.
    pub async fn ready_pods(&self, selector: &str) -> anyhow::Result<usize> {
        Ok(self
            .live_pods(selector)
            .await?
            .iter()
            .filter(|p| is_ready(p))
            .count())
    }
}

/// The pod's Ready condition is True.
pub fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// The .wasm of example guest `name`.
pub fn guest(name: &str) -> anyhow::Result<String> {
    let built = skiff_runtime_wasm::examples::build().context("building examples-wasm")?;
    Ok(built.path(name).display().to_string())
}
