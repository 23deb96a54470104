//! A PodDisruptionBudget's status follows its pods, and the eviction subresource spends it:
//! with minAvailable 2 of 2 an eviction is refused (429); with minAvailable 1 one eviction
//! passes, the budget is spent, and the Deployment's replacement restores it; a percentage
//! of maxUnavailable counts the Deployment's scale.

use anyhow::ensure;
use serde_json::{Value, json};

use crate::support::{Cluster, guest};

const SELECTOR: &str = "app=guarded";

fn deployment(image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "guarded", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "guarded"}},
            "template": {"metadata": {"labels": {"app": "guarded"}},
                "spec": {"terminationGracePeriodSeconds": 2, "containers": [{
                    "name": "web", "image": image,
                    // A replacement is not Ready for 4 s, so the spent budget can be read
                    // before the replacement restores it.
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                       "initialDelaySeconds": 4, "periodSeconds": 1}}]}}}
    })
}

fn budget(rule: Value) -> Value {
    let mut spec = json!({"selector": {"matchLabels": {"app": "guarded"}}});
    if let (Some(spec), Some(rule)) = (spec.as_object_mut(), rule.as_object()) {
        spec.extend(rule.clone());
    }
    json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
           "metadata": {"name": "guard", "namespace": "default"}, "spec": spec})
}

/// Waits for the budget's status to be observed and read
/// (expectedPods, desiredHealthy, currentHealthy, disruptionsAllowed).
async fn status_is(c: &Cluster, want: [i64; 4]) -> anyhow::Result<()> {
    c.poll(&format!("the budget's status is {want:?}"), || async {
        let pdb = c.json(&["pdb", "guard"]).await?;
        let s = &pdb["status"];
        let got = [
            "expectedPods",
            "desiredHealthy",
            "currentHealthy",
            "disruptionsAllowed",
        ]
        .map(|f| s[f].as_i64().unwrap_or(-1));
        let observed = s["observedGeneration"] == pdb["metadata"]["generation"];
        let reason = if want[3] > 0 {
            "SufficientPods"
        } else {
            "InsufficientPods"
        };
        let condition = s["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "DisruptionAllowed" && c["reason"] == reason);
        Ok(observed && condition && got == want)
    })
    .await
}

/// POSTs an Eviction of one of the budget's pods; whether it passed, kubectl's output, and
/// the pod's name.
async fn evict_one(c: &Cluster) -> anyhow::Result<(bool, String, String)> {
    let pods = c.live_pods(SELECTOR).await?;
    let name = pods
        .first()
        .and_then(|p| p["metadata"]["name"].as_str())
        .ok_or_else(|| anyhow::anyhow!("no pod to evict"))?;
    let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction",
                          "metadata": {"name": name, "namespace": "default"}});
    let path = format!("/api/v1/namespaces/default/pods/{name}/eviction");
    let out = c
        .kubectl
        .run(
            &["create", "--raw", &path, "-f", "-"],
            &eviction.to_string(),
        )
        .await?;
    let said = format!("{}{}", out.stdout, out.stderr);
    Ok((out.success, said, name.to_owned()))
}

pub async fn budgets(c: &Cluster) -> anyhow::Result<()> {
    c.apply(&deployment(&guest("http-server")?)).await?;
    c.ok(&["rollout", "status", "deploy/guarded", "--timeout=55s"])
        .await?;
    c.apply(&budget(json!({"minAvailable": 2}))).await?;
    status_is(c, [2, 2, 2, 0]).await?;
    let (passed, said, _) = evict_one(c).await?;
    ensure!(!passed, "an eviction beyond the budget passed: {said}");
    ensure!(said.contains("disruption budget"), "kubectl said: {said}");

    c.apply(&budget(json!({"minAvailable": 1}))).await?;
    status_is(c, [2, 1, 2, 1]).await?;
    let (passed, said, evicted) = evict_one(c).await?;
    ensure!(passed, "an eviction the budget allows was refused: {said}");
    let spent = c
        .get(&[
            "pdb",
            "guard",
            "-o",
            "jsonpath={.status.disruptionsAllowed}",
        ])
        .await?;
    ensure!(spent == "0", "the eviction spent the budget: {spent}");
    // The evicted pod is replaced; the budget is whole again.
    c.poll("the evicted pod is gone", || async {
        Ok(c.get(&["pod", &evicted, "-o", "name"]).await?.is_empty())
    })
    .await?;
    status_is(c, [2, 1, 2, 1]).await?;

    c.ok(&["delete", "pdb/guard"]).await?;
    c.apply(&budget(json!({"maxUnavailable": "50%"}))).await?;
    status_is(c, [2, 1, 2, 1]).await?;
    c.ok(&["scale", "deploy/guarded", "--replicas=4"]).await?;
    status_is(c, [4, 2, 4, 2]).await?;
    c.ok(&["delete", "pdb/guard", "deploy/guarded"]).await?;
    Ok(())
}
