//! The Node: registered Ready with skiff's labels and node info, its Lease renewed, registered
//! again after a delete; joining with a wrong token fails with one line.

use crate::support::{LIMIT, WAIT, poll, start};
use skiff_tests::{Agent, Replica, ReplicaOptions, run_bounded};
use std::time::Duration;

#[test]
fn the_node_registers_ready_with_the_wasm_label_and_renews_its_lease() {
    run_bounded("node_registers", LIMIT, async {
        let s = start("wasm-node-1").await?;
        let row = s
            .kubectl
            .ok(&["get", "node", "-L", "skiff.io/runtime", "--no-headers"])
            .await?;
        let cols: Vec<&str> = row.split_whitespace().collect();
        anyhow::ensure!(
            cols.first() == Some(&"wasm-node-1") && cols.get(1) == Some(&"Ready"),
            "{row}"
        );
        anyhow::ensure!(cols.last() == Some(&"wasm"), "no wasm label column: {row}");
        let node: serde_json::Value = serde_json::from_str(
            &s.kubectl
                .ok(&["get", "node", "wasm-node-1", "-o", "json"])
                .await?,
        )?;
        let info = &node["status"]["nodeInfo"];
        anyhow::ensure!(
            info["containerRuntimeVersion"]
                .as_str()
                .unwrap_or("")
                .starts_with("wasmtime://48."),
            "{info}"
        );
        anyhow::ensure!(
            info["kubeletVersion"]
                .as_str()
                .unwrap_or("")
                .starts_with('v'),
            "{info}"
        );
        let labels = &node["metadata"]["labels"];
        anyhow::ensure!(
            labels["kubernetes.io/os"] == "linux" && labels["kubernetes.io/hostname"].is_string(),
            "{labels}"
        );
        for resource in ["cpu", "memory", "pods"] {
            anyhow::ensure!(
                node["status"]["allocatable"][resource].is_string(),
                "no allocatable {resource}"
            );
        }

        // The Lease moves forward (renewed every 2 s in these tests).
        let renew = || async {
            let out = s
                .kubectl
                .ok(&[
                    "get",
                    "lease",
                    "-n",
                    "kube-node-lease",
                    "wasm-node-1",
                    "-o",
                    "jsonpath={.spec.renewTime}",
                ])
                .await?;
            anyhow::Ok(out)
        };
        let first = renew().await?;
        anyhow::ensure!(!first.is_empty(), "the lease has no renewTime");
        poll("the lease is renewed", Duration::from_secs(10), || async {
            Ok(renew().await? != first)
        })
        .await?;

        // The name is taken: a second agent joining as wasm-node-1 is refused.
        let (url, token) = (s.replica.url(), s.replica.agent_token()?);
        let mut twin = Agent::prepare("wasm-node-1", &["--server", &url, "--token", &token])?;
        let line = twin
            .run_to_exit(Duration::from_secs(30))
            .await?
            .error_line()?;
        anyhow::ensure!(
            line.contains("node name \"wasm-node-1\" is taken (409 Conflict)"),
            "{line}"
        );

        // Deleted, the Node comes back.
        s.kubectl.ok(&["delete", "node", "wasm-node-1"]).await?;
        poll("the node is registered again", WAIT, || async {
            Ok(s.kubectl
                .run(&["get", "node", "wasm-node-1"], "")
                .await?
                .success)
        })
        .await?;
        Ok(())
    });
}

#[test]
fn joining_with_a_wrong_token_or_no_credential_fails_with_one_line() {
    run_bounded("wrong_token", LIMIT, async {
        let replica = Replica::start(ReplicaOptions::new("agent-join")).await?;
        // The agent token pins the real CA; only the secret is wrong.
        let token = replica.agent_token()?;
        let (pin, _) = token
            .split_once("::")
            .ok_or_else(|| anyhow::anyhow!("token {token}"))?;
        let url = replica.url();
        let wrong_secret = format!("{pin}::node:not-the-secret");
        let mut agent = Agent::prepare("joiner", &["--server", &url, "--token", &wrong_secret])?;
        let line = agent
            .run_to_exit(Duration::from_secs(30))
            .await?
            .error_line()?;
        anyhow::ensure!(
            line.contains("refused the join token (401 Unauthorized)"),
            "{line}"
        );

        let wrong_pin = format!("K10{}::node:whatever", "0".repeat(64));
        let mut agent = Agent::prepare("joiner", &["--server", &url, "--token", &wrong_pin])?;
        let line = agent
            .run_to_exit(Duration::from_secs(30))
            .await?
            .error_line()?;
        anyhow::ensure!(line.contains("wrong token or wrong cluster"), "{line}");

        let mut agent = Agent::prepare(
            "joiner",
            &["--server", "https://127.0.0.1:1", "--token", &wrong_secret],
        )?;
        let line = agent
            .run_to_exit(Duration::from_secs(30))
            .await?
            .error_line()?;
        anyhow::ensure!(line.contains("cannot reach https://127.0.0.1:1"), "{line}");

        let mut agent = Agent::prepare("joiner", &[])?;
        let line = agent
            .run_to_exit(Duration::from_secs(30))
            .await?
            .error_line()?;
        anyhow::ensure!(line.contains("no node credential"), "{line}");
        Ok(())
    });
}
