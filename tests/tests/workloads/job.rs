//! A Job of the `job` example (counts primes, exits 0) completes: `kubectl wait` sees the
//! Complete condition, its pod Succeeded and printed the answer, and `kubectl describe job`
//! shows the job-controller's SuccessfulCreate and Completed Events.

use anyhow::ensure;
use serde_json::json;

use crate::support::{Cluster, guest};

pub async fn completes(c: &Cluster) -> anyhow::Result<()> {
    let image = guest("job")?;
    c.apply(&json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "primes", "namespace": "default"},
        "spec": {"completions": 2, "parallelism": 2, "backoffLimit": 2, "template": {
            "spec": {"restartPolicy": "Never", "containers": [{
                "name": "primes", "image": image, "env": [{"name": "LIMIT", "value": "1000"}]}]}}}
    }))
    .await?;
    c.ok(&[
        "wait",
        "--for=condition=complete",
        "job/primes",
        "--timeout=55s",
    ])
    .await?;
    let succeeded = c
        .get(&["job", "primes", "-o", "jsonpath={.status.succeeded}"])
        .await?;
    ensure!(succeeded == "2", "succeeded: {succeeded}");
    let wanted = [
        "SuccessfulCreate",
        "job-controller",
        "Created pod: primes-",
        "Job completed",
    ];
    c.poll("`kubectl describe job` shows the Job's Events", || async {
        let described = c.ok(&["describe", "job", "primes"]).await?;
        Ok(wanted.iter().all(|w| described.contains(w)))
    })
    .await?;
    let logs = c.ok(&["logs", "job/primes"]).await?;
    ensure!(logs.contains("primes below 1000: 168"), "logs: {logs}");
    c.ok(&["delete", "job/primes"]).await?;
    c.poll("the Job's pods are gone", || async {
        Ok(c.get(&["pods", "-l", "job-name=primes", "-o", "name"])
            .await?
            .is_empty())
    })
    .await
}
