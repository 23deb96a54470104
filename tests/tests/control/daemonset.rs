//! The DaemonSet and ReplicationController controllers end to end, with the scheduler binding
//! the daemon pods: a DaemonSet runs one pod on each node it fits (not on a node whose taint it
//! does not tolerate), `kubectl rollout status` follows it, an image change rolls node by node
//! with never more than maxUnavailable (1) node without an available pod, a toleration brings
//! the tainted node in, and a deleted node loses its pod. A ReplicationController keeps its
//! replicas.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, ReplicationController};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::watcher::{self, Event};
use kube::{Client, ResourceExt};
use serde_json::json;
use skiff_tests::{Kubectl, run_bounded};
use tokio_util::sync::CancellationToken;

use crate::agent_sim::{Manager, eventually, heartbeats, is_ready, node_agent};
use crate::support::{create, node, one_replica, register};

const NS: &str = "ds";
const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn daemonset_runs_everywhere_it_fits_and_rolls() {
    run_bounded("daemonset", Duration::from_secs(150), scenario());
}

fn daemonset() -> serde_json::Value {
    json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {"metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "c", "image": "agent-v1.wasm"}]}}}})
}

/// Live daemon pods by the node they are bound to.
async fn by_node(client: &Client) -> anyhow::Result<BTreeMap<String, Vec<Pod>>> {
    let pods = Api::<Pod>::namespaced(client.clone(), NS)
        .list(&ListParams::default().labels("app=agent"))
        .await?;
    let mut out: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
    for p in pods
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
    {
        let node = p
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        out.entry(node).or_default().push(p);
    }
    Ok(out)
}

async fn placed_on(client: &Client, nodes: &[&str]) -> anyhow::Result<()> {
    let want: BTreeSet<String> = nodes.iter().map(|n| n.to_string()).collect();
    eventually(&format!("daemon pods on {nodes:?}"), LIMIT, || async {
        let now = by_node(client).await?;
        let placed: BTreeSet<String> = now.keys().cloned().collect();
        Ok(placed == want && now.values().all(|p| p.len() == 1 && is_ready(&p[0])))
    })
    .await
}

/// Counts, on every pod event while a rollout runs, the nodes without a ready pod.
fn watch_gaps(
    client: &Client,
    nodes: usize,
    worst: Arc<Mutex<usize>>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let api: Api<Pod> = Api::namespaced(client.clone(), NS);
    tokio::spawn(async move {
        let mut events = std::pin::pin!(watcher::watcher(api, watcher::Config::default()));
        let mut ready: BTreeMap<String, (String, bool)> = BTreeMap::new();
        let mut listed = false;
        loop {
            let event = tokio::select! {
                () = stop.cancelled() => return,
                e = events.next() => e,
            };
            match event {
                Some(Ok(Event::Apply(p) | Event::InitApply(p))) => {
                    let node = p
                        .spec
                        .as_ref()
                        .and_then(|s| s.node_name.clone())
                        .unwrap_or_default();
                    let up = is_ready(&p) && p.metadata.deletion_timestamp.is_none();
                    ready.insert(p.name_any(), (node, up));
                }
                Some(Ok(Event::Delete(p))) => {
                    ready.remove(&p.name_any());
                }
                Some(Ok(Event::InitDone)) => listed = true,
                _ => continue,
            }
            if !listed {
                continue;
            }
            let served: BTreeSet<&String> = ready
                .values()
                .filter(|(node, up)| *up && !node.is_empty())
                .map(|(n, _)| n)
                .collect();
            let gaps = nodes.saturating_sub(served.len());
            let mut worst = skiff_sync::lock(&worst);
            *worst = (*worst).max(gaps);
        }
    })
}

async fn scenario() -> anyhow::Result<()> {
    let (replica, client) = one_replica("daemonset").await?;
    let kubectl = Kubectl::for_replica(&replica)?;
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}}))?;
    Api::<Namespace>::all(client.clone())
        .create(&Default::default(), &ns)
        .await?;
    for name in ["a", "b", "d"] {
        register(&client, node(name, "4", "8Gi", json!({}), Some("True"))).await?;
    }
    let mut tainted = node("c", "4", "8Gi", json!({}), Some("True"));
    tainted["spec"] =
        json!({"taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]});
    register(&client, tainted).await?;
    let stop = CancellationToken::new();
    let beats = heartbeats(&client, &["a", "b", "c", "d"], stop.clone());
    let manager = Manager::start(&client);
    let (_lead, leading) = tokio::sync::watch::channel(true);
    let scheduler = tokio::spawn(skiff_scheduler::run(client.clone(), leading, stop.clone()));
    let agent = node_agent(&client, NS, stop.clone());
    create::<DaemonSet>(&client, NS, daemonset()).await?;
    placed_on(&client, &["a", "b", "d"]).await?;
    kubectl
        .ok(&["-n", NS, "rollout", "status", "ds/agent", "--timeout=30s"])
        .await?;
    let dss: Api<DaemonSet> = Api::namespaced(client.clone(), NS);
    let ds = dss.get("agent").await?;
    let s = ds.status.clone().unwrap_or_default();
    anyhow::ensure!(
        (
            s.desired_number_scheduled,
            s.current_number_scheduled,
            s.number_ready,
            s.number_available,
            s.updated_number_scheduled,
            s.observed_generation
        ) == (3, 3, 3, Some(3), Some(3), ds.metadata.generation),
        "status {s:?}"
    );
    rolls(&client, &kubectl, &dss).await?;
    let patch = json!({"spec": {"template": {"spec": {"tolerations": [{"key": "dedicated", "operator": "Exists"}]}}}});
    dss.patch("agent", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    placed_on(&client, &["a", "b", "c", "d"]).await?;
    Api::<Node>::all(client.clone())
        .delete("b", &DeleteParams::default())
        .await?;
    placed_on(&client, &["a", "c", "d"]).await?;
    replication_controller(&client).await?;
    stop.cancel();
    agent.await?;
    beats.await?;
    scheduler.await??;
    manager.stop().await
}

/// An image change rolls one node at a time and ends with every pod on the new image.
async fn rolls(client: &Client, kubectl: &Kubectl, dss: &Api<DaemonSet>) -> anyhow::Result<()> {
    let worst = Arc::new(Mutex::new(0));
    let stop = CancellationToken::new();
    let gaps = watch_gaps(client, 3, worst.clone(), stop.clone());
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "agent-v2.wasm"}]}}}});
    dss.patch("agent", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    kubectl
        .ok(&["-n", NS, "rollout", "status", "ds/agent", "--timeout=60s"])
        .await?;
    eventually("every daemon pod on v2", LIMIT, || async {
        let now = by_node(client).await?;
        Ok(now.len() == 3
            && now.values().flatten().all(|p| {
                p.spec
                    .as_ref()
                    .is_some_and(|s| s.containers[0].image.as_deref() == Some("agent-v2.wasm"))
            }))
    })
    .await?;
    stop.cancel();
    gaps.await?;
    let worst = *skiff_sync::lock(&worst);
    anyhow::ensure!(
        worst <= 1,
        "{worst} nodes were without a ready daemon pod at once"
    );
    Ok(())
}

async fn replication_controller(client: &Client) -> anyhow::Result<()> {
    let rc = json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "old"},
        "spec": {"replicas": 2, "selector": {"app": "old"},
            "template": {"metadata": {"labels": {"app": "old"}},
                "spec": {"containers": [{"name": "c", "image": "old.wasm"}]}}}});
    create::<ReplicationController>(client, NS, rc).await?;
    let rcs: Api<ReplicationController> = Api::namespaced(client.clone(), NS);
    eventually(
        "the ReplicationController's 2 ready replicas",
        LIMIT,
        || async {
            let s = rcs.get("old").await?.status.unwrap_or_default();
            Ok(s.replicas == 2 && s.ready_replicas == Some(2))
        },
    )
    .await?;
    let pods = Api::<Pod>::namespaced(client.clone(), NS)
        .list(&ListParams::default().labels("app=old"))
        .await?;
    anyhow::ensure!(
        pods.items.len() == 2,
        "{} pods for 2 replicas",
        pods.items.len()
    );
    Ok(())
}
