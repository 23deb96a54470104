//! The load generator: N clients, one keep-alive connection each, each
//! sending its next request as soon as the previous answer arrived (closed
//! loop), for a warm-up and then a measured window.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::conn::{Conn, Endpoint};
use crate::stats::micros;
use crate::target::{self, Kind};

/// An op without an answer by then counts as an error (and the client
/// reconnects), so a stuck target cannot hang the run.
const OP_TIMEOUT: Duration = Duration::from_secs(10);

/// What the clients do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Durable puts of `value_size` bytes to each client's own keys.
    Write,
    /// Linearizable gets of keys written before the run.
    Read,
    /// Puts, as `write`, over a long window while snapshots and purges run;
    /// judged by the worst latency.
    Stall,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Write => "write",
            Mode::Read => "read",
            Mode::Stall => "stall",
        }
    }
}

/// One run's load.
#[derive(Clone)]
pub struct Spec {
    pub kind: Kind,
    /// Clients are spread over these round-robin.
    pub endpoints: Vec<Endpoint>,
    pub mode: Mode,
    pub clients: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub value_size: usize,
    pub keys_per_client: u64,
    /// Keys written before a read run, read in turn.
    pub read_keys: u64,
}

/// What the clients measured inside the window.
#[derive(Debug)]
pub struct Outcome {
    /// When the measured window began.
    pub window_start: Instant,
    /// Latency of every successful op started inside the window, in µs.
    pub latencies_us: Vec<u32>,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Successful ops started in each second of the window.
    pub per_second: Vec<u64>,
    /// When the slowest op started, in seconds into the window.
    pub max_at_s: f64,
}

impl Outcome {
    fn empty(window_start: Instant) -> Self {
        Self {
            window_start,
            latencies_us: Vec::new(),
            errors: 0,
            first_error: None,
            per_second: Vec::new(),
            max_at_s: 0.0,
        }
    }
}

struct Window {
    measure: Instant,
    end: Instant,
}

/// Connects every client, then runs warm-up and window, and merges results.
pub async fn run(spec: Arc<Spec>) -> Result<Outcome> {
    if spec.endpoints.is_empty() {
        bail!("no endpoint");
    }
    if spec.mode == Mode::Read {
        prewrite(&spec).await?;
    }
    let (tx, rx) = watch::channel(None::<Arc<Window>>);
    let mut tasks = Vec::with_capacity(spec.clients);
    for client in 0..spec.clients {
        let ep = spec.endpoints[client % spec.endpoints.len()].clone();
        let conn = ep.connect().await?;
        let (spec, rx) = (spec.clone(), rx.clone());
        tasks.push(tokio::spawn(client_loop(spec, client, ep, conn, rx)));
    }
    let now = Instant::now();
    let measure = now + spec.warmup;
    tx.send(Some(Arc::new(Window {
        measure,
        end: measure + spec.duration,
    })))?;
    let mut total = Outcome::empty(measure);
    for task in tasks {
        let one = task.await.context("client task")?;
        let worst_so_far = total.latencies_us.iter().max().copied().unwrap_or(0);
        let worst_here = one.latencies_us.iter().max().copied().unwrap_or(0);
        if worst_here > worst_so_far {
            total.max_at_s = one.max_at_s;
        }
        total.latencies_us.extend(one.latencies_us);
        total.errors += one.errors;
        total.first_error = total.first_error.or(one.first_error);
        if total.per_second.len() < one.per_second.len() {
            total.per_second.resize(one.per_second.len(), 0);
        }
        for (t, o) in total.per_second.iter_mut().zip(one.per_second) {
            *t += o;
        }
    }
    Ok(total)
}

async fn client_loop(
    spec: Arc<Spec>,
    client: usize,
    ep: Endpoint,
    mut conn: Conn,
    mut rx: watch::Receiver<Option<Arc<Window>>>,
) -> Outcome {
    let window = match rx.wait_for(Option::is_some).await {
        Ok(w) => w.clone().unwrap_or_else(|| unreachable!("waited for Some")),
        Err(_) => return Outcome::empty(Instant::now()),
    };
    let secs = spec.duration.as_secs_f64().ceil() as usize;
    let mut out = Outcome {
        per_second: vec![0; secs.max(1)],
        ..Outcome::empty(window.measure)
    };
    let mut worst = 0u32;
    let mut seq = client as u64 * 7919;
    loop {
        let start = Instant::now();
        if start >= window.end {
            break;
        }
        let (path, body) = match spec.mode {
            Mode::Write | Mode::Stall => {
                let key = target::write_key(client, seq, spec.keys_per_client);
                let value = target::value(client, seq, spec.value_size);
                (spec.kind.put_path(), spec.kind.put_body(&key, &value))
            }
            Mode::Read => {
                let key = target::read_key(seq % spec.read_keys.max(1));
                (spec.kind.range_path(), spec.kind.range_body(&key))
            }
        };
        seq += 1;
        let result = match tokio::time::timeout(OP_TIMEOUT, conn.post(path, body)).await {
            Ok(r) => r,
            Err(_) => Err(anyhow::anyhow!("no answer within {OP_TIMEOUT:?}")),
        };
        let took = micros(start.elapsed());
        let measured = start >= window.measure;
        let failure = match &result {
            Ok((status, body)) if status.is_success() => {
                let ok = match spec.mode {
                    Mode::Read => spec.kind.range_found(body),
                    _ => spec.kind.put_ok(body),
                };
                (!ok).then(|| format!("unexpected answer: {}", String::from_utf8_lossy(body)))
            }
            Ok((status, body)) => Some(format!("{status}: {}", String::from_utf8_lossy(body))),
            Err(e) => Some(format!("{e:#}")),
        };
        match failure {
            None if measured => {
                out.latencies_us.push(took);
                let sec = (start - window.measure).as_secs() as usize;
                if let Some(slot) = out.per_second.get_mut(sec) {
                    *slot += 1;
                }
                if took > worst {
                    worst = took;
                    out.max_at_s = (start - window.measure).as_secs_f64();
                }
            }
            None => {}
            Some(msg) => {
                if measured {
                    out.errors += 1;
                }
                out.first_error.get_or_insert(msg);
                if result.is_err() {
                    // The connection is gone: back off briefly and reconnect.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    if let Ok(c) = ep.connect().await {
                        conn = c;
                    }
                }
            }
        }
    }
    out
}

/// Writes the keys a read run reads, from 8 connections, before the run.
async fn prewrite(spec: &Arc<Spec>) -> Result<()> {
    let writers = 8u64;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let ep = spec.endpoints[w as usize % spec.endpoints.len()].clone();
        let spec = spec.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = ep.connect().await?;
            let mut i = w;
            while i < spec.read_keys {
                let key = target::read_key(i);
                let value = target::value(w as usize, i, spec.value_size);
                let (status, body) = conn
                    .post(spec.kind.put_path(), spec.kind.put_body(&key, &value))
                    .await?;
                if !status.is_success() || !spec.kind.put_ok(&body) {
                    bail!(
                        "pre-write {key}: {status} {}",
                        String::from_utf8_lossy(&body)
                    );
                }
                i += writers;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}
