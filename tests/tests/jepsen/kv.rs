//! The `/kv/v1` registers under every fault the nemesis knows, whole-cluster restarts and
//! quick leader restarts first and most often.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use skiff_tests::jepsen::{History, Mix, Nemesis, Workload};
use skiff_tests::{Cluster, ReplicaOptions, run_bounded};
use tokio::time::Instant;

use crate::common::{KEEP_HISTORY, check_all, heal_and_fetch_logs, seconds};

const PREFIX: &str = "/jepsen/";

#[test]
fn kv_registers_stay_linearizable_under_process_faults() {
    let secs = seconds(100).expect("JEPSEN_SECONDS");
    run_bounded("jepsen_kv", Duration::from_secs(secs + 300), scenario(secs));
}

async fn scenario(secs: u64) -> anyhow::Result<()> {
    let mut nemesis = Nemesis::from_env()?;
    let mut cluster = Cluster::start(3, |i| {
        ReplicaOptions::new(&format!("jepsen-kv{i}")).args(KEEP_HISTORY)
    })
    .await?;
    let history = Arc::new(History::new());
    let workload = Workload::new(PREFIX, 3, 6);
    eprintln!("jepsen: {workload:?}, faults for {secs} s");
    let leader = cluster.leader(Duration::from_secs(10)).await?;
    workload.init(&cluster.clients[leader], &history).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let seed = nemesis.derive_seed(1);
    let clients = workload.spawn(&cluster.clients, &history, &stop, seed);
    let until = Instant::now() + Duration::from_secs(secs);
    let faults = nemesis.run(&mut cluster, Mix::ALL, until).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await?;
    }
    faults?;

    let logs = heal_and_fetch_logs(&mut cluster, PREFIX).await?;
    check_all(history.entries(), &nemesis, logs, <[_]>::to_vec, PREFIX).await
}
