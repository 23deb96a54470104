//! A DaemonSet runs on the node; a template change rolls out; its history is kept as
//! ControllerRevisions, so `kubectl rollout history ds` lists it and `rollout undo ds` brings
//! the first template back; deleting the DaemonSet removes its pods and revisions.

use anyhow::ensure;
use serde_json::{Value, json};

use crate::support::{Cluster, NODE, guest};

const SELECTOR: &str = "app=daemon";

fn daemonset(image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "daemon", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "daemon"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": {"app": "daemon"}},
                "spec": {"terminationGracePeriodSeconds": 2, "containers": [{
                    "name": "web", "image": image, "env": [{"name": "V", "value": "1"}],
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                       "periodSeconds": 1}}]}
            }
        }
    })
}

async fn rolled_out(c: &Cluster) -> anyhow::Result<()> {
    c.ok(&["rollout", "status", "ds/daemon", "--timeout=55s"])
        .await?;
    Ok(())
}

/// The one live pod's (node, revision hash), once there is exactly one, ready, with `V=v`.
async fn the_pod(c: &Cluster, v: &str) -> anyhow::Result<(String, String)> {
    c.poll(&format!("one ready daemon pod with V={v}"), || async {
        let live = c.live_pods(SELECTOR).await?;
        let [pod] = live.as_slice() else {
            return Ok(false);
        };
        let env = &pod["spec"]["containers"][0]["env"][0]["value"];
        Ok(env == v && crate::support::is_ready(pod))
    })
    .await?;
    let live = c.live_pods(SELECTOR).await?;
    let [pod] = live.as_slice() else {
        anyhow::bail!("the daemon pod went away");
    };
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    Ok((
        text(&pod["spec"]["nodeName"]),
        text(&pod["metadata"]["labels"]["controller-revision-hash"]),
    ))
}

/// The value of `V` in the pod template `kubectl rollout history --revision` prints.
fn env_v(detail: &str) -> Option<&str> {
    detail
        .lines()
        .find_map(|l| l.trim().strip_prefix("V:").map(str::trim))
}

/// The revisions `kubectl rollout history ds/daemon` lists.
async fn history(c: &Cluster) -> anyhow::Result<Vec<String>> {
    let out = c.ok(&["rollout", "history", "ds/daemon"]).await?;
    Ok(out
        .lines()
        .skip_while(|l| !l.starts_with("REVISION"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect())
}

pub async fn revisions(c: &Cluster) -> anyhow::Result<()> {
    c.apply(&daemonset(&guest("http-server")?)).await?;
    rolled_out(c).await?;
    let (node, first_hash) = the_pod(c, "1").await?;
    ensure!(node == NODE, "the daemon pod runs on {node}");
    let revision = c
        .get(&[
            "controllerrevision",
            &format!("daemon-{first_hash}"),
            "-o",
            "jsonpath={.revision}",
        ])
        .await?;
    ensure!(
        revision == "1",
        "the pod's hash names revision 1: {revision:?}"
    );

    c.ok(&["set", "env", "ds/daemon", "V=2"]).await?;
    rolled_out(c).await?;
    let (_, second_hash) = the_pod(c, "2").await?;
    ensure!(second_hash != first_hash);
    ensure!(history(c).await? == ["1", "2"]);

    c.ok(&["rollout", "undo", "ds/daemon"]).await?;
    rolled_out(c).await?;
    let (_, hash) = the_pod(c, "1").await?;
    ensure!(hash == first_hash, "the first revision's pods again");
    ensure!(
        history(c).await? == ["2", "3"],
        "undo makes revision 1 the 3rd"
    );
    for (revision, v) in [("2", "2"), ("3", "1")] {
        let detail = c
            .ok(&[
                "rollout",
                "history",
                "ds/daemon",
                &format!("--revision={revision}"),
            ])
            .await?;
        ensure!(
            env_v(&detail) == Some(v),
            "revision {revision} has V={v}: {detail}"
        );
    }

    c.ok(&["delete", "ds/daemon"]).await?;
    c.poll("the daemon pods and revisions are gone", || async {
        let pods = c.get(&["pods", "-l", SELECTOR, "-o", "name"]).await?;
        let revisions = c
            .get(&["controllerrevisions", "-l", SELECTOR, "-o", "name"])
            .await?;
        Ok(pods.is_empty() && revisions.is_empty())
    })
    .await
}
