//! A Deployment of the http-server example: Available with `kubectl rollout status`, scaled
//! 1 -> 5 -> 2, an image change and `rollout history`/`undo`, `pause` (a change does not roll)
//! and `resume`, `restart`, and deletion cascading to its ReplicaSets and pods.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::ensure;
use serde_json::{Value, json};

use crate::support::{Cluster, guest};

const SELECTOR: &str = "app=web";

fn deployment(image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"terminationGracePeriodSeconds": 2, "containers": [{
                    "name": "web", "image": image, "ports": [{"containerPort": 8080}],
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                       "periodSeconds": 1}}]}
            }
        }
    })
}

async fn rolled_out(c: &Cluster) -> anyhow::Result<()> {
    c.ok(&["rollout", "status", "deploy/web", "--timeout=55s"])
        .await?;
    Ok(())
}

/// The ReplicaSets of the Deployment, by name.
async fn replica_sets(c: &Cluster) -> anyhow::Result<BTreeSet<String>> {
    let names = c.get(&["rs", "-l", SELECTOR, "-o", "name"]).await?;
    Ok(names.lines().map(str::to_owned).collect())
}

/// The revisions `kubectl rollout history` lists (the first column of its rows).
async fn history(c: &Cluster, what: &str) -> anyhow::Result<Vec<String>> {
    let out = c.ok(&["rollout", "history", what]).await?;
    Ok(out
        .lines()
        .skip_while(|l| !l.starts_with("REVISION"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect())
}

async fn scale_to(c: &Cluster, n: usize) -> anyhow::Result<()> {
    c.ok(&["scale", "deploy/web", &format!("--replicas={n}")])
        .await?;
    rolled_out(c).await?;
    c.poll(&format!("{n} pods, all ready"), || async {
        let live = c.live_pods(SELECTOR).await?;
        Ok(live.len() == n && c.ready_pods(SELECTOR).await? == n)
    })
    .await
}

/// The images of the live pods.
async fn pod_images(c: &Cluster) -> anyhow::Result<BTreeSet<String>> {
    Ok(c.live_pods(SELECTOR)
        .await?
        .iter()
        .filter_map(|p| {
            p["spec"]["containers"][0]["image"]
                .as_str()
                .map(str::to_owned)
        })
        .collect())
}

pub async fn rollouts(c: &Cluster) -> anyhow::Result<()> {
    let v1 = guest("http-server")?;
    let v2 = format!("file://{v1}");
    c.apply(&deployment(&v1)).await?;
    rolled_out(c).await?;
    let available = r#"jsonpath={.status.conditions[?(@.type=="Available")].status}"#;
    ensure!(c.get(&["deploy", "web", "-o", available]).await? == "True");
    for n in [1, 5, 2] {
        scale_to(c, n).await?;
    }

    c.ok(&["set", "image", "deploy/web", &format!("web={v2}")])
        .await?;
    rolled_out(c).await?;
    c.poll("the pods run the new image", || async {
        Ok(pod_images(c).await? == BTreeSet::from([v2.clone()]))
    })
    .await?;
    ensure!(history(c, "deploy/web").await? == ["1", "2"]);
    c.ok(&["rollout", "undo", "deploy/web"]).await?;
    rolled_out(c).await?;
    c.poll("the pods run the first image again", || async {
        Ok(pod_images(c).await? == BTreeSet::from([v1.clone()]))
    })
    .await?;
    ensure!(
        history(c, "deploy/web").await? == ["2", "3"],
        "undo makes revision 1 the 3rd"
    );

    paused_change_waits(c, &v2).await?;

    c.ok(&["rollout", "restart", "deploy/web"]).await?;
    rolled_out(c).await?;
    c.poll("every pod restarted", || async {
        let live = c.live_pods(SELECTOR).await?;
        let restarted = |p: &Value| {
            !p["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].is_null()
        };
        Ok(live.len() == 2 && live.iter().all(restarted))
    })
    .await?;

    ensure!(!replica_sets(c).await?.is_empty());
    c.ok(&["delete", "deploy/web"]).await?;
    c.poll("the ReplicaSets and pods are gone", || async {
        let pods = c.get(&["pods", "-l", SELECTOR, "-o", "name"]).await?;
        Ok(replica_sets(c).await?.is_empty() && pods.is_empty())
    })
    .await
}

/// A paused Deployment takes an image change without rolling; resumed, it rolls.
async fn paused_change_waits(c: &Cluster, image: &str) -> anyhow::Result<()> {
    c.ok(&["rollout", "pause", "deploy/web"]).await?;
    let before = replica_sets(c).await?;
    let images = pod_images(c).await?;
    c.ok(&["set", "image", "deploy/web", &format!("web={image}")])
        .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    ensure!(
        replica_sets(c).await? == before,
        "no new ReplicaSet while paused"
    );
    ensure!(
        pod_images(c).await? == images,
        "no pod changed while paused"
    );
    let progressing = r#"jsonpath={.status.conditions[?(@.type=="Progressing")].reason}"#;
    c.poll("the Deployment reports it is paused", || async {
        Ok(c.get(&["deploy", "web", "-o", progressing]).await? == "DeploymentPaused")
    })
    .await?;
    c.ok(&["rollout", "resume", "deploy/web"]).await?;
    rolled_out(c).await?;
    c.poll("the pods run the image set while paused", || async {
        Ok(pod_images(c).await? == BTreeSet::from([image.to_owned()]))
    })
    .await
}
