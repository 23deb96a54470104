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

/// One acknowledged put: when it was sent and when its answer came.
#[derive(Clone, Copy, Debug)]
pub struct Ack {
    pub sent: Instant,
    pub acked: Instant,
}

/// Running writers and their acknowledged puts, in order of acknowledgement.
pub struct Load {
    acks: Arc<Mutex<Vec<Ack>>>,
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
        let start = acks.partition_point(|a| a.acked < from);
        acks[start..].iter().map(|a| a.acked).collect()
    }

    /// Waits until a put *sent* at or after `from` is acknowledged, up to `limit`; when it
    /// was. A put sent before a fault may have been committed before it, whenever its answer
    /// arrives; one sent after it needs the cluster to work again.
    pub async fn first_ack_sent_after(&self, from: Instant, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        loop {
            let first = {
                let acks = skiff_sync::lock(&self.acks);
                acks.iter().find(|a| a.sent >= from).map(|a| a.acked)
            };
            if let Some(first) = first {
                return Some(first);
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
    acks: Arc<Mutex<Vec<Ack>>>,
    stop: Arc<AtomicBool>,
) {
    let key = format!("failover/{writer}");
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        let value = seq.to_string();
        let sent = Instant::now();
        let put = tokio::time::timeout(PUT_TIMEOUT, client.put(&key, &value));
        if let Ok(Ok(_)) = put.await {
            let acked = Instant::now();
            let mut acks = skiff_sync::lock(&acks);
            // Keep the record sorted: tasks can record slightly out of order.
            let at = acks.partition_point(|a| a.acked <= acked);
            acks.insert(at, Ack { sent, acked });
        } else {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
