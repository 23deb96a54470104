//! Pods with `spec.nodeName` set, straight to the agent: start latency one after another, a
//! burst from many clients, and density.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Context;
use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::json;
use tokio::time::Instant;

use super::NODE;
use super::timeline::{Timeline, describe};
use super::watch::{Running, running};

/// A pod of the benchmark labelled `bench=<label>`, bound to the node, running `image`.
fn pod(name: &str, label: &str, image: &str) -> anyhow::Result<Pod> {
    Ok(serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"bench": label}},
        "spec": {
            "nodeName": NODE,
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "c", "image": image}]
        }
    }))?)
}

/// Start latencies, each from the create to Running seen on the watch.
#[derive(Clone, Debug)]
pub struct StartOutcome {
    /// Sorted.
    pub samples: Vec<Duration>,
    /// The first, unmeasured start, which compiled the image.
    pub cold: Duration,
}

/// Creates `n` pods one after another, each once the one before was seen Running. One
/// unmeasured pod runs first, so every measured start is warm (the image's compiled code is
/// in the agent's cache, as the "p99 warm" means); that first start is returned too.
pub async fn start_latency(client: &Client, n: usize, image: &str) -> anyhow::Result<StartOutcome> {
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut watch = running(client.clone(), "start").await?;
    let cold = start_one(
        &api,
        &mut watch,
        "start-cold",
        image,
        Duration::from_secs(120),
    )
    .await?;
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("start-{i:04}");
        samples.push(start_one(&api, &mut watch, &name, image, Duration::from_secs(30)).await?);
    }
    samples.sort();
    Ok(StartOutcome { samples, cold })
}

/// Creates pod `name` (labelled as `watch` watches) and returns the time from the create
/// until `watch` saw it Running, at most `limit`.
async fn start_one(
    api: &Api<Pod>,
    watch: &mut Running,
    name: &str,
    image: &str,
    limit: Duration,
) -> anyhow::Result<Duration> {
    let created = Instant::now();
    api.create(&PostParams::default(), &pod(name, &watch.label, image)?)
        .await
        .with_context(|| format!("creating {name}"))?;
    Ok(wait_for(watch, name, limit).await? - created)
}

async fn wait_for(watch: &mut Running, name: &str, limit: Duration) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + limit;
    loop {
        let next = tokio::time::timeout_at(deadline, watch.seen.recv())
            .await
            .with_context(|| format!("{name} not Running within {limit:?}"))?
            .context("the pod watch ended")?;
        if next.0 == name {
            return Ok(next.1);
        }
    }
}

/// Many pods at once: until the last create was answered, and until the last was Running.
#[derive(Clone, Debug)]
pub struct BurstOutcome {
    pub pods: usize,
    pub created: Duration,
    pub running: Duration,
    /// When half and all pods reached each stage (with `--timeline`).
    pub stages: Option<String>,
}

/// Runs one pod of `image` until Running and deletes it, so the agent has the image's
/// compiled code (as Kubernetes' density tests pre-pull their images).
pub async fn warm_image(client: &Client, image: &str) -> anyhow::Result<Duration> {
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut watch = running(client.clone(), "warm").await?;
    let took = start_one(&api, &mut watch, "warm", image, Duration::from_secs(120)).await?;
    api.delete("warm", &Default::default())
        .await
        .context("deleting the warm-up pod")?;
    Ok(took)
}

/// Creates `n` pods labelled `bench=<label>` from `clients` concurrent clients; waits (at
/// most `limit`) until every one is seen Running.
pub async fn burst(
    client: &Client,
    n: usize,
    clients: usize,
    label: &str,
    image: &str,
    limit: Duration,
    timeline: bool,
) -> anyhow::Result<BurstOutcome> {
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut watch = running(client.clone(), label).await?;
    let stages = if timeline {
        Some(Timeline::start(client.clone(), &format!("bench={label}")).await?)
    } else {
        None
    };
    let started = Instant::now();
    stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            async move {
                let name = format!("{label}-{i:05}");
                api.create(&PostParams::default(), &pod(&name, label, image)?)
                    .await
                    .with_context(|| format!("creating {name}"))?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(clients)
        .try_collect::<Vec<()>>()
        .await?;
    let created = started.elapsed();
    let deadline = started + limit;
    let mut seen = HashSet::new();
    let mut last = started;
    while seen.len() < n {
        let (name, at) = tokio::time::timeout_at(deadline, watch.seen.recv())
            .await
            .with_context(|| format!("{} of {n} pods Running within {limit:?}", seen.len()))?
            .context("the pod watch ended")?;
        if seen.insert(name) {
            last = at;
        }
    }
    let stages = match stages {
        // The timeline's own watch may be a moment behind the one that saw the last Running.
        Some(timeline) => {
            tokio::time::sleep(Duration::from_millis(500)).await;
            Some(describe(&timeline.report(started, n)))
        }
        None => None,
    };
    Ok(BurstOutcome {
        pods: n,
        created,
        running: last - started,
        stages,
    })
}

/// [`burst`] of `n` idle pods with a longer limit: the density run.
pub async fn density(
    client: &Client,
    n: usize,
    clients: usize,
    image: &str,
) -> anyhow::Result<BurstOutcome> {
    burst(
        client,
        n,
        clients,
        "density",
        image,
        Duration::from_secs(900),
        false,
    )
    .await
}
