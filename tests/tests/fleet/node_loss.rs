//! One server and three agents (issue 15): a Deployment's pods spread over the three nodes;
//! a pod that fits nowhere gets FailedScheduling in kube-scheduler's words; an agent killed
//! with SIGKILL leaves its node Ready=Unknown with the unreachable taint, and its pods are
//! replaced on the other nodes, each within the bounds the server's flags set.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::ensure;
use serde_json::{Value, json};
use skiff_tests::fleet::poll;
use skiff_tests::{Fleet, run_bounded};
use tokio::time::Instant;

use crate::support::{LIMIT, WAIT, name_and_node, running_and_ready, web_deployment};

const NODES: [&str; 3] = ["fleet-n1", "fleet-n2", "fleet-n3"];
/// The server's node-monitor grace period and unreachable toleration, in seconds.
const GRACE: u64 = 10;
const TOLERATION: u64 = 5;
/// How long the replacements may take to be Ready after the eviction.
const REPLACE_WAIT: Duration = Duration::from_secs(120);

/// The Deployment's pods (name, node), Running and Ready or not.
async fn web_pods(fleet: &Fleet) -> anyhow::Result<Vec<Value>> {
    let list = fleet.get_json(&["pods", "-l", "app=spread"]).await?;
    Ok(list["items"].as_array().cloned().unwrap_or_default())
}

/// Ready pods of the Deployment per node.
async fn ready_per_node(fleet: &Fleet) -> anyhow::Result<BTreeMap<String, usize>> {
    let mut per_node = BTreeMap::new();
    for pod in web_pods(fleet)
        .await?
        .iter()
        .filter(|p| running_and_ready(p))
    {
        *per_node.entry(name_and_node(pod).1).or_insert(0) += 1;
    }
    Ok(per_node)
}

#[test]
fn pods_spread_and_move_off_a_lost_node() {
    run_bounded("node_loss", LIMIT, async {
        let grace = GRACE.to_string();
        let toleration = TOLERATION.to_string();
        let server_args = [
            "--node-monitor-grace-period",
            grace.as_str(),
            "--default-unreachable-toleration-seconds",
            toleration.as_str(),
        ];
        let mut fleet = Fleet::start(1, &server_args, &NODES).await?;
        fleet.apply(&web_deployment("spread", 6)?).await?;
        poll(
            "six Ready pods spread over the three nodes",
            WAIT,
            || async {
                let per_node = ready_per_node(&fleet).await?;
                Ok(per_node.values().sum::<usize>() == 6 && per_node.len() == 3)
            },
        )
        .await?;
        let per_node = ready_per_node(&fleet).await?;
        let (most, least) = (per_node.values().max(), per_node.values().min());
        ensure!(
            most.zip(least).is_some_and(|(m, l)| m - l <= 1),
            "uneven spread: {per_node:?}"
        );

        unschedulable_pod_is_told_why(&fleet).await?;

        // Kill the agent of the first pod's node.
        let pods = web_pods(&fleet).await?;
        let victim = name_and_node(&pods[0]).1;
        let on_victim: Vec<String> = pods
            .iter()
            .map(name_and_node)
            .filter(|(_, node)| *node == victim)
            .map(|(name, _)| name)
            .collect();
        fleet.agent(&victim)?.kill9();
        let killed = Instant::now();

        // Ready=Unknown and the unreachable taint, after the grace period.
        fleet.wait_ready_status(&victim, "Unknown").await?;
        let taints = fleet.get_json(&["node", &victim]).await?["spec"]["taints"].clone();
        ensure!(
            taints.as_array().is_some_and(|t| t
                .iter()
                .any(|t| t["key"] == "node.kubernetes.io/unreachable")),
            "no unreachable taint on {victim}: {taints}"
        );
        let not_ready_after = killed.elapsed();
        // The Lease lasts 8 s and was renewed up to 2 s before the kill; a few seconds for
        // the controller's pass and kubectl.
        let bound = Duration::from_secs(GRACE + 10);
        ensure!(
            not_ready_after <= bound,
            "{victim} turned NotReady after {not_ready_after:?} (bound {bound:?})"
        );

        // Its pods are evicted after their toleration (deleted, or marked for deletion while
        // their agent cannot finish them).
        let evicted = poll("the lost node's pods are evicted", WAIT, || async {
            let pods = web_pods(&fleet).await?;
            Ok(pods.iter().all(|p| {
                name_and_node(p).1 != victim || !p["metadata"]["deletionTimestamp"].is_null()
            }))
        })
        .await;
        let evicted_after = killed.elapsed();
        let bound = Duration::from_secs(GRACE + TOLERATION + 15);
        ensure!(
            evicted.is_ok() && evicted_after <= bound,
            "evicted after {evicted_after:?} (bound {bound:?}): {evicted:?}"
        );
        // And replaced on the other nodes. (Observed: about 60 s after the eviction; the
        // bound is generous until the controllers say why.)
        let replaced = poll(
            "six Ready pods again, none on the lost node",
            REPLACE_WAIT,
            || async {
                let per_node = ready_per_node(&fleet).await?;
                Ok(per_node.values().sum::<usize>() == 6 && !per_node.contains_key(&victim))
            },
        )
        .await;
        if let Err(e) = replaced {
            let pods = fleet
                .kubectl
                .run(&["get", "pods", "-o", "wide"], "")
                .await?;
            let lost = fleet
                .kubectl
                .run(&["describe", "node", &victim], "")
                .await?;
            anyhow::bail!("{e}\n{}\n{}", pods.stdout, lost.stdout);
        }
        eprintln!(
            "node_loss: NotReady after {not_ready_after:?}, evicted after {evicted_after:?}, replaced after {:?}",
            killed.elapsed()
        );
        let left: Vec<(String, String)> =
            web_pods(&fleet).await?.iter().map(name_and_node).collect();
        for name in &on_victim {
            ensure!(
                !left.iter().any(|(n, _)| n == name),
                "{name} of the lost node is still there: {left:?}"
            );
        }
        ensure!(
            left.iter().all(|(_, node)| *node != victim),
            "pods still bound to {victim}: {left:?}"
        );
        Ok(())
    });
}

/// A pod asking for more memory than any node has stays Pending with PodScheduled=False
/// and a FailedScheduling event in kube-scheduler's words.
async fn unschedulable_pod_is_told_why(fleet: &Fleet) -> anyhow::Result<()> {
    let mut huge = web_deployment("huge", 1)?["spec"]["template"].clone();
    huge["apiVersion"] = json!("v1");
    huge["kind"] = json!("Pod");
    huge["metadata"] = json!({"name": "huge", "namespace": "default"});
    huge["spec"]["containers"][0]["resources"] = json!({"requests": {"memory": "1000Ti"}});
    fleet.apply(&huge).await?;
    let want = "0/3 nodes are available: 3 Insufficient memory.";
    poll(
        "a FailedScheduling event for the huge pod",
        WAIT,
        || async {
            let events = fleet
                .get_json(&[
                    "events",
                    "--field-selector",
                    "involvedObject.name=huge,reason=FailedScheduling",
                ])
                .await?;
            let items = events["items"].as_array().cloned().unwrap_or_default();
            Ok(items
                .iter()
                .any(|e| e["message"].as_str().is_some_and(|m| m.starts_with(want))))
        },
    )
    .await?;
    let pod = fleet.get_json(&["pod", "huge"]).await?;
    let conditions = pod["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    ensure!(
        conditions.iter().any(|c| c["type"] == "PodScheduled"
            && c["status"] == "False"
            && c["reason"] == "Unschedulable"),
        "{}",
        pod["status"]
    );
    ensure!(
        pod["spec"]["nodeName"].is_null() && pod["status"]["phase"] == "Pending",
        "{}",
        pod["status"]
    );
    Ok(())
}
