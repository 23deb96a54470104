//! Watch delivery latency: many ConfigMap watches multiplexed over a few HTTP/2 connections,
//! one writer updating a ConfigMap at a modest rate with a sequence number in its data, and
//! every watcher noting when each sequence number arrived. Delivery latency is the receive
//! time minus the time the writer's 200 came back ("from ack", which can be slightly negative
//! when the event beats the answer) and minus the time the update was sent ("from send").

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::Method;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use super::CONFIGMAP_PATH;
use super::h2::{H2Conn, H2Endpoint};
use crate::conn::{Conn, Endpoint};
use crate::stats::micros;

/// How long the watchers get to catch up after the last write.
const GRACE: Duration = Duration::from_secs(10);

pub struct Spec {
    /// The writer's replica (the leader), over HTTP/1.1.
    pub writer: Endpoint,
    /// Watch connections are spread over these round-robin.
    pub watch_endpoints: Vec<H2Endpoint>,
    pub watchers: usize,
    /// HTTP/2 connections in all; watchers are spread over them.
    pub conns: usize,
    /// Updates per second.
    pub rate: f64,
    pub duration: Duration,
    /// The ConfigMap to create and update.
    pub name: String,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub writes: u64,
    pub write_latency_us: Vec<u32>,
    /// Per delivery: receive minus the writer's 200, µs (negative: before the 200).
    pub from_ack_us: Vec<i64>,
    /// Per delivery: receive minus send, µs.
    pub from_send_us: Vec<i64>,
    /// Deliveries that never arrived (watchers x writes minus received).
    pub missing: u64,
    /// Seconds it took to open every watch.
    pub open_s: f64,
}

fn seq_of(line: &[u8]) -> Option<u64> {
    const NEEDLE: &[u8] = b"\"seq\":\"";
    let at = line.windows(NEEDLE.len()).position(|w| w == NEEDLE)? + NEEDLE.len();
    let digits: Vec<u8> = line[at..]
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

async fn send(conn: &mut Conn, method: Method, path: &str, body: Value) -> Result<Value> {
    let (status, answer) = conn
        .request(method, path, Bytes::from(body.to_string()))
        .await?;
    if !status.is_success() {
        bail!("{path}: {status} {}", String::from_utf8_lossy(&answer));
    }
    Ok(serde_json::from_slice(&answer)?)
}

fn configmap(name: &str, seq: u64, rv: Option<&str>) -> Value {
    let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name}, "data": {"seq": seq.to_string()}});
    if let Some(rv) = rv {
        cm["metadata"]["resourceVersion"] = json!(rv);
    }
    cm
}

fn resource_version(obj: &Value) -> Result<String> {
    Ok(obj["metadata"]["resourceVersion"]
        .as_str()
        .context("answer has no metadata.resourceVersion")?
        .to_owned())
}

/// One watcher: opens its stream, reports readiness, then records `(seq, µs since base)` per
/// event until told to stop or the stream ends.
async fn watcher(
    mut conn: H2Conn,
    path: String,
    base: Instant,
    ready: mpsc::Sender<Result<()>>,
    delivered: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> Vec<(u64, i64)> {
    let resp = match conn.get(&path).await {
        Ok(r) if r.status() == 200 => r,
        other => {
            let e = other.map_or_else(|e| e, |r| anyhow::anyhow!("watch: {}", r.status()));
            let _ = ready.send(Err(e)).await;
            return Vec::new();
        }
    };
    let _ = ready.send(Ok(())).await;
    let mut body = resp.into_body();
    let (mut buf, mut got) = (Vec::new(), Vec::new());
    loop {
        let frame = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            frame = body.frame() => frame,
        };
        let Some(Ok(frame)) = frame else { break };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let now = micros(base.elapsed());
        buf.extend_from_slice(&data);
        while let Some(end) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=end).collect();
            if let Some(seq) = seq_of(&line).filter(|&s| s > 0) {
                got.push((seq, i64::from(now)));
                delivered.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    got
}

pub async fn run(spec: Spec) -> Result<Outcome> {
    if spec.watch_endpoints.is_empty() || spec.watchers == 0 || spec.rate <= 0.0 {
        bail!("need a watch endpoint, watchers and a positive rate");
    }
    let base = Instant::now();
    let mut writer = spec.writer.connect().await?;
    let created = send(
        &mut writer,
        Method::POST,
        CONFIGMAP_PATH,
        configmap(&spec.name, 0, None),
    );
    let mut rv = resource_version(&created.await?)?;
    let path = format!("{CONFIGMAP_PATH}?watch=true&resourceVersion={rv}");

    let mut conns = Vec::new();
    for i in 0..spec.conns.max(1) {
        conns.push(
            spec.watch_endpoints[i % spec.watch_endpoints.len()]
                .connect()
                .await?,
        );
    }
    let (ready_tx, mut ready_rx) = mpsc::channel(spec.watchers);
    let (stop_tx, stop_rx) = watch::channel(false);
    let delivered = Arc::new(AtomicU64::new(0));
    let opening = Instant::now();
    let tasks: Vec<_> = (0..spec.watchers)
        .map(|w| {
            let conn = conns[w % conns.len()].clone();
            let args = (ready_tx.clone(), delivered.clone(), stop_rx.clone());
            tokio::spawn(watcher(conn, path.clone(), base, args.0, args.1, args.2))
        })
        .collect();
    for _ in 0..spec.watchers {
        let r = tokio::time::timeout(Duration::from_secs(60), ready_rx.recv()).await;
        r.context("watches not open after 60 s")?
            .context("watcher gone")??;
    }
    let mut out = Outcome {
        open_s: opening.elapsed().as_secs_f64(),
        ..Outcome::default()
    };

    let writes = (spec.rate * spec.duration.as_secs_f64()).ceil().max(1.0) as u64;
    let interval = Duration::from_secs_f64(1.0 / spec.rate);
    let item = format!("{CONFIGMAP_PATH}/{}", spec.name);
    let (mut sent_at, mut acked_at) = (vec![0i64], vec![0i64]);
    let start = tokio::time::Instant::now();
    for seq in 1..=writes {
        tokio::time::sleep_until(start + interval.mul_f64((seq - 1) as f64)).await;
        let sent = base.elapsed();
        let answer = send(
            &mut writer,
            Method::PUT,
            &item,
            configmap(&spec.name, seq, Some(&rv)),
        );
        rv = resource_version(&answer.await?)?;
        let acked = base.elapsed();
        out.write_latency_us.push(micros(acked - sent));
        sent_at.push(i64::from(micros(sent)));
        acked_at.push(i64::from(micros(acked)));
    }
    out.writes = writes;
    let want = writes * spec.watchers as u64;
    let deadline = Instant::now() + GRACE;
    while delivered.load(Ordering::Relaxed) < want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_tx.send(true)?;
    let mut received = 0u64;
    for task in tasks {
        for (seq, at) in task.await.context("watcher task")? {
            let Some(&acked) = acked_at.get(seq as usize) else {
                continue;
            };
            received += 1;
            out.from_ack_us.push(at - acked);
            out.from_send_us.push(at - sent_at[seq as usize]);
        }
    }
    out.missing = want.saturating_sub(received);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_sequence_number() {
        let line = br#"{"type":"MODIFIED","object":{"data":{"seq":"42"},"kind":"ConfigMap"}}"#;
        assert_eq!(super::seq_of(line), Some(42));
        assert_eq!(super::seq_of(b"{}"), None);
    }
}
