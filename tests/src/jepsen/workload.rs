//! The key-value workload: concurrent clients over the `/kv/v1` API (client `i` talks to
//! replica `i % 3`, so reads and writes go through followers and the leader) doing
//! linearizable reads, writes and compare-and-set on a few keys, recording every op in the
//! [`History`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};

use crate::client::KvClient;
use crate::jepsen::history::{History, Outcome, Process, Returned};
use crate::jepsen::model::Op;
use crate::kv::KvError;

/// How the clients behave.
#[derive(Clone, Debug)]
pub struct Workload {
    pub keys: Vec<String>,
    pub clients: usize,
    /// Every op gives up after this (its outcome is then indeterminate).
    pub op_timeout: Duration,
    /// Treat every 503 on a write as indeterminate (binaries that answer "Unavailable" even
    /// when the write may have been applied). From `JEPSEN_AMBIGUOUS_503=1`.
    pub ambiguous_503: bool,
    /// Pause between a client's ops.
    pub think: Duration,
}

impl Workload {
    /// `keys` keys under `prefix`, `clients` clients; the 503 switch from the environment.
    pub fn new(prefix: &str, keys: usize, clients: usize) -> Workload {
        let ambiguous_503 = std::env::var("JEPSEN_AMBIGUOUS_503").is_ok_and(|v| v == "1");
        Workload {
            keys: (0..keys).map(|k| format!("{prefix}k{k}")).collect(),
            clients,
            op_timeout: Duration::from_secs(2),
            ambiguous_503,
            think: Duration::from_millis(5),
        }
    }

    /// Writes each key's initial value (retrying until acknowledged), recorded in `history`.
    pub async fn init(&self, client: &KvClient, history: &Arc<History>) -> anyhow::Result<()> {
        let mut process = Process::new(history.clone());
        for key in &self.keys {
            let value = format!("init-{key}");
            let op = Op::Write {
                value: value.clone(),
            };
            let outcome = process
                .run(key, op, write_outcome(self, client.put(key, &value)))
                .await;
            anyhow::ensure!(
                matches!(outcome, Outcome::Ok(_)),
                "writing the initial value of {key}: {outcome:?}"
            );
        }
        Ok(())
    }

    /// Starts the clients; they run until `stop` is set.
    pub fn spawn(
        &self,
        replicas: &[KvClient],
        history: &Arc<History>,
        stop: &Arc<AtomicBool>,
        seed: u64,
    ) -> Vec<JoinHandle<()>> {
        (0..self.clients)
            .map(|i| {
                let client = replicas[i % replicas.len()].clone();
                let rng = StdRng::seed_from_u64(seed.wrapping_add(i as u64));
                let run = run_client(self.clone(), i, client, history.clone(), stop.clone(), rng);
                tokio::spawn(run)
            })
            .collect()
    }
}

async fn run_client(
    w: Workload,
    i: usize,
    client: KvClient,
    history: Arc<History>,
    stop: Arc<AtomicBool>,
    mut rng: StdRng,
) {
    let mut process = Process::new(history);
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let key = &w.keys[rng.random_range(0..w.keys.len())];
        let value = format!("c{i}-{n}");
        let outcome = match rng.random_range(0..10) {
            0..4 => read(&w, &client, &mut process, key).await.0,
            4..7 => {
                let put = client.put(key, &value);
                let op = Op::Write {
                    value: value.clone(),
                };
                process.run(key, op, write_outcome(&w, put)).await
            }
            _ => cas(&w, &client, &mut process, key, value).await,
        };
        // A replica that is down refuses at once: do not spin on it.
        let backoff = match outcome {
            Outcome::Ok(_) => w.think,
            _ => Duration::from_millis(rng.random_range(10..30)),
        };
        sleep(backoff).await;
    }
}

/// A linearizable read of `key`; also returns the value and its mod_revision on success.
async fn read(
    w: &Workload,
    client: &KvClient,
    process: &mut Process,
    key: &str,
) -> (Outcome, Option<(String, u64)>) {
    let mut found = None;
    let run = async {
        match timeout(w.op_timeout, client.range(key, false, false, None)).await {
            Ok(Ok(r)) => {
                let kv = r.kvs.into_iter().find(|kv| kv.key == key);
                let value = kv.as_ref().map(|kv| kv.value.clone());
                found = kv.map(|kv| (kv.value, kv.mod_revision));
                Outcome::Ok(Returned::Read(value))
            }
            Ok(Err(e @ KvError::Refused(_))) => Outcome::Fail(e.to_string()),
            Ok(Err(e)) => Outcome::Info(e.to_string()),
            Err(_) => Outcome::Info("timed out".into()),
        }
    };
    let outcome = process.run(key, Op::Read, run).await;
    (outcome, found)
}

/// Reads `key`, then writes `value` if it still has the mod_revision read.
async fn cas(
    w: &Workload,
    client: &KvClient,
    process: &mut Process,
    key: &str,
    value: String,
) -> Outcome {
    let (outcome, found) = read(w, client, process, key).await;
    let Some((expected, mod_revision)) = found else {
        return outcome;
    };
    let update = client.update(key, &value, mod_revision);
    let op = Op::Cas {
        expected,
        value: value.clone(),
    };
    process.run(key, op, write_outcome(w, update)).await
}

/// The outcome of a write, bounded by the op timeout.
async fn write_outcome(
    w: &Workload,
    write: impl std::future::Future<Output = Result<u64, KvError>>,
) -> Outcome {
    match timeout(w.op_timeout, write).await {
        Ok(Ok(revision)) => Outcome::Ok(Returned::Written { revision }),
        Ok(Err(e)) => classify_write_error(&e, w.ambiguous_503),
        Err(_) => Outcome::Info("timed out".into()),
    }
}

/// Whether a failed write certainly did not happen (`Fail`) or may have (`Info`).
pub fn classify_write_error(e: &KvError, ambiguous_503: bool) -> Outcome {
    let text = e.to_string();
    match e {
        KvError::Refused(_) => Outcome::Fail(text),
        KvError::Transport(_) => Outcome::Info(text),
        KvError::Status(status, _) => {
            let definite = match status.as_u16() {
                409 => true,
                503 => !ambiguous_503 && e.kind() == Some("Unavailable"),
                s => (400..500).contains(&s),
            };
            if definite {
                Outcome::Fail(text)
            } else {
                Outcome::Info(text)
            }
        }
    }
}
