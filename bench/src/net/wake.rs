//! The scale-to-zero row: the first request to an HTTP Service whose Deployment scaled to
//! zero (the node proxy holds it, scales the Deployment to 1 and forwards it once the pod
//! is ready), against warm requests before and after. The http-server example runs as a
//! Deployment annotated `skiff.io/scale-to-zero-idle` behind a NodePort; every request goes
//! from the host to the NodePort of `net-a` (127.0.0.2) on a new connection.

use anyhow::{Context, ensure};
use serde_json::json;
use skiff_tests::Fleet;
use skiff_tests::fleet::{example, poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long without a request before the Deployment scales to zero.
const IDLE: Duration = Duration::from_secs(10);
/// Warm requests timed before and after the cold one.
const WARM_REQUESTS: usize = 20;
/// How long one condition may take to hold.
const WAIT: Duration = Duration::from_secs(120);

/// Milliseconds of the requests.
#[derive(Debug, Clone)]
pub struct ColdStart {
    pub warm_before_ms: Vec<f64>,
    pub cold_ms: f64,
    pub warm_after_ms: Vec<f64>,
}

impl ColdStart {
    /// Prints the row, warm as p50 of their requests.
    pub fn print(&self) {
        let p50 = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(0.0)
        };
        let (before, after) = (p50(&self.warm_before_ms), p50(&self.warm_after_ms));
        println!("\nscale-to-zero HTTP Service through a NodePort (ms)\n");
        println!("| warm p50 before | cold first request | warm p50 after | cold / warm |");
        println!("|---|---|---|---|");
        println!(
            "| {before:.2} | {:.1} | {after:.2} | {:.0}x |",
            self.cold_ms,
            self.cold_ms / before.max(1e-9)
        );
    }
}

/// Deploys the sleeper, times warm requests, waits for it to scale to zero, times the
/// request that wakes it, then warm requests again.
pub async fn measure_cold_start(fleet: &Fleet) -> anyhow::Result<ColdStart> {
    let kubectl = &fleet.kubectl;
    let labels = json!({"app": "nb-sleepy"});
    let annotations = json!({"skiff.io/scale-to-zero-idle": format!("{}s", IDLE.as_secs())});
    fleet.apply(&json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nb-sleepy", "annotations": annotations},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"nodeName": "net-a", "terminationGracePeriodSeconds": 1,
                                       "containers": [{"name": "c", "image": example("http-server")?}]}}},
    })).await?;
    fleet
        .apply(&json!({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "nb-sleepy"},
            "spec": {"type": "NodePort", "selector": labels,
                     "ports": [{"port": 8080, "targetPort": 8080}]},
        }))
        .await?;
    let port = kubectl
        .ok(&[
            "get",
            "service",
            "nb-sleepy",
            "-o",
            "jsonpath={.spec.ports[0].nodePort}",
        ])
        .await?;
    let addr = format!("127.0.0.2:{}", port.trim());
    let mark = r"jsonpath={.metadata.annotations.skiff\.io/scale-to-zero-deployment}";
    poll("nb-sleepy marked for scale-to-zero", WAIT, || async {
        let marked = kubectl
            .ok(&["get", "service", "nb-sleepy", "-o", mark])
            .await?;
        Ok(marked.trim() == "nb-sleepy" && get(&addr).await.is_ok())
    })
    .await?;
    let warm_before_ms = warm(&addr).await?;
    poll("nb-sleepy scaled to zero", WAIT, || async {
        let jsonpath = "jsonpath={.spec.replicas}/{.status.replicas}";
        let out = kubectl
            .ok(&["get", "deployment", "nb-sleepy", "-o", jsonpath])
            .await?;
        Ok(out.trim() == "0/0" || out.trim() == "0/")
    })
    .await?;
    // The node proxies see the endpoint go within moments.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cold_ms = get(&addr).await.context("the cold request")?;
    let warm_after_ms = warm(&addr).await?;
    kubectl
        .ok(&["delete", "deployment,service", "nb-sleepy", "--wait=false"])
        .await?;
    Ok(ColdStart {
        warm_before_ms,
        cold_ms,
        warm_after_ms,
    })
}

async fn warm(addr: &str) -> anyhow::Result<Vec<f64>> {
    let mut times = Vec::with_capacity(WARM_REQUESTS);
    for _ in 0..WARM_REQUESTS {
        times.push(get(addr).await?);
    }
    Ok(times)
}

/// One `GET /` on a new connection; its milliseconds, once answered 200.
async fn get(addr: &str) -> anyhow::Result<f64> {
    let started = Instant::now();
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let request = "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        anyhow::Ok(response)
    };
    let response = tokio::time::timeout(WAIT, exchange).await??;
    let elapsed = started.elapsed().as_secs_f64() * 1e3;
    ensure!(
        response.starts_with(b"HTTP/1.1 200"),
        "GET http://{addr}/: {}",
        String::from_utf8_lossy(&response)
    );
    Ok(elapsed)
}
