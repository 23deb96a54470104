//! Pods of the example guests for the network tests, and waiting for their outcome.

use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use skiff_tests::Kubectl;
use skiff_tests::fleet::{example, poll};

/// Every test's bound.
pub const LIMIT: Duration = Duration::from_secs(300);
/// How long one condition may take to hold.
pub const WAIT: Duration = Duration::from_secs(90);

/// A `client` pod (restartPolicy Never) calling `target` `count` times over `proto`.
pub fn client_pod(name: &str, node: &str, target: &str, proto: &str) -> anyhow::Result<Value> {
    Ok(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": node, "restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                 "containers": [{"name": "client", "image": example("client")?, "env": [
                     {"name": "TARGET", "value": target}, {"name": "PROTO", "value": proto},
                     {"name": "COUNT", "value": "3"}, {"name": "INTERVAL_MS", "value": "100"},
                 ]}]},
    }))
}

/// The pod's phase once it finished (Succeeded or Failed), within [`WAIT`].
pub async fn finished(kubectl: &Kubectl, pod: &str) -> anyhow::Result<String> {
    let jsonpath = "jsonpath={.status.phase}";
    poll(&format!("pod {pod} finished"), WAIT, || async {
        let out = kubectl
            .run(&["get", "pod", pod, "-o", jsonpath], "")
            .await?;
        Ok(matches!(out.stdout.trim(), "Succeeded" | "Failed"))
    })
    .await?;
    let phase = kubectl.ok(&["get", "pod", pod, "-o", jsonpath]).await?;
    Ok(phase.trim().to_owned())
}

/// `status.podIP` of a pod, once it has one.
pub async fn pod_ip(kubectl: &Kubectl, namespace: &str, pod: &str) -> anyhow::Result<String> {
    let args = [
        "-n",
        namespace,
        "get",
        "pod",
        pod,
        "-o",
        "jsonpath={.status.podIP}",
    ];
    poll(&format!("pod {pod} has an IP"), WAIT, || async {
        Ok(!kubectl.ok(&args).await?.trim().is_empty())
    })
    .await?;
    Ok(kubectl.ok(&args).await?.trim().to_owned())
}

/// The log of a pod's container.
pub async fn logs(
    kubectl: &Kubectl,
    namespace: &str,
    pod: &str,
    container: &str,
) -> anyhow::Result<String> {
    kubectl
        .ok(&["-n", namespace, "logs", pod, "-c", container])
        .await
        .with_context(|| format!("logs of {namespace}/{pod}/{container}"))
}
