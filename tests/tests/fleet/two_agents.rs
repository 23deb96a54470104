//! One server and two agents as separate processes: a pod naming a node runs on that
//! node's agent; a node's credential reads its own pods and their logs, and gets 403 for the
//! other node's pods and logs and for anything an admin does.

use anyhow::ensure;
use serde_json::Value;
use skiff_tests::fleet::{node_kubeconfig, poll};
use skiff_tests::{Fleet, Kubectl, run_bounded};

use crate::support::{LIMIT, WAIT, running_and_ready, web_pod};

#[test]
fn two_agents_run_their_own_pods_and_reach_only_them() {
    run_bounded("two_agents", LIMIT, async {
        let mut fleet = Fleet::start(1, &[], &["fleet-a", "fleet-b"]).await?;
        fleet.apply(&web_pod("pod-a", "fleet-a")?).await?;
        fleet.apply(&web_pod("pod-b", "fleet-b")?).await?;
        for pod in ["pod-a", "pod-b"] {
            poll(&format!("{pod} Running and Ready"), WAIT, || async {
                Ok(running_and_ready(&fleet.get_json(&["pod", pod]).await?))
            })
            .await?;
        }
        // Each pod's sandbox is on its own node's agent only.
        for (pod, mine, other) in [("pod-a", 0, 1), ("pod-b", 1, 0)] {
            let uid = fleet.get_json(&["pod", pod]).await?["metadata"]["uid"].clone();
            let uid = uid.as_str().unwrap_or_default().to_owned();
            let dir = |i: usize| fleet.agents[i].data_dir.join("pods").join(&uid);
            ensure!(dir(mine).is_dir(), "{pod} has no sandbox on its node");
            ensure!(
                !dir(other).exists(),
                "{pod} has a sandbox on the other node"
            );
        }

        let url = fleet.cluster.replicas[0].url();
        let node_a = Kubectl::new(&node_kubeconfig(fleet.agent("fleet-a")?, &url)?)?;
        // Its own pod and its log: allowed.
        let own: Value =
            serde_json::from_str(&node_a.ok(&["get", "pod", "pod-a", "-o", "json"]).await?)?;
        ensure!(own["spec"]["nodeName"] == "fleet-a", "{own}");
        poll("node a reads its own pod's log", WAIT, || async {
            let out = node_a.run(&["logs", "pod-a"], "").await?;
            Ok(out.success && out.stdout.starts_with("http-server listening on"))
        })
        .await?;
        // The other node's pod, its log, and what only an admin may do: 403.
        let namespace =
            r#"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "by-a-node"}}"#;
        let stderr = node_a.fails(&["create", "-f", "-"], namespace).await?;
        ensure!(
            stderr.contains("(Forbidden)"),
            "create namespace as node fleet-a: {stderr}"
        );
        let refused: [&[&str]; 6] = [
            &["get", "pod", "pod-b"],
            &["logs", "pod-b"],
            &["get", "pods"],
            &["get", "node", "fleet-b"],
            &["get", "secrets", "-n", "kube-system"],
            &["delete", "pod", "pod-b", "--wait=false"],
        ];
        for args in refused {
            let stderr = node_a.fails(args, "").await?;
            ensure!(
                stderr.contains("(Forbidden)") && stderr.contains("system:node:fleet-a"),
                "kubectl {args:?} as node fleet-a: {stderr}"
            );
        }
        // Nothing was changed by the refused requests.
        ensure!(running_and_ready(&fleet.get_json(&["pod", "pod-b"]).await?));
        let namespaces = fleet.kubectl.ok(&["get", "namespaces"]).await?;
        ensure!(!namespaces.contains("by-a-node"), "{namespaces}");
        Ok(())
    });
}
