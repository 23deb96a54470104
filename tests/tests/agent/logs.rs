//! `kubectl logs` and `kubectl logs -f` of a pod run by a real `skiff agent`, through the
//! tunnel the agent opened to the server.

use std::cell::Cell;
use std::time::Duration;

use anyhow::ensure;
use serde_json::json;
use skiff_tests::run_bounded;

use crate::support::{LIMIT, WAIT, guest, pod, poll, start};

const NODE: &str = "logs-node";

#[test]
fn kubectl_logs_reads_a_pod_through_the_agents_tunnel() {
    run_bounded("agent_logs", LIMIT, async {
        let mut s = start(NODE).await?;
        // The readiness probe makes the server write a line a second.
        let web = json!({"name": "web", "image": guest("http-server")?,
            "ports": [{"containerPort": 8080}],
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1}});
        s.apply(&pod("web", NODE, web, json!({}))).await?;
        s.wait_row("web", "1/1 Running", |r| r[1] == "1/1" && r[2] == "Running")
            .await?;
        let kubectl = &s.kubectl;
        poll("kubectl logs web shows the server start", WAIT, || async {
            let out = kubectl.run(&["logs", "web"], "").await?;
            Ok(out.success && out.stdout.starts_with("http-server listening on"))
        })
        .await?;
        let before = kubectl.ok(&["logs", "web"]).await?.lines().count();
        ensure!(before >= 2, "a probe line besides the start line");

        let mut follow = kubectl.spawn(&["logs", "-f", "web"])?;
        let seen = Cell::new(0);
        follow
            .line_matching(Duration::from_secs(30), |_| {
                seen.set(seen.get() + 1);
                seen.get() > before + 2
            })
            .await?;
        ensure!(
            follow.seen[0].starts_with("http-server listening on"),
            "{:?}",
            follow.seen
        );
        ensure!(
            follow.seen[1..]
                .iter()
                .all(|l| l.contains("GET /healthz HTTP/1.1")),
            "probe lines: {:?}",
            follow.seen
        );
        follow.kill().await?;
        let tail = kubectl
            .ok(&["logs", "web", "--tail=1", "--timestamps"])
            .await?;
        ensure!(
            tail.lines().count() == 1 && tail.contains("Z ") && tail.contains("GET /healthz"),
            "{tail}"
        );
        Ok(())
    });
}
