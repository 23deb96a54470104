//! The Deployment and ReplicaSet controllers end to end: a Deployment gets one ReplicaSet and
//! its pods, scales up and down, and an image change rolls with maxSurge 1 / maxUnavailable 0
//! without ever going under the wanted count of ready pods (watched, every pod event), and
//! without any pod created twice for one slot (distinct pods per ReplicaSet counted).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher::{self, Event};
use kube::{Client, ResourceExt};
use serde_json::json;
use skiff_tests::run_bounded;
use tokio_util::sync::CancellationToken;

use crate::agent_sim::{Manager, eventually, is_ready, ready_agent};
use crate::support::one_replica;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn deployment_scales_and_rolls_without_going_under() {
    run_bounded("deployment_rollout", Duration::from_secs(150), scenario());
}

/// What the pod watch saw: pods by name (ready and not terminating), distinct uids per owner,
/// and the fewest ready pods while `rolling`.
#[derive(Default)]
struct Seen {
    ready: BTreeMap<String, bool>,
    uids: BTreeMap<String, BTreeSet<String>>,
    min_ready_while_rolling: Option<usize>,
}

fn watch_pods(
    client: &Client,
    seen: Arc<Mutex<Seen>>,
    rolling: Arc<AtomicBool>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    tokio::spawn(async move {
        let mut events = std::pin::pin!(watcher::watcher(api, watcher::Config::default()));
        loop {
            let event = tokio::select! {
                () = stop.cancelled() => return,
                e = events.next() => e,
            };
            let Some(Ok(event)) = event else { continue };
            let mut seen = skiff_sync::lock(&seen);
            match event {
                Event::Apply(p) | Event::InitApply(p) => {
                    let owner = p
                        .owner_references()
                        .first()
                        .map(|o| o.name.clone())
                        .unwrap_or_default();
                    seen.uids
                        .entry(owner)
                        .or_default()
                        .insert(p.uid().unwrap_or_default());
                    let up = is_ready(&p) && p.metadata.deletion_timestamp.is_none();
                    seen.ready.insert(p.name_any(), up);
                }
                Event::Delete(p) => {
                    seen.ready.remove(&p.name_any());
                }
                _ => continue,
            }
            if rolling.load(Ordering::SeqCst) {
                let now = seen.ready.values().filter(|r| **r).count();
                let min = seen.min_ready_while_rolling.map_or(now, |m| m.min(now));
                seen.min_ready_while_rolling = Some(min);
            }
        }
    })
}

fn deployment(replicas: i32, image: &str) -> anyhow::Result<Deployment> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]}
            }
        }
    }))?)
}

/// Waits until the Deployment reports `n` replicas, all updated and available, and the
/// namespace holds exactly `n` pods not being deleted.
async fn settled(client: &Client, n: i32) -> anyhow::Result<()> {
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    eventually(&format!("{n} available replicas"), LIMIT, || async {
        let d = deploys.get("web").await?;
        let s = d.status.unwrap_or_default();
        let live = pods
            .list(&ListParams::default())
            .await?
            .items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .count();
        let available = s
            .conditions
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Available" && c.status == "True");
        Ok(available
            && s.available_replicas == Some(n)
            && s.updated_replicas == Some(n)
            && s.replicas == Some(n)
            && live == usize::try_from(n)?)
    })
    .await
}

async fn scenario() -> anyhow::Result<()> {
    let (_replica, client) = one_replica("deploy").await?;
    let manager = Manager::start(&client);
    let stop = CancellationToken::new();
    let agent = ready_agent(&client, "default", stop.clone());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let rolling = Arc::new(AtomicBool::new(false));
    let watch = watch_pods(&client, seen.clone(), rolling.clone(), stop.clone());
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    deploys
        .create(&PostParams::default(), &deployment(3, "web-v1.wasm")?)
        .await?;
    settled(&client, 3).await?;
    let first = rss.list(&ListParams::default()).await?.items;
    anyhow::ensure!(
        first.len() == 1,
        "{} ReplicaSets for one template",
        first.len()
    );
    let first = first[0].name_any();
    for n in [5, 2] {
        let patch = json!({"spec": {"replicas": n}});
        deploys
            .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        settled(&client, n).await?;
    }
    rolling.store(true, Ordering::SeqCst);
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "web-v2.wasm"}]}}}});
    deploys
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    eventually("the old ReplicaSet at 0", LIMIT, || async {
        let old = rss.get(&first).await?;
        Ok(old.spec.and_then(|s| s.replicas) == Some(0))
    })
    .await?;
    settled(&client, 2).await?;
    rolling.store(false, Ordering::SeqCst);
    let all = rss.list(&ListParams::default()).await?.items;
    anyhow::ensure!(
        all.len() == 2,
        "{} ReplicaSets after one rollout",
        all.len()
    );
    stop.cancel();
    watch.await?;
    agent.await?;
    manager.stop().await?;
    let seen = skiff_sync::lock(&seen);
    let min = seen.min_ready_while_rolling;
    anyhow::ensure!(
        min.is_some_and(|m| m >= 2),
        "ready pods went down to {min:?} while rolling"
    );
    for rs in all {
        let name = rs.name_any();
        let want = if name == first { 5 } else { 2 };
        let made = seen.uids.get(&name).map_or(0, BTreeSet::len);
        anyhow::ensure!(
            made == want,
            "ReplicaSet {name} created {made} pods, not {want}"
        );
    }
    Ok(())
}
