//! Issue 12's reproduction, kept as a tool: write steadily to three keys through the leader of
//! a 3-replica cluster, kill -9 the leader, restart it on the same data directory after
//! 0.2-1.0 s, and compare the replicas' serializable views of the keys; repeat until they
//! disagree for 5 s or `ROUNDS` rounds pass. On a disagreement every replica is killed, its
//! data directory kept and printed, so the Raft logs can be compared with
//! `skiff debug raft-log --data-dir <dir>`.
//!
//!     SKIFF_BIN=path/to/skiff ROUNDS=60 cargo run -p skiff-tests --example leader_restart_loop

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use rand::Rng;
use skiff_tests::{Cluster, KvClient, ReplicaOptions};
use tokio::time::{Instant, sleep};

const KEYS: [&str; 3] = ["loop/k0", "loop/k1", "loop/k2"];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(40);
    let mut cluster = Cluster::start(3, |i| ReplicaOptions::new(&format!("loop{i}"))).await?;
    for round in 1..=rounds {
        let leader = cluster.leader(Duration::from_secs(20)).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = KEYS
            .iter()
            .map(|key| {
                tokio::spawn(write_loop(
                    cluster.clients[leader].clone(),
                    key,
                    stop.clone(),
                ))
            })
            .collect();
        sleep(Duration::from_millis(rand::rng().random_range(300..800))).await;
        cluster.replicas[leader].kill9();
        sleep(Duration::from_millis(rand::rng().random_range(200..1000))).await;
        cluster.replicas[leader].restart().await?;
        sleep(Duration::from_millis(500)).await;
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            let _ = w.await;
        }
        match disagreement(&cluster, Duration::from_secs(5)).await? {
            None => eprintln!("round {round}: replicas agree"),
            Some(views) => {
                eprintln!("round {round}: replicas disagree for 5 s:\n{views}");
                for r in &mut cluster.replicas {
                    r.kill9();
                }
                for r in &cluster.replicas {
                    println!("kept: {} (id {:016x})", r.data_dir.display(), r.id);
                }
                return Ok(());
            }
        }
    }
    eprintln!("no disagreement in {rounds} rounds");
    for r in &cluster.replicas {
        let _ = std::fs::remove_dir_all(&r.root);
    }
    Ok(())
}

async fn write_loop(client: KvClient, key: &str, stop: Arc<AtomicBool>) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        if client.put(key, &n.to_string()).await.is_err() {
            sleep(Duration::from_millis(20)).await;
        }
    }
}

/// `None` once every replica's view of the keys agrees (within `limit`); otherwise the views.
async fn disagreement(cluster: &Cluster, limit: Duration) -> anyhow::Result<Option<String>> {
    let deadline = Instant::now() + limit;
    loop {
        let mut views = Vec::new();
        for client in &cluster.clients {
            let range = client
                .range("loop/", true, true, None)
                .await
                .context("range")?;
            let view: Vec<(String, u64, String)> = range
                .kvs
                .into_iter()
                .map(|kv| (kv.key, kv.mod_revision, kv.value))
                .collect();
            views.push(view);
        }
        if views.windows(2).all(|w| w[0] == w[1]) {
            return Ok(None);
        }
        if Instant::now() >= deadline {
            return Ok(Some(format!("{views:#?}")));
        }
        sleep(Duration::from_millis(200)).await;
    }
}
