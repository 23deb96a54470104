//! A Deployment of many replicas on `skiff up`: the time from its create to the Available
//! condition with every replica available, as `kubectl rollout status` waits for it.

use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Client;
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use tokio::time::Instant;

use super::timeline::{Timeline, describe};

/// What one Deployment run measured.
#[derive(Clone, Debug)]
pub struct DeployOutcome {
    pub replicas: i32,
    /// From the create until the first status with every replica available.
    pub available: Duration,
    /// When half and all pods reached each stage (with `--timeline`).
    pub stages: Option<String>,
}

fn deployment(name: &str, replicas: i32, image: &str) -> anyhow::Result<Deployment> {
    Ok(serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"terminationGracePeriodSeconds": 1,
                         "containers": [{"name": "c", "image": image}]}
            }
        }
    }))?)
}

/// Whether `d`'s status shows the Available condition and all `replicas` updated and available.
fn complete(d: &Deployment, replicas: i32) -> bool {
    let Some(status) = &d.status else {
        return false;
    };
    let available = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Available" && c.status == "True");
    available
        && status.available_replicas == Some(replicas)
        && status.updated_replicas == Some(replicas)
}

/// Creates the Deployment `name` and waits (at most `limit`) until it is complete.
pub async fn deploy(
    client: &Client,
    name: &str,
    replicas: i32,
    image: &str,
    limit: Duration,
    timeline: bool,
) -> anyhow::Result<DeployOutcome> {
    let stages = if timeline {
        Some(Timeline::start(client.clone(), &format!("app={name}")).await?)
    } else {
        None
    };
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = std::pin::pin!(
        watcher(api.clone(), config)
            .default_backoff()
            .applied_objects()
    );
    let started = Instant::now();
    api.create(&PostParams::default(), &deployment(name, replicas, image)?)
        .await
        .context("creating the Deployment")?;
    let deadline = started + limit;
    loop {
        let next = tokio::time::timeout_at(deadline, events.next())
            .await
            .with_context(|| format!("{name} not available within {limit:?}"))?
            .context("the Deployment watch ended")??;
        if complete(&next, replicas) {
            let available = started.elapsed();
            return Ok(DeployOutcome {
                replicas,
                available,
                stages: stages.map(|t| describe(&t.report(started, replicas as usize))),
            });
        }
    }
}
