//! The garbage collector end to end, driven by kubectl's three cascades on a Deployment of 2
//! pods: `kubectl delete deploy` (background) takes its ReplicaSet and pods after it;
//! `--cascade=orphan` leaves them, freed of their owner reference; `--cascade=foreground`
//! returns only once the ReplicaSet and pods are gone (kubectl waits for the Deployment,
//! which waits for them). A running Job deleted in the foreground goes with its pods, whose
//! tracking finalizers the Job controller removes.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use skiff_tests::{Kubectl, run_bounded};
use tokio_util::sync::CancellationToken;

use crate::agent_sim::{Manager, eventually, ready_agent};
use crate::support::{create, one_replica};

const NS: &str = "gc";
const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn deleting_a_deployment_cascades_three_ways() {
    run_bounded("gc_cascades", Duration::from_secs(150), scenario());
}

fn deployment(app: &str) -> serde_json::Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": app}},
            "template": {"metadata": {"labels": {"app": app}},
                "spec": {"containers": [{"name": "c", "image": "web.wasm"}]}}}})
}

/// The ReplicaSets and the pods of `app` (those being deleted too).
async fn family(client: &Client, app: &str) -> anyhow::Result<(Vec<ReplicaSet>, Vec<Pod>)> {
    let selector = format!("app={app}");
    let lp = ListParams::default().labels(&selector);
    let rss = Api::<ReplicaSet>::namespaced(client.clone(), NS)
        .list(&lp)
        .await?
        .items;
    let pods = Api::<Pod>::namespaced(client.clone(), NS)
        .list(&lp)
        .await?
        .items;
    Ok((rss, pods))
}

/// Creates the Deployment `app` and waits for its ReplicaSet and 2 pods.
async fn deployed(client: &Client, app: &str) -> anyhow::Result<()> {
    create::<Deployment>(client, NS, deployment(app)).await?;
    eventually(
        &format!("{app}: a ReplicaSet and 2 pods"),
        LIMIT,
        || async {
            let (rss, pods) = family(client, app).await?;
            Ok(rss.len() == 1 && pods.len() == 2)
        },
    )
    .await
}

async fn scenario() -> anyhow::Result<()> {
    let (replica, client) = one_replica("gc").await?;
    let kubectl = Kubectl::for_replica(&replica)?;
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}}))?;
    Api::<Namespace>::all(client.clone())
        .create(&Default::default(), &ns)
        .await?;
    let manager = Manager::start(&client);
    let stop = CancellationToken::new();
    let agent = ready_agent(&client, NS, stop.clone());
    for app in ["background", "orphan", "foreground"] {
        deployed(&client, app).await?;
    }
    kubectl
        .ok(&["-n", NS, "delete", "deploy", "background"])
        .await?;
    eventually(
        "background: ReplicaSet and pods collected",
        LIMIT,
        || async {
            let (rss, pods) = family(&client, "background").await?;
            Ok(rss.is_empty() && pods.is_empty())
        },
    )
    .await?;
    let flags = ["-n", NS, "delete", "deploy", "orphan", "--cascade=orphan"];
    kubectl.ok(&flags).await?;
    // The orphans stay, and stay (a second look a moment later).
    for _ in 0..2 {
        let (rss, pods) = family(&client, "orphan").await?;
        anyhow::ensure!(
            rss.len() == 1 && pods.len() == 2,
            "orphan: {} ReplicaSets and {} pods left",
            rss.len(),
            pods.len()
        );
        anyhow::ensure!(
            rss[0].owner_references().is_empty(),
            "orphan: the ReplicaSet still names its deleted owner"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let flags = [
        "-n",
        NS,
        "delete",
        "deploy",
        "foreground",
        "--cascade=foreground",
    ];
    kubectl.ok(&flags).await?;
    let (rss, pods) = family(&client, "foreground").await?;
    anyhow::ensure!(
        rss.is_empty() && pods.is_empty(),
        "foreground: the Deployment went before its {} ReplicaSets and {} pods",
        rss.len(),
        pods.len()
    );
    job_in_the_foreground(&client, &kubectl).await?;
    let left = Api::<Deployment>::namespaced(client.clone(), NS)
        .list(&ListParams::default())
        .await?;
    anyhow::ensure!(
        left.items.is_empty(),
        "Deployments left: {:?}",
        left.items
            .iter()
            .map(ResourceExt::name_any)
            .collect::<Vec<_>>()
    );
    stop.cancel();
    agent.await?;
    manager.stop().await
}

/// A running Job deleted in the foreground: its pods carry the Job tracking finalizer, so
/// the collector, the Job controller and the API server must each do their part before
/// kubectl sees the Job gone, and no pod is left behind.
async fn job_in_the_foreground(client: &Client, kubectl: &Kubectl) -> anyhow::Result<()> {
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "work"},
        "spec": {"parallelism": 2, "completions": 4, "template": {
            "metadata": {"labels": {"app": "work"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "work.wasm"}]}}}});
    create::<Job>(client, NS, job).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let lp = ListParams::default().labels("app=work");
    eventually("the Job's 2 pods running", LIMIT, || async {
        Ok(pods.list(&lp).await?.items.len() == 2)
    })
    .await?;
    let flags = ["-n", NS, "delete", "job", "work", "--cascade=foreground"];
    kubectl.ok(&flags).await?;
    let left = pods.list(&lp).await?.items;
    anyhow::ensure!(
        left.is_empty(),
        "the Job went before its pods: {:?}",
        left.iter()
            .map(|p| (p.name_any(), p.finalizers().to_vec()))
            .collect::<Vec<_>>()
    );
    Ok(())
}
