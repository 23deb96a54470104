//! The same registers as ConfigMaps over the Kubernetes API (linearizable GETs, PUTs with and
//! without `resourceVersion`) while the leader is killed and restarted, quickly or at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::bail;
use skiff_tests::jepsen::changelog::Change;
use skiff_tests::jepsen::kube_workload::{self, store_key, value_of};
use skiff_tests::jepsen::{History, Mix, Nemesis, Workload};
use skiff_tests::{ApiClient, Cluster, Replica, ReplicaOptions, run_bounded};
use tokio::time::{Instant, sleep};

use crate::common::{KEEP_HISTORY, check_all, heal_and_fetch_logs, seconds};

const NAME_PREFIX: &str = "jepsen-";

#[test]
fn configmaps_stay_linearizable_across_leader_kills() {
    let secs = seconds(50).expect("JEPSEN_SECONDS");
    run_bounded(
        "jepsen_kube",
        Duration::from_secs(secs + 300),
        scenario(secs),
    );
}

async fn scenario(secs: u64) -> anyhow::Result<()> {
    let mut nemesis = Nemesis::from_env()?;
    let mut cluster = Cluster::start(3, |i| {
        ReplicaOptions::new(&format!("jepsen-kube{i}")).args(KEEP_HISTORY)
    })
    .await?;
    for replica in &cluster.replicas {
        api_ready(replica).await?;
    }
    let admins = cluster
        .replicas
        .iter()
        .map(ApiClient::admin)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let history = Arc::new(History::new());
    let workload = Workload::new(NAME_PREFIX, 3, 6);
    eprintln!("jepsen: {workload:?}, leader kills for {secs} s");
    let leader = cluster.leader(Duration::from_secs(10)).await?;
    kube_workload::init(&workload, &admins[leader], &history).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let seed = nemesis.derive_seed(2);
    let clients = kube_workload::spawn(&workload, &admins, &history, &stop, seed);
    let until = Instant::now() + Duration::from_secs(secs);
    let faults = nemesis.run(&mut cluster, Mix::LEADER_KILLS, until).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await?;
    }
    faults?;

    let logs = heal_and_fetch_logs(&mut cluster, &store_key(NAME_PREFIX)).await?;
    check_all(history.entries(), &nemesis, logs, registers, NAME_PREFIX).await
}

/// The changes to the test's ConfigMaps, as the registers they hold: key = the ConfigMap's
/// name, value = its `data.value`.
fn registers(log: &[Change]) -> Vec<Change> {
    let prefix = store_key("");
    log.iter()
        .filter_map(|c| {
            let name = c.key.strip_prefix(&prefix)?;
            if !name.starts_with(NAME_PREFIX) {
                return None;
            }
            let mut c = c.clone();
            c.key = name.to_owned();
            c.value = c
                .value
                .and_then(|v| serde_json::from_str(&v).ok())
                .and_then(|v| value_of(&v));
            Some(c)
        })
        .collect()
}

/// Waits until `replica` serves the Kubernetes API (it creates the system namespaces just
/// after it starts serving).
async fn api_ready(replica: &Replica) -> anyhow::Result<()> {
    let admin = ApiClient::admin(replica)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match admin.get("/api/v1/namespaces/default").await {
            Ok(a) if a.status.is_success() => return Ok(()),
            _ if Instant::now() < deadline => sleep(Duration::from_millis(100)).await,
            other => bail!(
                "the API of {} not ready within 20 s: {other:?}",
                replica.url()
            ),
        }
    }
}
