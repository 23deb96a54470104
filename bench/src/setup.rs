//! Helpers the benchmark script calls while it sets targets up: free
//! loopback ports, waiting until a replica serves, finding etcd's leader.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::Method;

use crate::conn::Endpoint;
use crate::target::Kind;

/// `n` distinct ports that were free on 127.0.0.1 a moment ago.
pub fn free_ports(n: usize) -> Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}

/// Polls the target's readiness path until it answers 200, or fails after
/// `timeout` with the last answer or error.
pub async fn wait_ready(kind: Kind, ep: &Endpoint, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no attempt");
    while Instant::now() < deadline {
        let attempt = async {
            let mut conn = ep.connect().await?;
            conn.request(Method::GET, kind.ready_path(), Bytes::new())
                .await
        };
        match tokio::time::timeout(Duration::from_secs(2), attempt).await {
            Ok(Ok((status, _))) if status.is_success() => return Ok(()),
            Ok(Ok((status, body))) => {
                last = format!("{status}: {}", String::from_utf8_lossy(&body));
            }
            Ok(Err(e)) => last = format!("{e:#}"),
            Err(_) => last = "no answer within 2 s".into(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("{} not ready after {timeout:?}: {last}", ep.url)
}

/// Asks each etcd member for its status (`/v3/maintenance/status`) and
/// returns the index of the one that is the leader.
pub async fn etcd_leader(endpoints: &[Endpoint]) -> Result<usize> {
    for (i, ep) in endpoints.iter().enumerate() {
        let mut conn = ep.connect().await?;
        let (status, body) = conn
            .post("/v3/maintenance/status", Bytes::from_static(b"{}"))
            .await?;
        if !status.is_success() {
            bail!("{}: status {status}", ep.url);
        }
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        let member = v["header"]["member_id"]
            .as_str()
            .context("status has no header.member_id")?;
        if v["leader"].as_str() == Some(member) {
            return Ok(i);
        }
    }
    bail!("no etcd member says it is the leader")
}
