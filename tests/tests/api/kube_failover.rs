//! kube-rs as a client: a reflector on ConfigMaps through a follower keeps every ConfigMap a
//! writer creates through the other follower while the leader is killed with SIGKILL and a new
//! one is elected. No event may be missed: the store must end up with every created name.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, ensure};
use futures::StreamExt;
use http::Method;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, Client};
use serde_json::json;
use skiff_tests::{ApiClient, Cluster, ReplicaOptions, kubeconfig_for, run_bounded};
use tokio::time::{Instant, sleep};

use crate::manifests::api_ready;

#[test]
fn kube_reflector_misses_nothing_across_leader_failover() {
    run_bounded(
        "kube_reflector_misses_nothing_across_leader_failover",
        Duration::from_secs(180),
        scenario(),
    );
}

const LABEL: &str = "suite=failover";

async fn scenario() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(3, |i| ReplicaOptions::new(&format!("kube-f{i}"))).await?;
    let leader = cluster.leader(Duration::from_secs(10)).await?;
    for replica in &cluster.replicas {
        api_ready(replica).await?;
    }
    let (watched, written) = ((leader + 1) % 3, (leader + 2) % 3);

    let path = kubeconfig_for(&cluster.replicas[0], &cluster.replicas[watched].url())?;
    let kubeconfig = Kubeconfig::read_from(&path)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .context("kube config from the kubeconfig")?;
    let client = Client::try_from(config)?;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let (store, writer) = reflector::store::<ConfigMap>();
    let stream = reflector(
        writer,
        watcher(api, watcher::Config::default().labels(LABEL)),
    )
    .default_backoff()
    .applied_objects();
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let driver = tokio::spawn({
        let errors = errors.clone();
        async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                if let Err(e) = item {
                    skiff_sync::lock(&errors).push(e.to_string());
                }
            }
        }
    });
    #[allow(clippy::disallowed_methods)]
    // reason: the test is the only task waiting for this store
    store
        .wait_until_ready()
        .await
        .context("reflector never synced")?;

    let admin = ApiClient::admin(&cluster.replicas[written])?;
    let mut created = BTreeSet::new();
    let mut killed_at = None;
    let started = Instant::now();
    for i in 0.. {
        let name = format!("fo-{i:04}");
        create_until_stored(&admin, &name).await?;
        created.insert(name);
        if killed_at.is_none() && started.elapsed() > Duration::from_secs(2) {
            cluster.replicas[leader].kill9();
            killed_at = Some(Instant::now());
        }
        if killed_at.is_some_and(|t| t.elapsed() > Duration::from_secs(6)) && i >= 40 {
            break;
        }
        sleep(Duration::from_millis(30)).await;
    }
    let new_leader = cluster.leader(Duration::from_secs(20)).await?;
    ensure!(
        new_leader != leader,
        "the killed replica is still the leader"
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    let missing = loop {
        let have: BTreeSet<String> = store
            .state()
            .iter()
            .filter_map(|cm| cm.metadata.name.clone())
            .collect();
        let missing: Vec<&String> = created.difference(&have).collect();
        if missing.is_empty() || Instant::now() >= deadline {
            break missing.into_iter().cloned().collect::<Vec<_>>();
        }
        sleep(Duration::from_millis(200)).await;
    };
    driver.abort();
    ensure!(
        missing.is_empty(),
        "the reflector missed {} of {} ConfigMaps: {missing:?}; watcher errors: {:?}",
        missing.len(),
        created.len(),
        skiff_sync::lock(&errors)
    );
    eprintln!(
        "reflector holds all {} ConfigMaps; watcher errors during failover: {:?}",
        created.len(),
        skiff_sync::lock(&errors)
    );
    Ok(())
}

/// Creates ConfigMap `name`, retrying while there is no leader; an `AlreadyExists` after a
/// retry means an earlier attempt was stored.
async fn create_until_stored(admin: &ApiClient, name: &str) -> anyhow::Result<()> {
    let body = json!({ "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": name, "labels": { "suite": "failover" } },
        "data": { "n": name } });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while Instant::now() < deadline {
        match admin
            .json(Method::POST, "/api/v1/namespaces/default/configmaps", &body)
            .await
        {
            Ok(a) if a.status.is_success() => return Ok(()),
            Ok(a) if a.status.as_u16() == 409 && a.body["reason"] == "AlreadyExists" => {
                return Ok(());
            }
            Ok(a) => last = format!("{} {}", a.status, a.body),
            Err(e) => last = format!("{e:#}"),
        }
        sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("creating {name}: no success within 30 s; last answer: {last}")
}
