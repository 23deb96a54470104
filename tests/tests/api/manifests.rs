//! The manifests the API tests feed to kubectl and to the raw client, and the set-up every
//! single-replica test shares.

use std::time::Duration;

use anyhow::bail;
use serde_json::{Value, json};
use skiff_tests::{ApiClient, Replica, ReplicaOptions};
use tokio::time::{Instant, sleep};

/// One replica serving the API (its admin kubeconfig is written at start), with no scheduler
/// or controller manager: these tests hold the API server alone to its contract, as
/// kube-apiserver's integration tests do; tests/tests/control and tests/tests/agent cover what
/// the controllers and agents make of the objects.
pub async fn one_replica(label: &str) -> anyhow::Result<Replica> {
    let options =
        ReplicaOptions::new(label).args(["--disable-scheduler", "--disable-controller-manager"]);
    let replica = Replica::start(options).await?;
    api_ready(&replica).await?;
    Ok(replica)
}

/// Waits until `replica` has created the system namespaces (which it does just after it
/// starts serving).
pub async fn api_ready(replica: &Replica) -> anyhow::Result<()> {
    let admin = ApiClient::admin(replica)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = admin.get("/api/v1/namespaces/kube-node-lease").await;
        match answer {
            Ok(a) if a.status.is_success() => return Ok(()),
            _ if Instant::now() < deadline => sleep(Duration::from_millis(100)).await,
            other => bail!("namespace kube-node-lease not created within 20 s: {other:?}"),
        }
    }
}

/// A Deployment `name` with containers `app` (image `app_image`) and `side`.
pub fn deployment_yaml(name: &str, replicas: u32, app_image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    tier: web
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - name: app
        image: {app_image}
      - name: side
        image: side.wasm
"
    )
}

/// A ConfigMap `name` with one key.
pub fn configmap_yaml(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
data:
  key: {value}
"
    )
}

/// A ClusterIP Service `name` on port 80.
pub fn service_yaml(name: &str) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector:
    app: {name}
  ports:
  - port: 80
    targetPort: 8080
"
    )
}

/// A Pod `name` labelled `tier: <tier>`, optionally bound to `node`.
pub fn pod_json(name: &str, tier: &str, node: Option<&str>) -> Value {
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": name, "labels": { "tier": tier } },
        "spec": { "containers": [ { "name": "app", "image": "app.wasm" } ] }
    });
    if let Some(node) = node {
        pod["spec"]["nodeName"] = json!(node);
    }
    pod
}

/// A Node `name`.
pub fn node_json(name: &str) -> Value {
    json!({ "apiVersion": "v1", "kind": "Node", "metadata": { "name": name } })
}

/// An Event about `kind/name` (uid `uid`) in `default`.
pub fn event_json(name: &str, kind: &str, object: &str, uid: &str, message: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": { "name": name, "namespace": "default" },
        "involvedObject": {
            "apiVersion": "apps/v1",
            "kind": kind,
            "name": object,
            "namespace": "default",
            "uid": uid
        },
        "reason": "ScalingReplicaSet",
        "message": message,
        "type": "Normal",
        "count": 1,
        "source": { "component": "skiff-test" },
        "firstTimestamp": "2026-01-01T00:00:00Z",
        "lastTimestamp": "2026-01-01T00:00:00Z"
    })
}

/// The first line of kubectl's table output split into column names (multi-word headers such
/// as `LAST SEEN` come out as two words).
pub fn header(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Requires the table header of `stdout` to be exactly `columns`.
pub fn expect_header(stdout: &str, columns: &[&str]) -> anyhow::Result<()> {
    let got = header(stdout);
    anyhow::ensure!(
        got == columns,
        "expected columns {columns:?}, got {got:?} in:\n{stdout}"
    );
    Ok(())
}
