//! Closed-loop create load: N clients, one keep-alive HTTP/1.1 connection each, each sending
//! its next create as soon as the previous answer arrived, for a warm-up and then a measured
//! window. The API and the store runs use this same loop; only the path and body differ.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::sync::watch;

use super::Target;
use crate::conn::{Conn, Endpoint};
use crate::stats::micros;

/// A create without an answer by then counts as an error (and the client reconnects).
const OP_TIMEOUT: Duration = Duration::from_secs(10);

/// One write run's load.
pub struct Spec {
    pub target: Target,
    /// Clients are spread over these round-robin.
    pub endpoints: Vec<Endpoint>,
    pub clients: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Client `c`'s `i`th create is number `first_n + i` (pod `p-c-<n>`), so runs against
    /// the same cluster never collide.
    pub first_n: u64,
    /// The store's value (as long as a stored pod).
    pub value: String,
}

/// What the clients measured inside the window.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Latency of every successful create started inside the window, in µs.
    pub latencies_us: Vec<u32>,
    pub errors: u64,
    pub first_error: Option<String>,
}

struct Window {
    measure: Instant,
    end: Instant,
}

/// Connects every client, runs warm-up and window, and merges what the clients measured.
pub async fn run(spec: Arc<Spec>) -> Result<Outcome> {
    if spec.endpoints.is_empty() || spec.clients == 0 {
        bail!("need at least one endpoint and one client");
    }
    let (tx, rx) = watch::channel(None::<Arc<Window>>);
    let mut tasks = Vec::with_capacity(spec.clients);
    for client in 0..spec.clients {
        let ep = spec.endpoints[client % spec.endpoints.len()].clone();
        let conn = ep.connect().await?;
        let (spec, rx) = (spec.clone(), rx.clone());
        tasks.push(tokio::spawn(client_loop(spec, client, ep, conn, rx)));
    }
    let measure = Instant::now() + spec.warmup;
    tx.send(Some(Arc::new(Window {
        measure,
        end: measure + spec.duration,
    })))?;
    let mut total = Outcome::default();
    for task in tasks {
        let one = task.await.context("client task")?;
        total.latencies_us.extend(one.latencies_us);
        total.errors += one.errors;
        total.first_error = total.first_error.or(one.first_error);
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
        Err(_) => return Outcome::default(),
    };
    let mut out = Outcome::default();
    let mut n = spec.first_n;
    loop {
        let start = Instant::now();
        if start >= window.end {
            break;
        }
        let body = spec.target.body(client, n, &spec.value);
        n += 1;
        let result =
            match tokio::time::timeout(OP_TIMEOUT, conn.post(spec.target.path(), body)).await {
                Ok(r) => r,
                Err(_) => Err(anyhow::anyhow!("no answer within {OP_TIMEOUT:?}")),
            };
        let took = micros(start.elapsed());
        let measured = start >= window.measure;
        let failure = match &result {
            Ok((status, body)) if spec.target.created(status.as_u16(), body) => None,
            Ok((status, body)) => Some(format!("{status}: {}", String::from_utf8_lossy(body))),
            Err(e) => Some(format!("{e:#}")),
        };
        match failure {
            None if measured => out.latencies_us.push(took),
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
