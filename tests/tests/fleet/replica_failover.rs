//! Three replicas and one agent: the agent learns every replica from the `kubernetes`
//! Endpoints; the replica it talks to (the one it joined through) is killed with SIGKILL; the
//! agent moves to another, its Lease keeps being renewed, its pod keeps running (same start,
//! no restart), a new pod bound to it runs, and `kubectl logs` still reaches it.

use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::Value;
use skiff_tests::fleet::{poll, tail};
use skiff_tests::{Fleet, Kubectl, kubeconfig_for, run_bounded};

use crate::support::{LIMIT, WAIT, running_and_ready, web_pod};

const NODE: &str = "fleet-ha";

/// The node Lease's `spec.renewTime` (RFC 3339 with microseconds: ordered as text).
async fn renew_time(fleet: &Fleet) -> anyhow::Result<String> {
    let lease = fleet
        .get_json(&["lease", NODE, "-n", "kube-node-lease"])
        .await?;
    let time = lease["spec"]["renewTime"]
        .as_str()
        .context("no renewTime")?;
    Ok(time.to_owned())
}

/// The first container's running start and restart count.
fn run_of(pod: &Value) -> (Value, Value) {
    let status = &pod["status"]["containerStatuses"][0];
    (
        status["state"]["running"]["startedAt"].clone(),
        status["restartCount"].clone(),
    )
}

#[test]
fn the_agent_moves_to_another_replica_when_its_own_dies() {
    run_bounded("replica_failover", LIMIT, async {
        let mut fleet = Fleet::start(3, &[], &[NODE]).await?;
        fleet.apply(&web_pod("web", NODE)?).await?;
        poll("web Running and Ready", WAIT, || async {
            Ok(running_and_ready(&fleet.get_json(&["pod", "web"]).await?))
        })
        .await?;
        let before = run_of(&fleet.get_json(&["pod", "web"]).await?);
        ensure!(before.0.is_string(), "web has no running start: {before:?}");

        // The agent learns every replica (and saves the list for its next start).
        let urls: Vec<String> = fleet.cluster.replicas.iter().map(|r| r.url()).collect();
        let saved = fleet.agents[0].data_dir.join("credential.json");
        poll(
            "the agent's credential names every replica",
            WAIT,
            || async {
                let credential: Value = serde_json::from_str(&std::fs::read_to_string(&saved)?)?;
                let servers = credential["servers"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                Ok(urls.iter().all(|u| servers.iter().any(|s| s == u.as_str())))
            },
        )
        .await?;

        // The agent talks to the replica it joined through, replica 0: kill it, and watch
        // through replica 1.
        ensure!(
            !fleet.agents[0].last_stderr().contains("moving to"),
            "the agent moved before the kill"
        );
        let replica0 = &fleet.cluster.replicas[0];
        fleet.kubectl = Kubectl::new(&kubeconfig_for(replica0, &urls[1])?)?;
        let renewed_before = renew_time(&fleet).await?;
        fleet.cluster.replicas[0].kill9();

        // The Lease is renewed through another replica, twice (renewals every 2 s).
        let mut seen = vec![renewed_before];
        let limit = Duration::from_secs(30);
        let deadline = tokio::time::Instant::now() + limit;
        while seen.len() < 3 {
            ensure!(
                tokio::time::Instant::now() < deadline,
                "the Lease was not renewed twice within {limit:?} after the kill (saw {seen:?}); agent:\n{}",
                tail(&fleet.agents[0].last_stderr())
            );
            if let Ok(time) = renew_time(&fleet).await
                && seen.last().is_some_and(|last| time > *last)
            {
                seen.push(time);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let stderr = fleet.agents[0].last_stderr();
        ensure!(
            stderr.contains(&format!("the API server {} failed", urls[0])),
            "{}",
            tail(&stderr)
        );
        ensure!(stderr.contains("moving to"), "{}", tail(&stderr));
        fleet.agents[0].check_running()?;
        ensure!(
            fleet.ready_status(NODE).await? == "True",
            "the node is not Ready"
        );

        // The pod kept running: same start, no restart, still Ready.
        let pod = fleet.get_json(&["pod", "web"]).await?;
        ensure!(
            run_of(&pod) == before,
            "web was restarted: {before:?} -> {:?}",
            run_of(&pod)
        );
        ensure!(running_and_ready(&pod), "{}", pod["status"]);

        // The agent's pod watch moved too: a new pod bound to it runs.
        fleet.apply(&web_pod("web2", NODE)?).await?;
        poll(
            "web2 Running and Ready after the failover",
            WAIT,
            || async { Ok(running_and_ready(&fleet.get_json(&["pod", "web2"]).await?)) },
        )
        .await?;
        // Logs come through the tunnel the agent keeps to the surviving replica.
        let logs = fleet.kubectl.ok(&["logs", "web"]).await?;
        ensure!(logs.starts_with("http-server listening on"), "{logs}");
        ensure!(
            run_of(&fleet.get_json(&["pod", "web"]).await?) == before,
            "web restarted late"
        );
        Ok(())
    });
}
