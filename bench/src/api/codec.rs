//! Protobuf against JSON through the same load generator (issue 18's benchmark): closed-loop
//! clients, one keep-alive HTTP/1.1 connection each, either creating Pods (`POST`, body and
//! answer in the codec under test) or listing a namespace of Pods (`GET`, answer in the codec).
//!
//! Bodies are encoded once, before the run, with a placeholder name of fixed length; each
//! create swaps in its own name of the same length (in protobuf the name is a length-prefixed
//! string, so the bytes stay valid), so the load generator spends the same little CPU on
//! either codec and the server's cost is what differs. Given the server's pid, a run also
//! measures the server's CPU time over its window: creates are bound by the write pipeline's
//! latency, not the server's CPU, so their throughput hides what a codec costs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use clap::ValueEnum;
use http::Method;
use serde_json::{Value, json};

use crate::conn::{Conn, Endpoint};
use crate::cpu::cpu_seconds;
use crate::stats::micros;

/// The placeholder name the bodies are encoded with; every real name is as long.
const PLACEHOLDER: &str = "codec-xxxxxxxx-xxx-xxxxxxxx";
/// A request without an answer by then counts as an error.
const OP_TIMEOUT: Duration = Duration::from_secs(10);

/// How bodies and answers are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Codec {
    Json,
    Protobuf,
}

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::Json => "json",
            Codec::Protobuf => "protobuf",
        }
    }

    /// Whether an answer is in this codec (protobuf answers open with `k8s\0`), so a server
    /// that falls back to JSON is not counted as protobuf.
    fn encoded(self, answer: &[u8]) -> bool {
        match self {
            Codec::Json => answer.first() == Some(&b'{'),
            Codec::Protobuf => answer.starts_with(b"k8s\0"),
        }
    }

    fn media_type(self) -> &'static str {
        match self {
            Codec::Json => "application/json",
            Codec::Protobuf => "application/vnd.kubernetes.protobuf",
        }
    }
}

/// What the clients do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Op {
    Create,
    List,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::List => "list",
        }
    }
}

/// A Pod like the ones `kubectl run` makes, with a few labels and an env list.
pub fn pod(name: &str, namespace: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": name, "namespace": namespace,
                      "labels": { "app": "codec", "tier": "bench", "run": name } },
        "spec": { "containers": [ {
            "name": "app", "image": "registry.example/app:1.0",
            "args": ["--port=8080", "--verbose"],
            "env": [ { "name": "MODE", "value": "bench" }, { "name": "LEVEL", "value": "3" } ],
            "ports": [ { "containerPort": 8080, "protocol": "TCP" } ],
            "resources": { "requests": { "cpu": "100m", "memory": "64Mi" } }
        } ] }
    })
}

/// `pod(PLACEHOLDER)` encoded in `codec`.
pub fn template(codec: Codec, namespace: &str) -> Result<Vec<u8>> {
    let object = pod(PLACEHOLDER, namespace);
    Ok(match codec {
        Codec::Json => serde_json::to_vec(&object)?,
        Codec::Protobuf => skiff_api::protobuf::encode_object(&object)?,
    })
}

/// Client `client`'s `n`th name in run `run` (as long as [`PLACEHOLDER`]).
fn name(run: u32, client: usize, n: u64) -> String {
    format!("codec-{run:08}-{client:03}-{n:08}")
}

/// Where every occurrence of the placeholder sits in a template.
fn placeholder_offsets(template: &[u8]) -> Vec<usize> {
    let needle = PLACEHOLDER.as_bytes();
    (0..=template.len().saturating_sub(needle.len()))
        .filter(|&i| &template[i..i + needle.len()] == needle)
        .collect()
}

/// One run's load.
pub struct Spec {
    pub endpoint: Endpoint,
    pub codec: Codec,
    pub op: Op,
    pub clients: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Creates go to this namespace; lists read it.
    pub namespace: String,
    /// Makes this run's names unique.
    pub run: u32,
    /// The server's process, whose CPU time over the window is measured.
    pub server_pid: Option<u32>,
}

/// What the clients measured inside the window.
#[derive(Debug, Default)]
pub struct Outcome {
    pub latencies_us: Vec<u32>,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Bytes of the answers received inside the window.
    pub answer_bytes: u64,
    /// CPU seconds the server used inside the window (with `server_pid`).
    pub server_cpu_seconds: Option<f64>,
}

/// Connects every client, runs the warm-up and the window, and merges what they measured.
pub async fn run(spec: Arc<Spec>) -> Result<Outcome> {
    if spec.clients == 0 {
        bail!("need at least one client");
    }
    let body = template(spec.codec, &spec.namespace)?;
    let offsets = Arc::new(placeholder_offsets(&body));
    if spec.op == Op::Create && offsets.is_empty() {
        bail!("the placeholder name is not in the encoded pod");
    }
    let body = Arc::new(body);
    let start = Instant::now();
    let (measure, end) = (start + spec.warmup, start + spec.warmup + spec.duration);
    // Sampled beside the clients, in this task: an early error leaves nothing running.
    let server_cpu = async {
        match spec.server_pid {
            Some(pid) => cpu_between(pid, measure, end).await.map(Some),
            None => Ok(None),
        }
    };
    let clients = run_clients(&spec, &body, &offsets, (measure, end));
    let (total, server_cpu) = tokio::join!(clients, server_cpu);
    let mut total = total?;
    total.server_cpu_seconds = server_cpu?;
    Ok(total)
}

/// Connects the clients, runs them to `end` and merges what they measured.
async fn run_clients(
    spec: &Arc<Spec>,
    body: &Arc<Vec<u8>>,
    offsets: &Arc<Vec<usize>>,
    (measure, end): (Instant, Instant),
) -> Result<Outcome> {
    let mut tasks = Vec::with_capacity(spec.clients);
    for client in 0..spec.clients {
        let conn = spec.endpoint.connect().await?;
        let (spec, body, offsets) = (spec.clone(), body.clone(), offsets.clone());
        tasks.push(tokio::spawn(async move {
            client_loop(&spec, client, conn, &body, &offsets, (measure, end)).await
        }));
    }
    let mut total = Outcome::default();
    for task in tasks {
        let one = task.await.context("client task")?;
        total.latencies_us.extend(one.latencies_us);
        total.errors += one.errors;
        total.answer_bytes += one.answer_bytes;
        total.first_error = total.first_error.or(one.first_error);
    }
    Ok(total)
}

/// CPU seconds process `pid` uses between `from` and `to`.
async fn cpu_between(pid: u32, from: Instant, to: Instant) -> Result<f64> {
    tokio::time::sleep_until(from.into()).await;
    let before = cpu_seconds(pid)?;
    tokio::time::sleep_until(to.into()).await;
    Ok(cpu_seconds(pid)? - before)
}

async fn client_loop(
    spec: &Spec,
    client: usize,
    mut conn: Conn,
    template: &[u8],
    offsets: &[usize],
    (measure, end): (Instant, Instant),
) -> Outcome {
    let media = spec.codec.media_type();
    let list_path = format!("/api/v1/namespaces/{}/pods", spec.namespace);
    let mut out = Outcome::default();
    let mut body = template.to_vec();
    for n in 0.. {
        let start = Instant::now();
        if start >= end {
            break;
        }
        let request = match spec.op {
            Op::Create => {
                let name = name(spec.run, client, n);
                for &at in offsets {
                    body[at..at + name.len()].copy_from_slice(name.as_bytes());
                }
                let body = Bytes::copy_from_slice(&body);
                conn.request_as(Method::POST, &list_path, body, media, media)
            }
            Op::List => conn.request_as(Method::GET, &list_path, Bytes::new(), media, media),
        };
        let result = tokio::time::timeout(OP_TIMEOUT, request).await;
        let took = micros(start.elapsed());
        let measured = start >= measure;
        let expected = if spec.op == Op::Create { 201 } else { 200 };
        let failure = match &result {
            Ok(Ok((status, answer)))
                if status.as_u16() == expected && spec.codec.encoded(answer) =>
            {
                if measured {
                    out.latencies_us.push(took);
                    out.answer_bytes += answer.len() as u64;
                }
                continue;
            }
            Ok(Ok((status, answer))) => format!("{status}: {}", String::from_utf8_lossy(answer)),
            Ok(Err(e)) => format!("{e:#}"),
            Err(_) => format!("no answer within {OP_TIMEOUT:?}"),
        };
        if measured {
            out.errors += 1;
        }
        out.first_error.get_or_insert(failure);
        if !matches!(result, Ok(Ok(_))) {
            // The connection is gone or stuck: reconnect.
            match spec.endpoint.connect().await {
                Ok(c) => conn = c,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_the_placeholder_in_both_codecs() {
        assert_eq!(name(7, 12, 345).len(), PLACEHOLDER.len());
        for codec in [Codec::Json, Codec::Protobuf] {
            let mut body = template(codec, "ns").expect("encodes");
            let offsets = placeholder_offsets(&body);
            assert!(!offsets.is_empty(), "{codec:?}");
            let real = name(1, 2, 3);
            for &at in &offsets {
                body[at..at + real.len()].copy_from_slice(real.as_bytes());
            }
            let decoded = match codec {
                Codec::Json => serde_json::from_slice::<Value>(&body).expect("json"),
                Codec::Protobuf => skiff_api::protobuf::decode_object(&body).expect("protobuf"),
            };
            assert_eq!(decoded["metadata"]["name"], real.as_str(), "{codec:?}");
            assert_eq!(
                decoded["metadata"]["labels"]["run"],
                real.as_str(),
                "{codec:?}"
            );
        }
    }
}
