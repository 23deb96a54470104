//! A Service's Endpoints and EndpointSlices follow pod readiness: of two selected pods, the
//! one whose readiness probe fails (its server listens on another port) is listed not ready;
//! a pod that turns ready joins the ready addresses; a deleted pod leaves them.

use std::collections::BTreeSet;

use anyhow::ensure;
use serde_json::{Value, json};

use crate::support::{Cluster, guest};

fn pod(name: &str, image: &str, port: u16) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "ep"}},
        "spec": {"terminationGracePeriodSeconds": 2, "containers": [{
            "name": "web", "image": image, "env": [{"name": "PORT", "value": port.to_string()}],
            "ports": [{"name": "http", "containerPort": 8080}],
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1}}]}
    })
}

/// The Endpoints' (ready, not ready) IPs.
async fn endpoints(c: &Cluster) -> anyhow::Result<(BTreeSet<String>, BTreeSet<String>)> {
    let ep = c.json(&["endpoints", "ep"]).await?;
    let ips = |field: &str| -> BTreeSet<String> {
        ep["subsets"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s[field].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a["ip"].as_str().map(str::to_owned))
            .collect()
    };
    Ok((ips("addresses"), ips("notReadyAddresses")))
}

/// The EndpointSlices' (ready, not ready) addresses.
async fn slices(c: &Cluster) -> anyhow::Result<(BTreeSet<String>, BTreeSet<String>)> {
    let list = c
        .json(&["endpointslices", "-l", "kubernetes.io/service-name=ep"])
        .await?;
    let (mut ready, mut not_ready) = (BTreeSet::new(), BTreeSet::new());
    for e in list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
    {
        let target = if e["conditions"]["ready"] == true {
            &mut ready
        } else {
            &mut not_ready
        };
        target.extend(
            e["addresses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(str::to_owned)),
        );
    }
    Ok((ready, not_ready))
}

async fn pod_ip(c: &Cluster, name: &str) -> anyhow::Result<String> {
    let args = ["pod", name, "-o", "jsonpath={.status.podIP}"];
    c.poll(&format!("pod {name} has an IP"), || async {
        Ok(!c.get(&args).await?.is_empty())
    })
    .await?;
    c.get(&args).await
}

/// Waits until both the Endpoints and the EndpointSlices list exactly `ready` and `not_ready`.
async fn listed(c: &Cluster, ready: &[&str], not_ready: &[&str]) -> anyhow::Result<()> {
    let want = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let (ready, not_ready) = (want(ready), want(not_ready));
    c.poll(
        &format!("ready {ready:?}, not ready {not_ready:?}"),
        || async {
            let both = (ready.clone(), not_ready.clone());
            Ok(endpoints(c).await? == both && slices(c).await? == both)
        },
    )
    .await
}

pub async fn follow_readiness(c: &Cluster) -> anyhow::Result<()> {
    let image = guest("http-server")?;
    c.apply(&json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "ep", "namespace": "default"},
        "spec": {"selector": {"app": "ep"},
                 "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}
    }))
    .await?;
    c.apply(&pod("ep-good", &image, 8080)).await?;
    c.apply(&pod("ep-bad", &image, 8081)).await?;
    let (good, bad) = (pod_ip(c, "ep-good").await?, pod_ip(c, "ep-bad").await?);
    listed(c, &[&good], &[&bad]).await?;
    let ports = c
        .get(&[
            "endpoints",
            "ep",
            "-o",
            "jsonpath={.subsets[0].ports[0].port}",
        ])
        .await?;
    ensure!(ports == "8080", "the named target port resolves: {ports}");

    c.apply(&pod("ep-late", &image, 8080)).await?;
    let late = pod_ip(c, "ep-late").await?;
    listed(c, &[&good, &late], &[&bad]).await?;
    c.ok(&["delete", "pod", "ep-good", "--wait=true"]).await?;
    listed(c, &[&late], &[&bad]).await?;
    c.ok(&["delete", "svc/ep", "pod/ep-bad", "pod/ep-late"])
        .await?;
    Ok(())
}
