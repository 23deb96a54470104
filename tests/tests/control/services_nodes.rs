//! The Endpoints, EndpointSlice and node lifecycle controllers end to end, and the manager's
//! leadership: a Service's Endpoints follow pod readiness; a Node whose Lease is never renewed
//! turns Ready=Unknown, is tainted unreachable and loses its pods; a manager that does not
//! lead creates nothing, and acts again once it leads.

use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Endpoints, Event, Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use skiff_tests::run_bounded;
use tokio::time::sleep;

use crate::agent_sim::{Manager, eventually, set_ready};
use crate::support::{node, one_replica, register};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn endpoints_follow_pod_readiness() {
    run_bounded("endpoints", Duration::from_secs(90), endpoints());
}

#[test]
fn unreachable_node_is_tainted_and_drained() {
    run_bounded("node_lifecycle", Duration::from_secs(90), node_lifecycle());
}

#[test]
fn not_leading_creates_nothing() {
    run_bounded("manager_leadership", Duration::from_secs(90), leadership());
}

async fn create<K>(client: &Client, ns: &str, value: serde_json::Value) -> anyhow::Result<K>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + serde::Serialize,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    Ok(api
        .create(&PostParams::default(), &serde_json::from_value(value)?)
        .await?)
}

fn pod(name: &str, node: Option<&str>) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "web.wasm",
            "ports": [{"name": "http", "containerPort": 8080}]}]}})
}

/// The Endpoints' ready and not-ready address counts, and the slice's ready flags.
async fn addresses(client: &Client) -> anyhow::Result<(usize, usize, Vec<bool>)> {
    let Some(ep) = Api::<Endpoints>::namespaced(client.clone(), "default")
        .get_opt("web")
        .await?
    else {
        return Ok((0, 0, Vec::new()));
    };
    let subsets = ep.subsets.unwrap_or_default();
    let ready = subsets
        .iter()
        .map(|s| s.addresses.as_ref().map_or(0, Vec::len))
        .sum();
    let not_ready = subsets
        .iter()
        .map(|s| s.not_ready_addresses.as_ref().map_or(0, Vec::len))
        .sum();
    let slices = Api::<EndpointSlice>::namespaced(client.clone(), "default")
        .list(&ListParams::default().labels("kubernetes.io/service-name=web"))
        .await?;
    let mut flags: Vec<bool> = slices
        .items
        .iter()
        .flat_map(|s| s.endpoints.iter())
        .map(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false))
        .collect();
    flags.sort_unstable();
    Ok((ready, not_ready, flags))
}

async fn endpoints() -> anyhow::Result<()> {
    let (_replica, client) = one_replica("endpoints").await?;
    let manager = Manager::start(&client);
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    create::<Service>(&client, "default", json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})).await?;
    for name in ["a", "b"] {
        create::<Pod>(&client, "default", pod(name, None)).await?;
    }
    set_ready(&pods, "a", true, 1).await?;
    set_ready(&pods, "b", false, 2).await?;
    eventually("one ready, one not ready", LIMIT, || async {
        Ok(addresses(&client).await? == (1, 1, vec![false, true]))
    })
    .await?;
    set_ready(&pods, "b", true, 2).await?;
    eventually("both ready", LIMIT, || async {
        Ok(addresses(&client).await? == (2, 0, vec![true, true]))
    })
    .await?;
    set_ready(&pods, "a", false, 1).await?;
    eventually("a not ready again", LIMIT, || async {
        Ok(addresses(&client).await? == (1, 1, vec![false, true]))
    })
    .await?;
    manager.stop().await
}

async fn node_lifecycle() -> anyhow::Result<()> {
    let (_replica, client) = one_replica("nodelife").await?;
    register(&client, node("n1", "4", "8Gi", json!({}), Some("True"))).await?;
    let namespace =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-node-lease"}});
    let namespace: Namespace = serde_json::from_value(namespace)?;
    // It may exist already.
    let _ = Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await;
    let now = k8s_openapi::jiff::Timestamp::now();
    create::<Lease>(&client, "kube-node-lease", json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "n1"},
        "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40, "renewTime": now.to_string()}})).await?;
    create::<Pod>(&client, "default", pod("on-n1", Some("n1"))).await?;
    let manager = Manager::start(&client);
    let nodes: Api<Node> = Api::all(client.clone());
    eventually(
        "n1 Ready=Unknown and tainted unreachable",
        LIMIT,
        || async {
            let n = nodes.get("n1").await?;
            let unknown = n
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "Unknown");
            let tainted = n
                .spec
                .and_then(|s| s.taints)
                .unwrap_or_default()
                .iter()
                .any(|t| t.key == "node.kubernetes.io/unreachable" && t.effect == "NoExecute");
            Ok(unknown && tainted)
        },
    )
    .await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    eventually("the pod on n1 evicted", LIMIT, || async {
        Ok(pods
            .get_opt("on-n1")
            .await?
            .is_none_or(|p| p.metadata.deletion_timestamp.is_some()))
    })
    .await?;
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    eventually("the node-controller's Events", LIMIT, || async {
        let seen: Vec<(String, String, String)> = events
            .list(&ListParams::default())
            .await?
            .items
            .into_iter()
            .filter(|e| {
                e.source.as_ref().and_then(|s| s.component.as_deref()) == Some("node-controller")
            })
            .map(|e| {
                let about = e.involved_object.name.unwrap_or_default();
                (
                    about,
                    e.reason.unwrap_or_default(),
                    e.message.unwrap_or_default(),
                )
            })
            .collect();
        let has = |about: &str, reason: &str, message: &str| {
            seen.iter()
                .any(|(a, r, m)| a == about && r == reason && m == message)
        };
        Ok(
            has("n1", "NodeNotReady", "Node n1 status is now: NodeNotReady")
                && has(
                    "on-n1",
                    "TaintManagerEviction",
                    "Marking for deletion Pod default/on-n1",
                ),
        )
    })
    .await?;
    manager.stop().await
}

async fn leadership() -> anyhow::Result<()> {
    let (_replica, client) = one_replica("leading").await?;
    let manager = Manager::start(&client);
    manager.leading.send(false)?;
    sleep(Duration::from_millis(500)).await;
    create::<ReplicaSet>(
        &client,
        "default",
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "rs"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "web.wasm"}]}}}}),
    )
    .await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    sleep(Duration::from_secs(3)).await;
    let made = pods.list(&ListParams::default()).await?.items.len();
    anyhow::ensure!(made == 0, "{made} pods created while not leading");
    manager.leading.send(true)?;
    eventually("2 pods once leading", LIMIT, || async {
        Ok(pods
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .filter(|p| p.name_any().starts_with("rs-"))
            .count()
            == 2)
    })
    .await?;
    manager.stop().await
}
