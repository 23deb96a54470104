//! The scheduler against a real API server: pods are bound only to Ready nodes with room,
//! spread by least allocation; a pod that fits nowhere gets PodScheduled=False and a
//! FailedScheduling event in kube-scheduler's words; it is placed once a node changes so that
//! it fits.

use std::time::Duration;

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use skiff_tests::run_bounded;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

use crate::support::{admin_client, node, one_replica, register};
use skiff_tests::api_client::ApiClient;
use skiff_tests::{Replica, ReplicaOptions};

#[test]
fn scheduler_binds_fitting_pods_and_explains_the_rest() {
    run_bounded("scheduler_binds", Duration::from_secs(120), scenario());
}

#[test]
fn server_metrics_count_scheduling_attempts() {
    run_bounded(
        "scheduler_metrics",
        Duration::from_secs(120),
        metrics_scenario(),
    );
}

fn pod(name: &str, cpu: &str, memory: &str, selector: Option<(&str, &str)>) -> anyhow::Result<Pod> {
    let mut spec = json!({"containers": [{"name": "c", "image": "hello.wasm",
        "resources": {"requests": {"cpu": cpu, "memory": memory}}}]});
    if let Some((k, v)) = selector {
        spec["nodeSelector"] = json!({ k: v });
    }
    Ok(serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec
    }))?)
}

async fn scenario() -> anyhow::Result<()> {
    let (_replica, client) = one_replica("sched").await?;
    register(
        &client,
        node("n1", "2", "2Gi", json!({"zone": "a"}), Some("True")),
    )
    .await?;
    register(
        &client,
        node("n2", "2", "4Gi", json!({"zone": "b"}), Some("True")),
    )
    .await?;
    register(
        &client,
        node("n3", "64", "64Gi", json!({"zone": "a"}), Some("False")),
    )
    .await?;

    let shutdown = CancellationToken::new();
    let (_lead, leading) = tokio::sync::watch::channel(true);
    let scheduler = tokio::spawn(skiff_scheduler::run(
        client.clone(),
        leading,
        shutdown.clone(),
    ));

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    for i in 0..4 {
        pods.create(
            &PostParams::default(),
            &pod(&format!("w{i}"), "500m", "512Mi", None)?,
        )
        .await?;
    }
    pods.create(&PostParams::default(), &pod("huge", "100m", "8Gi", None)?)
        .await?;
    pods.create(
        &PostParams::default(),
        &pod("zoned", "100m", "1Mi", Some(("zone", "c")))?,
    )
    .await?;

    let mut placed = Vec::new();
    for i in 0..4 {
        placed.push(bound_to(&pods, &format!("w{i}")).await?);
    }
    anyhow::ensure!(
        placed.iter().all(|n| n == "n1" || n == "n2"),
        "a pod went to the node that is not Ready: {placed:?}"
    );
    anyhow::ensure!(
        placed.contains(&"n1".to_owned()) && placed.contains(&"n2".to_owned()),
        "least-allocated scoring should use both nodes: {placed:?}"
    );

    let why = failed_scheduling(&client, "huge").await?;
    let want = "0/3 nodes are available: 1 node(s) had untolerated taint \
                {node.kubernetes.io/not-ready: }, 2 Insufficient memory.";
    anyhow::ensure!(
        why == want,
        "FailedScheduling said {why:?}, expected {want:?}"
    );
    let huge = pods.get("huge").await?;
    let condition = huge
        .status
        .and_then(|s| s.conditions)
        .and_then(|c| c.into_iter().find(|c| c.type_ == "PodScheduled"))
        .context("no PodScheduled condition on the unschedulable pod")?;
    anyhow::ensure!(
        condition.status == "False" && condition.reason.as_deref() == Some("Unschedulable"),
        "PodScheduled is {condition:?}"
    );
    let zoned = failed_scheduling(&client, "zoned").await?;
    anyhow::ensure!(
        zoned.contains("3 node(s) didn't match Pod's node affinity/selector")
            || zoned.contains("didn't match Pod's node affinity/selector"),
        "zoned: {zoned}"
    );

    // A node that starts to match is used without any change to the pod.
    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .patch(
            "n2",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"zone": "c"}}})),
        )
        .await?;
    let to = bound_to(&pods, "zoned").await?;
    anyhow::ensure!(to == "n2", "zoned went to {to}");

    shutdown.cancel();
    scheduler.await?.context("the scheduler loop")?;
    Ok(())
}

/// Waits until the pod names a node; the node.
async fn bound_to(pods: &Api<Pod>, name: &str) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let pod = pods.get(name).await?;
        if let Some(node) = pod.spec.and_then(|s| s.node_name).filter(|n| !n.is_empty()) {
            return Ok(node);
        }
        if Instant::now() >= deadline {
            bail!("{name} was not bound within 20 s");
        }
        sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the pod's FailedScheduling event; its message.
async fn failed_scheduling(client: &kube::Client, pod: &str) -> anyhow::Result<String> {
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = events.list(&ListParams::default()).await?;
        if let Some(event) = list.items.into_iter().find(|e| {
            e.reason.as_deref() == Some("FailedScheduling")
                && e.involved_object.name.as_deref() == Some(pod)
        }) {
            return event.message.context("an event without a message");
        }
        if Instant::now() >= deadline {
            bail!("no FailedScheduling event for {pod} within 20 s");
        }
        sleep(Duration::from_millis(100)).await;
    }
}

/// The server's own scheduler counts a bound pod and an unschedulable one at `/metrics`, with
/// kube-scheduler's metric names.
async fn metrics_scenario() -> anyhow::Result<()> {
    let options = ReplicaOptions::new("sched-metrics").args(["--disable-controller-manager"]);
    let replica = Replica::start(options).await?;
    let client = admin_client(&replica).await?;
    let admin = ApiClient::admin(&replica)?;
    register(&client, node("m1", "2", "2Gi", json!({}), Some("True"))).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(&PostParams::default(), &pod("fits", "100m", "64Mi", None)?)
        .await?;
    pods.create(
        &PostParams::default(),
        &pod("too-big", "100m", "8Gi", None)?,
    )
    .await?;
    anyhow::ensure!(bound_to(&pods, "fits").await? == "m1");
    failed_scheduling(&client, "too-big").await?;

    let attempts = |result: &str| {
        format!(
            "scheduler_schedule_attempts_total{{profile=\"default-scheduler\",result=\"{result}\"}}"
        )
    };
    // The binding's answer is counted a moment after the pod shows bound.
    let deadline = Instant::now() + Duration::from_secs(10);
    while admin.metric(&attempts("scheduled")).await? < 1 {
        anyhow::ensure!(Instant::now() < deadline, "no scheduled attempt counted");
        sleep(Duration::from_millis(100)).await;
    }
    anyhow::ensure!(admin.metric(&attempts("scheduled")).await? == 1);
    anyhow::ensure!(admin.metric(&attempts("unschedulable")).await? >= 1);
    anyhow::ensure!(admin.metric(&attempts("error")).await? == 0);
    let bound_once = admin
        .metric("scheduler_pod_scheduling_attempts_bucket{le=\"1\"}")
        .await?;
    anyhow::ensure!(
        bound_once == 1,
        "pods bound at the first attempt: {bound_once}"
    );
    let timed = admin
        .metric("scheduler_scheduling_attempt_duration_seconds_count{profile=\"default-scheduler\",result=\"scheduled\"}")
        .await?;
    anyhow::ensure!(timed == 1, "scheduled attempts timed: {timed}");
    let waiting = admin
        .metric("scheduler_pending_pods{queue=\"unschedulable\"}")
        .await?;
    anyhow::ensure!(waiting == 1, "unschedulable pods pending: {waiting}");
    Ok(())
}
