//! The scheduler and controller manager as `skiff server` runs them: in every replica's
//! process, acting only while holding their Leases. Three replicas; a Deployment comes up on
//! two registered Nodes (a stand-in agent marks pods Ready); then the replica holding the
//! controller-manager Lease is killed with SIGKILL in the middle of a rollout, another replica
//! takes both Leases over, and the rollout finishes with no pod created twice for one
//! ReplicaSet slot.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::task::JoinHandle;

use anyhow::Context;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Endpoints, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use skiff_tests::{Cluster, ReplicaOptions, run_bounded};
use tokio_util::sync::CancellationToken;

use crate::agent_sim::{eventually, ready_agent};
use crate::support::{admin_client, node, register};

const REPLICAS: i32 = 4;
const LIMIT: Duration = Duration::from_secs(40);

#[test]
fn components_fail_over_with_their_replica() {
    run_bounded(
        "components_fail_over_with_their_replica",
        Duration::from_secs(180),
        scenario(),
    );
}

/// The `default/kubernetes` Endpoints name every replica (`ip:port` of its URL).
async fn control_plane_endpoints(client: &Client, cluster: &Cluster) -> anyhow::Result<()> {
    let api: Api<Endpoints> = Api::namespaced(client.clone(), "default");
    let mut want: Vec<String> = cluster
        .replicas
        .iter()
        .map(|r| r.url().trim_start_matches("https://").to_owned())
        .collect();
    want.sort();
    let listed = || async {
        let Some(e) = api.get_opt("kubernetes").await? else {
            return anyhow::Ok(Vec::new());
        };
        let mut seen: Vec<String> = Vec::new();
        for subset in e.subsets.unwrap_or_default() {
            let ports = subset.ports.unwrap_or_default();
            for a in subset.addresses.unwrap_or_default() {
                seen.extend(ports.iter().map(|p| format!("{}:{}", a.ip, p.port)));
            }
        }
        seen.sort();
        Ok(seen)
    };
    eventually(
        "the kubernetes Endpoints name every replica",
        LIMIT,
        || async { Ok(listed().await? == want) },
    )
    .await
}

/// The replica id (16 hex digits) holding the Lease `name` in kube-system.
async fn holder(client: &Client, name: &str) -> anyhow::Result<Option<String>> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    let lease = leases.get_opt(name).await?;
    Ok(lease.and_then(|l| l.spec?.holder_identity))
}

fn deployment(image: &str) -> anyhow::Result<Deployment> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "c", "image": image}]}}
        }
    }))?)
}

/// Whether the Deployment has rolled out `image` completely.
async fn rolled_out(api: &Api<Deployment>, image: &str) -> anyhow::Result<bool> {
    let d = api.get("web").await?;
    let spec_image = d.spec.as_ref().and_then(|s| s.template.spec.as_ref());
    let status = d.status.unwrap_or_default();
    Ok(
        spec_image.is_some_and(|s| s.containers[0].image.as_deref() == Some(image))
            && status.observed_generation == d.metadata.generation
            && status.updated_replicas == Some(REPLICAS)
            && status.available_replicas == Some(REPLICAS)
            && status.replicas == Some(REPLICAS),
    )
}

/// Whether every ReplicaSet's status reflects its current spec: the ReplicaSet controller
/// reconciled its last change (the failover once left an old ReplicaSet scaled to 0 whose
/// status never caught up).
async fn replica_sets_caught_up(api: &Api<ReplicaSet>) -> anyhow::Result<bool> {
    let all = api.list(&ListParams::default()).await?;
    Ok(all.items.iter().all(|rs| {
        let status = rs.status.as_ref();
        let want = rs.spec.as_ref().and_then(|s| s.replicas);
        status.and_then(|s| s.observed_generation) == rs.metadata.generation
            && status.map(|s| s.replicas) == want
    }))
}

async fn scenario() -> anyhow::Result<()> {
    let options = |i: usize| {
        ReplicaOptions::new(&format!("components-{i}")).args(["--leader-elect-lease-duration", "3"])
    };
    let mut cluster = Cluster::start(3, options).await?;
    let client = admin_client(&cluster.replicas[0]).await?;
    control_plane_endpoints(&client, &cluster).await?;
    for name in ["n1", "n2"] {
        register(&client, node(name, "4", "8Gi", json!({}), Some("True"))).await?;
    }
    let stop = CancellationToken::new();
    let agent = ready_agent(&client, "default", stop.clone());
    let created = Created::default();
    let recorder = record_pods(&client, created.clone(), stop.clone());
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    deployments
        .create(&PostParams::default(), &deployment("v1.wasm")?)
        .await?;
    eventually("the Deployment is available", LIMIT, || {
        rolled_out(&deployments, "v1.wasm")
    })
    .await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let bound = pods.list(&ListParams::default()).await?;
    anyhow::ensure!(
        bound
            .items
            .iter()
            .all(|p| p.spec.as_ref().and_then(|s| s.node_name.clone()).is_some()),
        "every pod is bound by the in-process scheduler"
    );

    let cm_holder = holder(&client, "kube-controller-manager")
        .await?
        .context("no controller-manager Lease")?;
    holder(&client, "kube-scheduler")
        .await?
        .context("no scheduler Lease")?;
    let victim = cluster
        .replicas
        .iter()
        .position(|r| format!("{:016x}", r.id) == cm_holder)
        .with_context(|| format!("no replica has id {cm_holder}"))?;
    // From here on, the test and its stand-in agent talk to a replica that survives.
    let survivor = (victim + 1) % 3;
    let client = admin_client(&cluster.replicas[survivor]).await?;
    stop.cancel();
    agent.await?;
    recorder.await?;
    let stop = CancellationToken::new();
    let agent = ready_agent(&client, "default", stop.clone());
    let recorder = record_pods(&client, created.clone(), stop.clone());
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "v2.wasm"}]}}}});
    deployments
        .patch("web", &PatchParams::default(), &Patch::Strategic(&patch))
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.replicas[victim].kill9();

    let replica_sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let finished = eventually("the rollout finishes after the failover", LIMIT, || async {
        Ok(rolled_out(&deployments, "v2.wasm").await?
            && replica_sets_caught_up(&replica_sets).await?)
    })
    .await;
    if let Err(e) = finished {
        return Err(e.context(state(&client).await?));
    }
    // A fast (release) build can finish the rollout on the old leader before its replica is
    // killed; the Lease then moves once it expires.
    eventually("the Lease moved to a live replica", LIMIT, || async {
        let new_holder = holder(&client, "kube-controller-manager").await?;
        Ok(new_holder.as_deref().is_some_and(|h| h != cm_holder))
    })
    .await?;
    stop.cancel();
    agent.await?;
    recorder.await?;
    no_slot_filled_twice(&created)
}

/// The Deployment's status, ReplicaSets and pods, for a failure message.
async fn state(client: &Client) -> anyhow::Result<String> {
    let d: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let rs: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut out = format!("deployment status: {:?}\n", d.get("web").await?.status);
    for r in rs.list(&ListParams::default()).await? {
        out += &format!(
            "rs {}: spec {:?} status {:?}\n",
            r.name_any(),
            r.spec.map(|s| s.replicas),
            r.status
        );
    }
    for p in pods.list(&ListParams::default()).await? {
        let owner = p.owner_references().first().map(|o| o.name.clone());
        out += &format!(
            "pod {} owner {owner:?} node {:?} deleting {} ready {}\n",
            p.name_any(),
            p.spec.as_ref().and_then(|s| s.node_name.clone()),
            p.metadata.deletion_timestamp.is_some(),
            crate::agent_sim::is_ready(&p)
        );
    }
    Ok(out)
}

type Created = Arc<Mutex<BTreeMap<String, BTreeSet<String>>>>;

/// Records the uid of every pod ever seen, by owning ReplicaSet, until `stop`.
fn record_pods(client: &Client, seen: Created, stop: CancellationToken) -> JoinHandle<()> {
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    tokio::spawn(async move {
        let events = watcher(api, watcher::Config::default()).default_backoff();
        let mut pods = std::pin::pin!(events.applied_objects());
        loop {
            let pod = tokio::select! {
                () = stop.cancelled() => return,
                pod = pods.next() => pod,
            };
            let Some(Ok(pod)) = pod else { continue };
            let owner = pod.owner_references().first().map(|o| o.name.clone());
            skiff_sync::lock(&seen)
                .entry(owner.unwrap_or_default())
                .or_default()
                .insert(pod.uid().unwrap_or_default());
        }
    })
}

/// Each ReplicaSet made exactly `REPLICAS` pods over its life: one per slot (the rollout
/// needs no replacements, as no pod fails).
fn no_slot_filled_twice(seen: &Created) -> anyhow::Result<()> {
    let seen = skiff_sync::lock(seen);
    let counts: Vec<usize> = seen.values().map(BTreeSet::len).collect();
    anyhow::ensure!(
        counts == [REPLICAS as usize; 2],
        "pods ever created, by ReplicaSet: {seen:?}"
    );
    Ok(())
}
