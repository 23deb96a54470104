//! Deleting a pod waits for its agent to stop it; a killed agent, started again, runs its
//! pods again (same IP, restart counted, nothing duplicated, finished pods left finished,
//! leftovers of gone pods removed); SIGTERM stops the agent cleanly.

use crate::support::{Credential, LIMIT, WAIT, guest, pod, poll, start, start_with};
use serde_json::json;
use skiff_tests::run_bounded;
use std::time::Duration;

const NODE: &str = "life-node";

fn web(name: &str) -> anyhow::Result<serde_json::Value> {
    let c = json!({"name": "web", "image": guest("http-server")?,
        "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}});
    Ok(pod(name, NODE, c, json!({})))
}

#[test]
fn deleting_a_pod_waits_for_the_agent_to_stop_it() {
    run_bounded("graceful_delete", LIMIT, async {
        let mut s = start_with(NODE, Credential::ByHand).await?;
        s.apply(&web("web")?).await?;
        s.wait_row("web", "1/1 Running", |r| r[1] == "1/1" && r[2] == "Running")
            .await?;

        // With the agent paused, the pod stays, marked for deletion: the server waits.
        s.agent.pause()?;
        s.kubectl
            .ok(&["delete", "pod", "web", "--wait=false"])
            .await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let marked = s.pod("web").await?;
        let stamp = marked
            .as_ref()
            .map(|p| p["metadata"]["deletionTimestamp"].clone());
        s.agent.resume()?;
        anyhow::ensure!(
            stamp.is_some_and(|t| t.is_string()),
            "the pod was not kept for its agent"
        );

        // Resumed, the agent stops it and the pod goes.
        poll("the pod is gone", WAIT, || async {
            Ok(s.pod("web").await?.is_none())
        })
        .await?;
        let events = s
            .kubectl
            .ok(&[
                "get",
                "events",
                "--field-selector",
                "involvedObject.name=web",
            ])
            .await?;
        anyhow::ensure!(events.contains("Killing"), "{events}");

        // `kubectl delete` (waiting) returns once the pod is gone.
        s.apply(&web("web2")?).await?;
        s.wait_row("web2", "1/1 Running", |r| r[1] == "1/1").await?;
        s.kubectl
            .ok(&["delete", "pod", "web2", "--timeout=60s"])
            .await?;
        anyhow::ensure!(
            s.pod("web2").await?.is_none(),
            "web2 still exists after kubectl delete"
        );
        Ok(())
    });
}

#[test]
fn a_restarted_agent_runs_its_pods_again_without_duplicates() {
    run_bounded("agent_restart", LIMIT, async {
        let mut s = start(NODE).await?;
        s.apply(&web("web")?).await?;
        let job = json!({"name": "job", "image": guest("job")?, "env": [{"name": "LIMIT", "value": "1000"}]});
        s.apply(&pod("job", NODE, job, json!({"restartPolicy": "Never"})))
            .await?;
        s.wait_row("web", "1/1 Running", |r| {
            r[1] == "1/1" && r[2] == "Running" && r[3] == "0"
        })
        .await?;
        s.wait_status("job", "Completed").await?;
        let before = s.pod("web").await?.unwrap_or_default();
        let job_before = s.pod("job").await?.unwrap_or_default();

        s.agent.kill9();
        anyhow::ensure!(
            s.agent.data_dir.join("credential.json").is_file(),
            "the joined credential was not kept"
        );
        let stale = s.agent.data_dir.join("pods").join("gone-pod-uid");
        std::fs::create_dir_all(stale.join("volumes"))?;
        s.agent.spawn()?;

        let row = s
            .wait_row("web", "1/1 Running after a restart", |r| {
                r[1] == "1/1" && r[3] == "1"
            })
            .await?;
        let after = s.pod("web").await?.unwrap_or_default();
        anyhow::ensure!(
            after["status"]["podIP"] == before["status"]["podIP"],
            "IP changed: {} -> {}",
            before["status"]["podIP"],
            after["status"]["podIP"]
        );
        anyhow::ensure!(
            after["metadata"]["uid"] == before["metadata"]["uid"],
            "{row:?}"
        );
        poll(
            "the stale sandbox is removed",
            Duration::from_secs(10),
            || async { Ok(!stale.exists()) },
        )
        .await?;
        // One sandbox per pod: web and job.
        let mut dirs: Vec<String> = std::fs::read_dir(s.agent.data_dir.join("pods"))?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        dirs.sort();
        let mut uids = vec![
            before["metadata"]["uid"].as_str().unwrap_or("").to_owned(),
            job_before["metadata"]["uid"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        ];
        uids.sort();
        anyhow::ensure!(dirs == uids, "pod directories {dirs:?}, pods {uids:?}");
        // The finished job is not run again.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let job_after = s.pod("job").await?.unwrap_or_default();
        let started = |p: &serde_json::Value| {
            p["status"]["containerStatuses"][0]["state"]["terminated"]["startedAt"].clone()
        };
        anyhow::ensure!(
            started(&job_after) == started(&job_before) && !started(&job_after).is_null(),
            "the job ran again: {}",
            job_after["status"]
        );
        // Still restart count 1 a moment later: one worker, not two.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let row = s.row("web").await?;
        anyhow::ensure!(row[3] == "1" && row[1] == "1/1", "{row:?}");

        anyhow::ensure!(
            s.agent.stop(Duration::from_secs(20)).await?,
            "the agent did not exit cleanly on SIGTERM"
        );
        Ok(())
    });
}
