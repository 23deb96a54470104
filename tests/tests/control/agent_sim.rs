//! Test helpers for the controller manager: running it with `leading` under the test's
//! control, and a stand-in for the node agents that marks pods Running and Ready.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::json;
use skiff_controller_manager::ManagerConfig;
use skiff_controllers::node_lifecycle::NodeLifecycleParams;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

/// A running controller manager; [`Manager::stop`] cancels and awaits it.
pub struct Manager {
    pub leading: watch::Sender<bool>,
    stop: CancellationToken,
    task: JoinHandle<Result<(), skiff_controller_manager::ManagerError>>,
}

impl Manager {
    /// Starts the manager, leading from the start, with node times shortened.
    pub fn start(client: &Client) -> Manager {
        Manager::start_with(client, ManagerConfig::default())
    }

    /// [`Manager::start`] with `config` (node times shortened all the same).
    pub fn start_with(client: &Client, config: ManagerConfig) -> Manager {
        let (leading, rx) = watch::channel(true);
        let stop = CancellationToken::new();
        let config = ManagerConfig {
            node_lifecycle: NodeLifecycleParams {
                grace_period_secs: 3,
                default_toleration_secs: 3,
            },
            ..config
        };
        let run = skiff_controller_manager::run(client.clone(), rx, stop.clone(), config);
        Manager {
            leading,
            stop,
            task: tokio::spawn(run),
        }
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task).await???;
        Ok(())
    }
}

/// Marks every pod of `namespace` that is not being deleted Running and Ready (with a pod IP),
/// and removes those being deleted, as an agent would, until cancelled.
pub fn ready_agent(client: &Client, namespace: &str, stop: CancellationToken) -> JoinHandle<()> {
    agent(client, namespace, false, stop)
}

/// [`ready_agent`] for pods bound to a node only, as real agents run only their own pods
/// (for tests with a scheduler).
pub fn node_agent(client: &Client, namespace: &str, stop: CancellationToken) -> JoinHandle<()> {
    agent(client, namespace, true, stop)
}

fn agent(
    client: &Client,
    namespace: &str,
    bound_only: bool,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    tokio::spawn(async move {
        let pods = watcher(api.clone(), watcher::Config::default())
            .default_backoff()
            .applied_objects();
        let mut pods = std::pin::pin!(pods);
        let mut next_ip = 2u32;
        loop {
            let pod = tokio::select! {
                () = stop.cancelled() => return,
                pod = pods.next() => pod,
            };
            let Some(Ok(pod)) = pod else { continue };
            if pod.metadata.deletion_timestamp.is_some() {
                // Stopped: the agent removes the pod (a graceful deletion's last step).
                let _ = api
                    .delete(&pod.name_any(), &DeleteParams::default().grace_period(0))
                    .await;
                continue;
            }
            let bound = pod.spec.as_ref().is_some_and(|s| s.node_name.is_some());
            if is_ready(&pod) || (bound_only && !bound) {
                continue;
            }
            next_ip += 1;
            let _ = set_ready(&api, &pod.name_any(), true, next_ip).await;
        }
    })
}

pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Writes phase Running, a pod IP and Ready=`ready` through `pods/status`.
pub async fn set_ready(api: &Api<Pod>, name: &str, ready: bool, ip: u32) -> kube::Result<Pod> {
    let status = if ready { "True" } else { "False" };
    let patch = json!({"status": {
        "phase": "Running",
        "podIP": format!("10.244.{}.{}", ip / 250, ip % 250 + 1),
        "conditions": [{"type": "Ready", "status": status}],
    }});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
}

/// Polls `check` every 100 ms until it returns true, for at most `limit`.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await? {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "{what}: not within {limit:?}");
        sleep(Duration::from_millis(100)).await;
    }
}

/// Plays the node agent for the pods of `namespace` that label their fate: `outcome: succeed`
/// or `fail` pods run, then finish Succeeded (exit 0) or Failed (exit 1); `outcome: run` pods
/// run until deleted. Until cancelled.
pub fn finishing_agent(
    client: &Client,
    namespace: &str,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    tokio::spawn(async move {
        let pods = watcher(api.clone(), watcher::Config::default())
            .default_backoff()
            .applied_objects();
        let mut pods = std::pin::pin!(pods);
        loop {
            let pod = tokio::select! {
                () = stop.cancelled() => return,
                pod = pods.next() => pod,
            };
            let Some(Ok(pod)) = pod else { continue };
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            if pod.metadata.deletion_timestamp.is_some()
                || matches!(phase, Some("Succeeded" | "Failed"))
            {
                continue;
            }
            let fate = pod.labels().get("outcome").map(String::as_str);
            let (phase, exit) = match fate {
                Some("succeed") => ("Succeeded", 0),
                Some("fail") => ("Failed", 1),
                Some("run") if phase != Some("Running") => ("Running", -1),
                _ => continue,
            };
            let _ = set_phase(&api, &pod.name_any(), phase, exit).await;
        }
    })
}

/// Writes `phase` through `pods/status`; a finished phase with its container terminated
/// with `exit`.
async fn set_phase(api: &Api<Pod>, name: &str, phase: &str, exit: i32) -> kube::Result<Pod> {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let state = if exit >= 0 {
        json!({"terminated": {"exitCode": exit, "startedAt": now, "finishedAt": now}})
    } else {
        json!({"running": {"startedAt": now}})
    };
    let patch = json!({"status": {
        "phase": phase,
        "containerStatuses": [{"name": "c", "image": "job.wasm", "imageID": "", "ready": false,
            "restartCount": 0, "state": state}],
    }});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
}

/// Renews a Lease in `kube-node-lease` for each of `nodes` every second, as their agents
/// would, until cancelled (the node lifecycle controller keeps them Ready).
pub fn heartbeats(client: &Client, nodes: &[&str], stop: CancellationToken) -> JoinHandle<()> {
    let api: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(client.clone(), "kube-node-lease");
    let nodes: Vec<String> = nodes.iter().map(|n| n.to_string()).collect();
    tokio::spawn(async move {
        loop {
            for node in &nodes {
                let now = k8s_openapi::jiff::Timestamp::now().to_string();
                let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": node},
                    "spec": {"holderIdentity": node, "leaseDurationSeconds": 40, "renewTime": now}});
                let _ = api
                    .patch(
                        node,
                        &PatchParams::apply("agent-sim").force(),
                        &Patch::Apply(&lease),
                    )
                    .await;
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = sleep(Duration::from_secs(1)) => {}
            }
        }
    })
}
