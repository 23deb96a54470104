//! The load: writers spread round-robin over the replicas, each putting its own key in a loop
//! and recording when each put was acknowledged. A writer whose put fails waits 10 ms and tries
//! again, so a dead replica's writers do not spin.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use skiff_tests::{Cluster, KvClient};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How long one put may take before the writer gives up on it (longer than any fault here,
/// so a put stuck behind a paused leader shows up as the stall it is).
const PUT_TIMEOUT: Duration = Duration::from_secs(20);

/// Running writers and the times their puts were acknowledged.
pub struct Load {
    acks: Arc<Mutex<Vec<Instant>>>,
    stop: Arc<AtomicBool>,
    tasks: JoinSet<()>,
}

impl Load {
    pub fn start(cluster: &Cluster, writers: usize) -> Load {
        let acks = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = JoinSet::new();
        for w in 0..writers {
            let client = cluster.clients[w % cluster.clients.len()].clone();
            tasks.spawn(write_loop(client, w, acks.clone(), stop.clone()));
        }
        Load { acks, stop, tasks }
    }

    /// Acknowledgement times from `from` on, in order.
    pub fn acks_since(&self, from: Instant) -> Vec<Instant> {
        let acks = skiff_sync::lock(&self.acks);
        let start = acks.partition_point(|t| *t < from);
        acks[start..].to_vec()
    }

    /// Waits until a write is acknowledged at or after `from`, up to `limit`; its time.
    pub async fn first_ack_after(&self, from: Instant, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(first) = self.acks_since(from).first() {
                return Some(*first);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn write_loop(
    client: KvClient,
    writer: usize,
    acks: Arc<Mutex<Vec<Instant>>>,
    stop: Arc<AtomicBool>,
) {
    let key = format!("failover/{writer}");
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        let value = seq.to_string();
        let put = tokio::time::timeout(PUT_TIMEOUT, client.put(&key, &value));
        if let Ok(Ok(_)) = put.await {
            let now = Instant::now();
            let mut acks = skiff_sync::lock(&acks);
            // Keep the record sorted: tasks can record slightly out of order.
            let at = acks.partition_point(|t| *t <= now);
            acks.insert(at, now);
        } else {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
