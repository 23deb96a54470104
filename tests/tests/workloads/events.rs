//! The Events the controllers and the scheduler record, as `kubectl describe` and
//! `kubectl events` show them on Kubernetes: ScalingReplicaSet from the deployment-controller
//! (up, then down), SuccessfulCreate and SuccessfulDelete from the replicaset-controller, and
//! Scheduled from the default-scheduler; and the kubelet's Starting and NodeReady on the Node.

use anyhow::ensure;
use serde_json::{Value, json};

use crate::support::{Cluster, guest};

const SELECTOR: &str = "app=ev";

fn deployment(image: &str, replicas: u32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "ev", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "ev"}},
            "template": {
                "metadata": {"labels": {"app": "ev"}},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                    "name": "web", "image": image, "ports": [{"containerPort": 8080}]}]}
            }
        }
    })
}

/// Polls `kubectl <args>` until its output has every one of `wanted`.
async fn shows(c: &Cluster, args: &[&str], wanted: &[&str]) -> anyhow::Result<()> {
    let what = format!("`kubectl {}` shows {wanted:?}", args.join(" "));
    c.poll(&what, || async {
        let out = c.ok(args).await?;
        Ok(wanted.iter().all(|w| out.contains(w)))
    })
    .await
}

pub async fn recorded(c: &Cluster) -> anyhow::Result<()> {
    let image = guest("http-server")?;
    c.apply(&deployment(&image, 2)).await?;
    c.ok(&["rollout", "status", "deploy/ev", "--timeout=55s"])
        .await?;
    let rs = c.get(&["rs", "-l", SELECTOR, "-o", "name"]).await?;
    let rs = rs.trim_start_matches("replicaset.apps/").to_owned();
    ensure!(rs.starts_with("ev-"), "the ReplicaSet: {rs}");
    let scaled_up = format!("Scaled up replica set {rs} from 0 to 2");
    let describe_deploy = ["describe", "deploy", "ev"];
    shows(
        c,
        &describe_deploy,
        &["ScalingReplicaSet", "deployment-controller", &scaled_up],
    )
    .await?;
    let describe_rs = ["describe", "rs", &rs];
    shows(
        c,
        &describe_rs,
        &[
            "SuccessfulCreate",
            "replicaset-controller",
            "Created pod: ev-",
        ],
    )
    .await?;
    let pod = c
        .get(&[
            "pods",
            "-l",
            SELECTOR,
            "-o",
            "jsonpath={.items[0].metadata.name}",
        ])
        .await?;
    let assigned = format!("Successfully assigned default/{pod} to ");
    shows(
        c,
        &["describe", "pod", &pod],
        &["Scheduled", "default-scheduler", &assigned],
    )
    .await?;

    c.ok(&["scale", "deploy/ev", "--replicas=1"]).await?;
    let scaled_down = format!("Scaled down replica set {rs} from 2 to 1");
    shows(c, &describe_deploy, &[&scaled_down]).await?;
    shows(c, &describe_rs, &["SuccessfulDelete", "Deleted pod: ev-"]).await?;
    shows(
        c,
        &["events", "--for", "deploy/ev"],
        &["ScalingReplicaSet", &scaled_down],
    )
    .await?;

    let node = c
        .get(&["nodes", "-o", "jsonpath={.items[0].metadata.name}"])
        .await?;
    let ready = format!("Node {node} status is now: NodeReady");
    let memory = format!("Node {node} status is now: NodeHasSufficientMemory");
    let describe_node = ["describe", "node", &node];
    shows(c, &describe_node, &["Starting kubelet.", &memory, &ready]).await?;

    c.ok(&["delete", "deploy/ev"]).await?;
    c.poll("the pods of ev are gone", || async {
        Ok(c.get(&["pods", "-l", SELECTOR, "-o", "name"])
            .await?
            .is_empty())
    })
    .await
}
