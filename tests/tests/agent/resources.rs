//! Resource limits through kubectl: a memory hog stopped at its `limits.memory` shows
//! OOMKilled, then CrashLoopBackOff (restartPolicy Always) or stays OOMKilled (Never), with
//! `lastState.terminated.reason` OOMKilled, while a neighbour pod on the same node keeps
//! running, Ready and never restarted.

use std::time::Duration;

use anyhow::ensure;
use serde_json::json;
use skiff_tests::run_bounded;

use crate::support::{LIMIT, guest, pod, start, status_of};

const NODE: &str = "resources-node";

fn hog(name: &str) -> anyhow::Result<serde_json::Value> {
    Ok(json!({"name": name, "image": guest("memory-hog")?,
        "env": [{"name": "CHUNK_MIB", "value": "2"}],
        "resources": {"limits": {"memory": "16Mi"}}}))
}

#[test]
fn a_memory_hog_is_oom_killed_while_its_neighbour_keeps_running() {
    run_bounded("agent_oom", LIMIT, async {
        let mut s = start(NODE).await?;
        let web = json!({"name": "web", "image": guest("http-server")?,
            "ports": [{"containerPort": 8080}],
            "resources": {"limits": {"memory": "64Mi"}},
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1}});
        s.apply(&pod("web", NODE, web, json!({}))).await?;
        s.wait_row("web", "1/1 Running", |r| r[1] == "1/1" && r[2] == "Running")
            .await?;

        s.apply(&pod("hog", NODE, hog("hog")?, json!({}))).await?;
        s.apply(&pod(
            "hog-once",
            NODE,
            hog("hog")?,
            json!({"restartPolicy": "Never"}),
        ))
        .await?;
        // Every run ends OOMKilled, shown before the back-off (kubectl get -w sees both).
        let mut watch = s.watch_pod("hog")?;
        let bound = Duration::from_secs(30);
        watch
            .line_matching(bound, |l| status_of(l) == "OOMKilled")
            .await?;
        watch
            .line_matching(bound, |l| status_of(l) == "CrashLoopBackOff")
            .await?;
        watch.kill().await?;
        s.wait_row("hog", "2 restarts", |r| {
            r[3].parse::<u32>().is_ok_and(|n| n >= 2)
        })
        .await?;
        let hog = s.pod("hog").await?.unwrap_or_default();
        let last = &hog["status"]["containerStatuses"][0]["lastState"]["terminated"];
        ensure!(
            last["reason"] == "OOMKilled" && last["exitCode"] == 137,
            "lastState: {last}"
        );
        ensure!(hog["status"]["phase"] == "Running", "{}", hog["status"]);
        let describe = s.describe("hog").await?;
        for line in ["Last State:     Terminated", "Reason:       OOMKilled"] {
            ensure!(describe.contains(line), "no {line:?}:\n{describe}");
        }

        // restartPolicy Never: the pod stays OOMKilled and Failed.
        s.wait_status("hog-once", "OOMKilled").await?;
        let once = s.pod("hog-once").await?.unwrap_or_default();
        let state = &once["status"]["containerStatuses"][0]["state"]["terminated"];
        ensure!(once["status"]["phase"] == "Failed", "{}", once["status"]);
        ensure!(state["exitCode"] == 137, "{state}");

        // The neighbour never noticed.
        let row = s.row("web").await?;
        ensure!(
            row[1] == "1/1" && row[2] == "Running" && row[3] == "0",
            "{row:?}"
        );
        Ok(())
    });
}
