//! The register workload over the Kubernetes API: each key is a ConfigMap whose `data.value` is
//! the register. Reads are linearizable GETs (no `resourceVersion` parameter); a CAS is a GET
//! then a PUT carrying the `metadata.resourceVersion` read; a write is a PUT without one.
//! 200 is ok; 409 (conflict), 4xx and 503 (nothing written) are definite failures; 504, other
//! 5xx, timeouts and lost answers are indeterminate.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};

use crate::api_client::{Answer, ApiClient};
use crate::jepsen::history::{History, Outcome, Process, Returned};
use crate::jepsen::model::Op;
use crate::jepsen::workload::Workload;

/// Where ConfigMap `name` of the `default` namespace lives.
pub fn path(name: &str) -> String {
    format!("/api/v1/namespaces/default/configmaps/{name}")
}

/// The store key of ConfigMap `name` (for the change log).
pub fn store_key(name: &str) -> String {
    format!("/registry/core/configmaps/default/{name}")
}

/// The register value in a stored or returned ConfigMap.
pub fn value_of(object: &Value) -> Option<String> {
    object["data"]["value"].as_str().map(str::to_owned)
}

fn body(name: &str, value: &str, resource_version: Option<&str>) -> Value {
    let mut obj = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": name, "namespace": "default" },
        "data": { "value": value },
    });
    if let Some(rv) = resource_version {
        obj["metadata"]["resourceVersion"] = json!(rv);
    }
    obj
}

/// Creates each ConfigMap (`w.keys` are their names) with its initial value, recorded.
pub async fn init(w: &Workload, client: &ApiClient, history: &Arc<History>) -> anyhow::Result<()> {
    let mut process = Process::new(history.clone());
    for name in &w.keys {
        let value = format!("init-{name}");
        let op = Op::Write {
            value: value.clone(),
        };
        let object = body(name, &value, None);
        let create = client.json(
            Method::POST,
            "/api/v1/namespaces/default/configmaps",
            &object,
        );
        let outcome = process.run(name, op, write_outcome(w, create)).await;
        anyhow::ensure!(
            matches!(outcome, Outcome::Ok(_)),
            "creating ConfigMap {name}: {outcome:?}"
        );
    }
    Ok(())
}

/// Starts `w.clients` clients (client `i` on `replicas[i % 3]`) until `stop` is set.
pub fn spawn(
    w: &Workload,
    replicas: &[ApiClient],
    history: &Arc<History>,
    stop: &Arc<AtomicBool>,
    seed: u64,
) -> Vec<JoinHandle<()>> {
    (0..w.clients)
        .map(|i| {
            let client = replicas[i % replicas.len()].clone();
            let rng = StdRng::seed_from_u64(seed.wrapping_add(i as u64));
            tokio::spawn(run_client(
                w.clone(),
                i,
                client,
                history.clone(),
                stop.clone(),
                rng,
            ))
        })
        .collect()
}

async fn run_client(
    w: Workload,
    i: usize,
    client: ApiClient,
    history: Arc<History>,
    stop: Arc<AtomicBool>,
    mut rng: StdRng,
) {
    let mut process = Process::new(history);
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let name = &w.keys[rng.random_range(0..w.keys.len())];
        let value = format!("c{i}-{n}");
        let (outcome, found) = read(&w, &client, &mut process, name).await;
        let outcome = match (rng.random_range(0..10), found) {
            (0..3, _) => outcome,
            (3..5, _) => {
                let (at, object) = (path(name), body(name, &value, None));
                let put = client.json(Method::PUT, &at, &object);
                let op = Op::Write { value };
                process.run(name, op, write_outcome(&w, put)).await
            }
            (_, Some((expected, rv))) => {
                let (at, object) = (path(name), body(name, &value, Some(&rv)));
                let put = client.json(Method::PUT, &at, &object);
                let op = Op::Cas { expected, value };
                process.run(name, op, write_outcome(&w, put)).await
            }
            (_, None) => outcome,
        };
        let backoff = match outcome {
            Outcome::Ok(_) => w.think,
            _ => Duration::from_millis(rng.random_range(10..30)),
        };
        sleep(backoff).await;
    }
}

/// A linearizable GET; on success also the value and the resourceVersion.
async fn read(
    w: &Workload,
    client: &ApiClient,
    process: &mut Process,
    name: &str,
) -> (Outcome, Option<(String, String)>) {
    let mut found = None;
    let run = async {
        match timeout(w.op_timeout, client.get(&path(name))).await {
            Ok(Ok(answer)) if answer.status.is_success() => {
                let value = value_of(&answer.body);
                let rv = answer.body["metadata"]["resourceVersion"].as_str();
                found = value.clone().zip(rv.map(str::to_owned));
                Outcome::Ok(Returned::Read(value))
            }
            Ok(Ok(answer)) if answer.status.as_u16() == 404 => Outcome::Ok(Returned::Read(None)),
            Ok(Ok(answer)) => Outcome::Info(format!("{} {}", answer.status, answer.body)),
            Ok(Err(e)) => Outcome::Info(format!("{e:#}")),
            Err(_) => Outcome::Info("timed out".into()),
        }
    };
    let outcome = process.run(name, Op::Read, run).await;
    (outcome, found)
}

/// The outcome of a POST or PUT, bounded by the op timeout.
async fn write_outcome(
    w: &Workload,
    write: impl std::future::Future<Output = anyhow::Result<Answer>>,
) -> Outcome {
    let answer = match timeout(w.op_timeout, write).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) if never_sent(&e) => return Outcome::Fail(format!("{e:#}")),
        Ok(Err(e)) => return Outcome::Info(format!("{e:#}")),
        Err(_) => return Outcome::Info("timed out".into()),
    };
    let text = format!("{} {}", answer.status, answer.body);
    let rv = answer.body["metadata"]["resourceVersion"].as_str();
    match answer.status.as_u16() {
        200 | 201 => match rv.and_then(|rv| rv.parse().ok()) {
            Some(revision) => Outcome::Ok(Returned::Written { revision }),
            None => Outcome::Info(format!("no resourceVersion in {text}")),
        },
        503 if !w.ambiguous_503 => Outcome::Fail(text),
        400..500 => Outcome::Fail(text),
        _ => Outcome::Info(text),
    }
}

/// Whether the request was never sent (the connection or its TLS handshake failed).
fn never_sent(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(hyper_util::client::legacy::Error::is_connect)
    })
}
