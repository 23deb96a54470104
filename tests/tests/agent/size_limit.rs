//! `emptyDir.sizeLimit`, as the kubelet's eviction manager enforces it: a pod whose Memory
//! emptyDir holds more than its limit is evicted within one check period (10 s): its running
//! container is killed, the pod is Failed with reason `Evicted`, the kubelet's message and a
//! `DisruptionTarget` condition, a Warning `Evicted` event is posted, the volume's memory is
//! given back, and the pod is not started again.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use skiff_tests::run_bounded;

use crate::support::{LIMIT, Setup, WAIT, guest, pod, poll, start};

const NODE: &str = "size-limit-node";
const MESSAGE: &str = "Usage of EmptyDir volume \"cache\" exceeds the limit \"64Ki\". ";

/// Where the agent keeps pod `uid`'s volume `name` (the memory root, else the pod's directory).
fn volume_dir(s: &Setup, uid: &str, name: &str) -> PathBuf {
    match s.agent.volumes_root() {
        Some(root) => root.join(uid).join(name),
        None => s
            .agent
            .data_dir
            .join("pods")
            .join(uid)
            .join("volumes")
            .join(name),
    }
}

fn evicted(pod: &Value) -> bool {
    let status = &pod["status"];
    let disrupted = status["conditions"].as_array().is_some_and(|all| {
        all.iter().any(|c| {
            c["type"] == "DisruptionTarget"
                && c["status"] == "True"
                && c["reason"] == "TerminationByKubelet"
        })
    });
    status["phase"] == "Failed"
        && status["reason"] == "Evicted"
        && status["message"] == MESSAGE
        && disrupted
        && status["containerStatuses"][0]["state"]["terminated"].is_object()
}

#[test]
fn a_pod_over_its_emptydir_limit_is_evicted_and_stays_failed() {
    run_bounded("size_limit", LIMIT, async {
        let mut s = start(NODE).await?;
        let web = json!({"name": "web", "image": guest("http-server")?,
            "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]});
        let volumes = json!({"volumes": [{"name": "cache",
            "emptyDir": {"medium": "Memory", "sizeLimit": "64Ki"}}]});
        s.apply(&pod("hog", NODE, web, volumes)).await?;
        s.wait_status("hog", "Running").await?;
        let pod_now = s.pod("hog").await?.context("no pod")?;
        let uid = pod_now["metadata"]["uid"]
            .as_str()
            .context("no uid")?
            .to_owned();
        let cache = volume_dir(&s, &uid, "cache");
        ensure!(cache.is_dir(), "{} is not the volume", cache.display());
        // Under the limit: nothing happens for a whole check period.
        std::fs::write(cache.join("small"), vec![1u8; 16 << 10])?;
        tokio::time::sleep(Duration::from_secs(11)).await;
        let still = s.pod("hog").await?.context("no pod")?;
        ensure!(still["status"]["phase"] == "Running", "{}", still["status"]);

        std::fs::write(cache.join("big"), vec![2u8; 256 << 10])?;
        poll("the pod evicted", WAIT, || async {
            Ok(s.pod("hog").await?.is_some_and(|p| evicted(&p)))
        })
        .await?;
        ensure!(
            !cache.exists(),
            "the evicted pod's volume still holds its data"
        );
        poll("a Warning Evicted event", WAIT, || async {
            let events = s
                .kubectl
                .ok(&[
                    "get",
                    "events",
                    "--field-selector",
                    "reason=Evicted",
                    "-o",
                    "json",
                ])
                .await?;
            let events: Value = serde_json::from_str(&events)?;
            Ok(events["items"].as_array().is_some_and(|items| {
                items.iter().any(|e| {
                    e["type"] == "Warning"
                        && e["message"] == MESSAGE
                        && e["involvedObject"]["name"] == "hog"
                })
            }))
        })
        .await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let after = s.pod("hog").await?.context("no pod")?;
        ensure!(evicted(&after), "not Failed for good: {}", after["status"]);
        Ok(())
    });
}
