//! Shared pieces: one replica with a kube-rs client, and Nodes registered through the API.

use std::time::Duration;

use anyhow::Context;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use skiff_tests::{Replica, ReplicaOptions, kubeconfig_for};
use tokio::time::{Instant, sleep};

/// One replica and an admin kube-rs client for it. The replica runs no scheduler or
/// controller manager of its own: these tests run the libraries in the test process.
pub async fn one_replica(label: &str) -> anyhow::Result<(Replica, Client)> {
    let options =
        ReplicaOptions::new(label).args(["--disable-scheduler", "--disable-controller-manager"]);
    let replica = Replica::start(options).await?;
    let client = admin_client(&replica).await?;
    Ok((replica, client))
}

/// An admin kube-rs client of `replica`, once its API answers.
pub async fn admin_client(replica: &Replica) -> anyhow::Result<Client> {
    let path = kubeconfig_for(replica, &replica.url())?;
    let config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(&path)?,
        &KubeConfigOptions::default(),
    )
    .await
    .context("kube config")?;
    let client = Client::try_from(config)?;
    // The API answers once the store has a leader.
    let deadline = Instant::now() + Duration::from_secs(20);
    while Api::<Node>::all(client.clone())
        .list(&Default::default())
        .await
        .is_err()
    {
        anyhow::ensure!(Instant::now() < deadline, "the API never answered");
        sleep(Duration::from_millis(100)).await;
    }
    Ok(client)
}

/// A Node as an agent would register it: allocatable, labels, and a Ready condition
/// (`ready`: `Some("True"|"False")`, or `None` for none at all).
pub fn node(name: &str, cpu: &str, memory: &str, labels: Value, ready: Option<&str>) -> Value {
    let mut all = json!({"kubernetes.io/hostname": name});
    if let (Some(all), Some(extra)) = (all.as_object_mut(), labels.as_object()) {
        all.extend(extra.clone());
    }
    let conditions: Vec<Value> = ready
        .map(|s| json!({"type": "Ready", "status": s, "reason": "KubeletReady"}))
        .into_iter()
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": all},
        "status": {
            "capacity": {"cpu": cpu, "memory": memory, "pods": "110"},
            "allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
            "conditions": conditions
        }
    })
}

/// Creates the node and sets its status (the status of a create may be dropped, as
/// kube-apiserver drops it for most kinds).
pub async fn register(client: &Client, node: Value) -> anyhow::Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(node)?;
    let created = api.create(&PostParams::default(), &node).await?;
    // A merge patch, not a replace: a controller (pod CIDR, node lifecycle) may have written
    // the Node since it was created.
    let status = serde_json::json!({ "status": node.status });
    api.patch_status(
        &created.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&status),
    )
    .await?;
    Ok(())
}

/// Creates a namespaced object from JSON in `namespace`.
pub async fn create<K>(client: &Client, namespace: &str, value: Value) -> anyhow::Result<K>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + serde::Serialize,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    Ok(api
        .create(&PostParams::default(), &serde_json::from_value(value)?)
        .await?)
}
