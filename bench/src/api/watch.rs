//! Watch delivery latency: many ConfigMap watches multiplexed over a few HTTP/2 connections,
//! one writer updating a ConfigMap at a modest rate with a sequence number in its data, and
//! every watcher noting when each sequence number arrived. Delivery latency is the receive
//! time minus the time the writer's 200 came back ("from ack", which can be slightly negative
//! when the event beats the answer) and minus the time the update was sent ("from send").
//! The watchers run in a child process ([`super::watchers`]); both sides take wall-clock
//! times.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use super::CONFIGMAP_PATH;
use super::watchers::{GRACE, unix_us};
use crate::conn::{Conn, Endpoint};

pub struct Spec {
    /// The writer's replica (the leader), over HTTP/1.1.
    pub writer: Endpoint,
    /// Arguments for `api-bench watchers` naming the replicas, CA and token file; the watch
    /// connections are spread over the replicas round-robin.
    pub child_args: Vec<String>,
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

/// Starts `api-bench watchers` (this program) for `path`; returns it once every watch is open,
/// with the seconds that took.
async fn start_watchers(
    spec: &Spec,
    path: &str,
) -> Result<(Child, Lines<BufReader<ChildStdout>>, f64)> {
    let exe = std::env::current_exe().context("own path")?;
    let mut child = Command::new(exe)
        .arg("watchers")
        .args(&spec.child_args)
        .args(["--path", path])
        .args(["--watchers", &spec.watchers.to_string()])
        .args(["--conns", &spec.conns.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("start api-bench watchers")?;
    let stdout = child.stdout.take().context("watchers' stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .context("watches not open after 60 s")??
        .context("watchers exited before opening every watch")?;
    let open_s = ready
        .strip_prefix("ready ")
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("watchers said {ready:?}"))?;
    Ok((child, lines, open_s))
}

pub async fn run(spec: Spec) -> Result<Outcome> {
    if spec.watchers == 0 || spec.rate <= 0.0 {
        bail!("need watchers and a positive rate");
    }
    let mut writer = spec.writer.connect().await?;
    let created = send(
        &mut writer,
        Method::POST,
        CONFIGMAP_PATH,
        configmap(&spec.name, 0, None),
    );
    let mut rv = resource_version(&created.await?)?;
    let path = format!("{CONFIGMAP_PATH}?watch=true&resourceVersion={rv}");
    let (mut child, mut lines, open_s) = start_watchers(&spec, &path).await?;
    let mut out = Outcome {
        open_s,
        ..Outcome::default()
    };

    let writes = (spec.rate * spec.duration.as_secs_f64()).ceil().max(1.0) as u64;
    let interval = Duration::from_secs_f64(1.0 / spec.rate);
    let item = format!("{CONFIGMAP_PATH}/{}", spec.name);
    let (mut sent_at, mut acked_at) = (vec![0i64], vec![0i64]);
    let start = tokio::time::Instant::now();
    for seq in 1..=writes {
        tokio::time::sleep_until(start + interval.mul_f64((seq - 1) as f64)).await;
        let sent = unix_us();
        let answer = send(
            &mut writer,
            Method::PUT,
            &item,
            configmap(&spec.name, seq, Some(&rv)),
        );
        rv = resource_version(&answer.await?)?;
        let acked = unix_us();
        out.write_latency_us
            .push(u32::try_from(acked - sent).unwrap_or(u32::MAX));
        sent_at.push(sent);
        acked_at.push(acked);
    }
    out.writes = writes;
    let want = writes * spec.watchers as u64;
    let mut stdin = child.stdin.take().context("watchers' stdin")?;
    stdin
        .write_all(format!("expect {want}\n").as_bytes())
        .await?;
    drop(stdin);
    let mut received = 0u64;
    let collect = async {
        while let Some(line) = lines.next_line().await? {
            if line == "end" {
                return anyhow::Ok(true);
            }
            let mut parts = line.split(' ').skip(1).map(str::parse::<i64>);
            let (Some(Ok(seq)), Some(Ok(at))) = (parts.next(), parts.next()) else {
                continue;
            };
            let Some(&acked) = acked_at.get(seq as usize) else {
                continue;
            };
            received += 1;
            out.from_ack_us.push(at - acked);
            out.from_send_us.push(at - sent_at[seq as usize]);
        }
        Ok(false)
    };
    let ended = tokio::time::timeout(GRACE + Duration::from_secs(30), collect)
        .await
        .context("watchers did not report")??;
    if !ended {
        bail!(
            "watchers exited without reporting: {:?}",
            child.wait().await?
        );
    }
    child.wait().await?;
    out.missing = want.saturating_sub(received);
    Ok(out)
}
