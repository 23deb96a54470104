//! The Job controller end to end, with kubectl reading what it wrote: a Job of 3 completions,
//! 2 at a time, completes with exactly 3 pods and 3 counted (`kubectl wait
//! --for=condition=complete`, `kubectl get jobs` COMPLETIONS 3/3); a failing pod fails a Job
//! with backoffLimit 0; a Job over its activeDeadlineSeconds fails and loses its running pod;
//! a finished Job with ttlSecondsAfterFinished 0 is deleted, and its pod with it. The
//! manager's metrics counted the reconciles.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use skiff_controller_manager::{ManagerConfig, Metrics};
use skiff_tests::{Kubectl, run_bounded};
use tokio_util::sync::CancellationToken;

use crate::agent_sim::{Manager, eventually, finishing_agent};
use crate::support::{create, one_replica};

const LIMIT: Duration = Duration::from_secs(30);
const NS: &str = "jobs";

#[test]
fn jobs_complete_fail_and_expire() {
    run_bounded("jobs", Duration::from_secs(150), scenario());
}

/// A Job whose pods carry `outcome` (read by the simulated agent).
pub fn job(name: &str, outcome: &str, spec: Value) -> Value {
    let mut s = json!({"template": {
        "metadata": {"labels": {"outcome": outcome}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "job.wasm"}]}
    }});
    if let (Some(s), Some(extra)) = (s.as_object_mut(), spec.as_object()) {
        s.extend(extra.clone());
    }
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": s})
}

/// The reason of the Job's `type_` condition once it is True.
async fn condition(jobs: &Api<Job>, name: &str, type_: &str) -> anyhow::Result<String> {
    eventually(&format!("Job {name} {type_}"), LIMIT, || async {
        Ok(reason_of(jobs, name, type_).await?.is_some())
    })
    .await?;
    Ok(reason_of(jobs, name, type_).await?.unwrap_or_default())
}

async fn reason_of(jobs: &Api<Job>, name: &str, type_: &str) -> anyhow::Result<Option<String>> {
    let j = jobs.get(name).await?;
    let c = j.status.and_then(|s| s.conditions).unwrap_or_default();
    Ok(c.into_iter()
        .find(|c| c.type_ == type_ && c.status == "True")
        .map(|c| c.reason.unwrap_or_default()))
}

async fn pods_of(client: &Client, job: &str) -> anyhow::Result<Vec<Pod>> {
    let api: Api<Pod> = Api::namespaced(client.clone(), NS);
    let selector = format!("batch.kubernetes.io/job-name={job}");
    Ok(api
        .list(&ListParams::default().labels(&selector))
        .await?
        .items)
}

async fn scenario() -> anyhow::Result<()> {
    let (replica, client) = one_replica("jobs").await?;
    let kubectl = Kubectl::for_replica(&replica)?;
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}}))?;
    Api::<Namespace>::all(client.clone())
        .create(&Default::default(), &ns)
        .await?;
    let metrics = Metrics::default();
    let config = ManagerConfig {
        metrics: metrics.clone(),
        ..ManagerConfig::default()
    };
    let manager = Manager::start_with(&client, config);
    let stop = CancellationToken::new();
    let agent = finishing_agent(&client, NS, stop.clone());
    let jobs: Api<Job> = Api::namespaced(client.clone(), NS);
    completes(&client, &kubectl, &jobs).await?;
    fails(&client, &kubectl, &jobs).await?;
    expires(&client, &jobs).await?;
    stop.cancel();
    agent.await?;
    manager.stop().await?;
    counted(&metrics)
}

/// The manager counted the Job controller's reconciles, and renders them for `/metrics`.
fn counted(metrics: &Metrics) -> anyhow::Result<()> {
    let job = metrics.snapshot().get("job").copied().unwrap_or_default();
    anyhow::ensure!(job.reconciles >= 4, "job reconciles counted: {job:?}");
    anyhow::ensure!(
        job.in_flight == 0 && job.retrying == 0,
        "after the term: {job:?}"
    );
    let text = metrics.render();
    let line = format!(
        "skiff_controller_reconciles_total{{controller=\"job\"}} {}",
        job.reconciles
    );
    anyhow::ensure!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    Ok(())
}

async fn completes(client: &Client, kubectl: &Kubectl, jobs: &Api<Job>) -> anyhow::Result<()> {
    let spec = json!({"completions": 3, "parallelism": 2});
    create::<Job>(client, NS, job("ok", "succeed", spec)).await?;
    kubectl
        .ok(&[
            "-n",
            NS,
            "wait",
            "--for=condition=complete",
            "job/ok",
            "--timeout=30s",
        ])
        .await?;
    let status = jobs.get("ok").await?.status.unwrap_or_default();
    anyhow::ensure!(
        (
            status.succeeded,
            status.failed.unwrap_or(0),
            status.active.unwrap_or(0)
        ) == (Some(3), 0, 0),
        "status {status:?}"
    );
    anyhow::ensure!(status.completion_time.is_some() && status.start_time.is_some());
    let pods = pods_of(client, "ok").await?;
    anyhow::ensure!(pods.len() == 3, "{} pods for 3 completions", pods.len());
    anyhow::ensure!(
        pods.iter().all(|p| p.finalizers().is_empty()),
        "a tracking finalizer was left on a counted pod"
    );
    let table = kubectl.ok(&["-n", NS, "get", "jobs", "ok"]).await?;
    let row = table.lines().nth(1).unwrap_or_default();
    let columns: Vec<&str> = row.split_whitespace().collect();
    anyhow::ensure!(
        columns.get(..3) == Some(&["ok", "Complete", "3/3"][..]),
        "kubectl get jobs printed\n{table}"
    );
    // DURATION: from startTime to completionTime, in kubectl's words ("3s").
    let duration = columns.get(3).copied().unwrap_or_default();
    anyhow::ensure!(
        duration.ends_with('s') && duration[..duration.len() - 1].parse::<u32>().is_ok(),
        "DURATION {duration:?} in\n{table}"
    );
    Ok(())
}

async fn fails(client: &Client, kubectl: &Kubectl, jobs: &Api<Job>) -> anyhow::Result<()> {
    create::<Job>(client, NS, job("bad", "fail", json!({"backoffLimit": 0}))).await?;
    kubectl
        .ok(&[
            "-n",
            NS,
            "wait",
            "--for=condition=failed",
            "job/bad",
            "--timeout=30s",
        ])
        .await?;
    anyhow::ensure!(condition(jobs, "bad", "Failed").await? == "BackoffLimitExceeded");
    let status = jobs.get("bad").await?.status.unwrap_or_default();
    anyhow::ensure!(status.failed == Some(1), "status {status:?}");
    anyhow::ensure!(
        pods_of(client, "bad").await?.len() == 1,
        "a failed pod was replaced"
    );
    Ok(())
}

async fn expires(client: &Client, jobs: &Api<Job>) -> anyhow::Result<()> {
    let spec = json!({"activeDeadlineSeconds": 2});
    create::<Job>(client, NS, job("slow", "run", spec)).await?;
    anyhow::ensure!(condition(jobs, "slow", "Failed").await? == "DeadlineExceeded");
    eventually("the running pod of an expired Job gone", LIMIT, || async {
        Ok(pods_of(client, "slow").await?.is_empty())
    })
    .await?;
    // The pod's end is counted by the reconcile after its deletion (it is recorded in
    // uncountedTerminatedPods until then), so the count may trail the pod's removal a little.
    eventually("the expired Job counts its pod failed", LIMIT, || async {
        let status = jobs.get("slow").await?.status.unwrap_or_default();
        Ok(status.failed == Some(1) && status.active == Some(0))
    })
    .await?;
    let spec = json!({"ttlSecondsAfterFinished": 0});
    create::<Job>(client, NS, job("brief", "succeed", spec)).await?;
    eventually("the finished Job deleted by its TTL", LIMIT, || async {
        Ok(jobs.get_opt("brief").await?.is_none())
    })
    .await?;
    // Its pod goes with it (the garbage collector), counted or not: no finalizer holds it.
    eventually("the expired Job's pod collected", LIMIT, || async {
        Ok(pods_of(client, "brief").await?.is_empty())
    })
    .await?;
    Ok(())
}
