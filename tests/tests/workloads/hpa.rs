//! A HorizontalPodAutoscaler on a Deployment: it reads the target's scale (AbleToScale), and
//! reports whether it could compute a replica count from `metrics.k8s.io` (ScalingActive:
//! FailedGetResourceMetric with an Event when the API server lacks the metrics API,
//! ValidMetricFound when it has it); raising minReplicas scales the Deployment through its
//! `/scale` subresource whatever the metrics say.

use anyhow::ensure;
use serde_json::{Value, json};

use crate::support::{Cluster, guest};

fn hpa(min: i32) -> Value {
    json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "scaled", "namespace": "default"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "scaled"},
            "minReplicas": min, "maxReplicas": 3,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50}}}]}
    })
}

/// The HPA's condition `type_` as (status, reason).
async fn condition(c: &Cluster, type_: &str) -> anyhow::Result<(String, String)> {
    let hpa = c.json(&["hpa", "scaled"]).await?;
    let found = hpa["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == type_)
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_owned(),
                c["reason"].as_str().unwrap_or_default().to_owned(),
            )
        });
    Ok(found.unwrap_or_default())
}

pub async fn conditions(c: &Cluster) -> anyhow::Result<()> {
    let image = guest("http-server")?;
    c.apply(&json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "scaled", "namespace": "default"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "scaled"}},
            "template": {"metadata": {"labels": {"app": "scaled"}},
                "spec": {"terminationGracePeriodSeconds": 2, "containers": [{
                    "name": "web", "image": image,
                    "resources": {"requests": {"cpu": "100m", "memory": "32Mi"}}}]}}}
    }))
    .await?;
    c.ok(&["rollout", "status", "deploy/scaled", "--timeout=55s"])
        .await?;
    c.apply(&hpa(1)).await?;
    let metrics_served = c
        .kubectl
        .run(&["get", "--raw", "/apis/metrics.k8s.io/v1beta1"], "")
        .await?
        .success;
    let want = if metrics_served {
        ("True", "ValidMetricFound")
    } else {
        ("False", "FailedGetResourceMetric")
    };
    c.poll(&format!("ScalingActive is {want:?}"), || async {
        let got = condition(c, "ScalingActive").await?;
        Ok((got.0.as_str(), got.1.as_str()) == want)
    })
    .await?;
    ensure!(condition(c, "AbleToScale").await?.0 == "True");
    let current = c
        .get(&["hpa", "scaled", "-o", "jsonpath={.status.currentReplicas}"])
        .await?;
    ensure!(current == "1", "currentReplicas {current}");
    if !metrics_served {
        c.poll("a FailedGetResourceMetric event", || async {
            let events = c.json(&["events"]).await?;
            Ok(events["items"].as_array().into_iter().flatten().any(|e| {
                e["involvedObject"]["name"] == "scaled" && e["reason"] == "FailedGetResourceMetric"
            }))
        })
        .await?;
        let row = c.ok(&["get", "hpa", "scaled", "--no-headers"]).await?;
        ensure!(row.contains("<unknown>/50%"), "kubectl get hpa: {row}");
    }

    c.apply(&hpa(2)).await?;
    c.poll("minReplicas 2 scales the Deployment to 2", || async {
        let replicas = c
            .get(&["deploy", "scaled", "-o", "jsonpath={.spec.replicas}"])
            .await?;
        let desired = c
            .get(&["hpa", "scaled", "-o", "jsonpath={.status.desiredReplicas}"])
            .await?;
        Ok(replicas == "2" && desired == "2")
    })
    .await?;
    c.ok(&["delete", "hpa/scaled", "deploy/scaled"]).await?;
    Ok(())
}
