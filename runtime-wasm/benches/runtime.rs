//! Runtime benchmarks (a program, run by bench/runtime/run.sh): instantiation through skiff
//! vs raw wasmtime with the same engine settings, cold vs warm start, idle-pod density.
//!
//! Usage: `cargo bench -p skiff-runtime-wasm --bench runtime -- [instantiate|start|density N]...`

#[path = "runtime/instantiate.rs"]
mod instantiate;

use anyhow::{Context, Result};
use skiff_runtime_wasm::engine::{EngineConfig, PoolingConfig};
use skiff_runtime_wasm::network::{LocalNetwork, PodNetwork, PodRef};
use skiff_runtime_wasm::spec::{ContainerSpec, PodSpec, WorkloadKind};
use skiff_runtime_wasm::{Runtime, RuntimeConfig, examples};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pod_ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 244, (i / 250) as u8, (i % 250 + 2) as u8))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// `POOLING=<max instances>` in the environment selects the pooling allocator.
fn engine_config() -> EngineConfig {
    let mut cfg = EngineConfig::default();
    if let Some(n) = std::env::var("POOLING").ok().and_then(|v| v.parse().ok()) {
        cfg.pooling = Some(PoolingConfig {
            max_instances: n,
            ..PoolingConfig::default()
        });
    }
    cfg
}

/// The bench's pod number `i`, with id `id` and its logs under `log_dir`.
fn pod_spec(id: &str, i: usize, log_dir: std::path::PathBuf) -> PodSpec {
    PodSpec {
        id: id.into(),
        ip: pod_ip(i),
        name: id.into(),
        namespace: "b".into(),
        log_dir,
    }
}

fn runtime(dir: &std::path::Path) -> Result<(Runtime, Arc<LocalNetwork>)> {
    let net = Arc::new(LocalNetwork::new());
    let mut cfg = RuntimeConfig::new(dir);
    cfg.engine = engine_config();
    Ok((Runtime::new(cfg, net.clone())?, net))
}

/// Cold start (compile) vs warm start (compiled artifact on disk, new runtime) vs hot
/// (image already prepared in this runtime): create + start until the job exits.
async fn start() -> Result<()> {
    let job = examples::build()?.path("job").display().to_string();
    let dir = tempfile::tempdir()?;
    let mut report = Vec::new();
    for phase in ["cold", "warm (restart)", "hot (same runtime)"] {
        let (rt, _net) = runtime(dir.path())?;
        if phase.starts_with("hot") {
            rt.prepare(&job, WorkloadKind::Auto).await?;
        }
        rt.create_pod(pod_spec("p", 0, dir.path().join("logs")))?;
        let mut spec = ContainerSpec::new("c", job.clone());
        spec.env.insert("LIMIT".into(), "2".into());
        let t = Instant::now();
        rt.create_container("p", spec).await?;
        rt.start_container("p", "c").await?;
        rt.wait_container("p", "c").await?;
        report.push(format!(
            "{phase}: {:?} (compiles {})",
            t.elapsed(),
            rt.compile_count()
        ));
        rt.shutdown(Duration::ZERO).await;
    }
    println!(
        "start of the job container: {}  (target warm < 5 ms)",
        report.join(", ")
    );
    Ok(())
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.to_owned())
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// `n` idle tcp-echo pods: time until all listen, memory per pod.
async fn density(n: usize) -> Result<()> {
    let echo = examples::build()?.path("tcp-echo").display().to_string();
    let dir = tempfile::tempdir()?;
    let (rt, net) = runtime(dir.path())?;
    rt.prepare(&echo, WorkloadKind::Auto).await?;
    let before = rss_bytes();
    let t = Instant::now();
    for i in 0..n {
        let id = format!("p{i}");
        rt.create_pod(pod_spec(&id, i, dir.path().join("logs").join(&id)))?;
        rt.create_container(&id, ContainerSpec::new("echo", echo.clone()))
            .await?;
        rt.start_container(&id, "echo").await?;
    }
    let probe = PodRef {
        ip: "10.244.255.254".parse()?,
        namespace: "b".into(),
    };
    for i in 0..n {
        let target = SocketAddr::new(pod_ip(i), 7000);
        let deadline = Instant::now() + Duration::from_secs(600);
        while net.connect(&probe, target).is_err() {
            anyhow::ensure!(Instant::now() < deadline, "pod {i} never listened");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let elapsed = t.elapsed();
    let per_pod = rss_bytes().saturating_sub(before) / n as u64;
    println!(
        "density {n} idle echo pods: all listening after {elapsed:?}, RSS +{:.1} MiB total, {:.1} KiB/pod (target 10k < 2 GiB)",
        (per_pod * n as u64) as f64 / (1 << 20) as f64,
        per_pod as f64 / 1024.0
    );
    rt.shutdown(Duration::ZERO).await;
    Ok(())
}

/// Serves http-hello as a skiff pod and prints the real listener address until ctrl-c.
async fn serve_http() -> Result<()> {
    let hello = examples::build()?.path("http-hello").display().to_string();
    let dir = tempfile::tempdir()?;
    let (rt, net) = runtime(dir.path())?;
    rt.create_pod(pod_spec("web", 0, dir.path().join("logs")))?;
    rt.create_container("web", ContainerSpec::new("hello", hello))
        .await?;
    rt.start_container("web", "hello").await?;
    let probe = PodRef {
        ip: "10.244.255.254".parse()?,
        namespace: "b".into(),
    };
    let real = net.connect(&probe, SocketAddr::new(pod_ip(0), 8080))?;
    println!("LISTEN {real}");
    tokio::signal::ctrl_c().await?;
    rt.shutdown(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let args = if args.is_empty() {
        vec![
            "instantiate".into(),
            "start".into(),
            "density".into(),
            "1000".into(),
        ]
    } else {
        args
    };
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        match a.as_str() {
            "instantiate" => instantiate::instantiate(200).await?,
            "start" => start().await?,
            "density" => {
                let n = it.next().context("density needs a pod count")?.parse()?;
                density(n).await?;
            }
            "serve-http" => serve_http().await?,
            other => anyhow::bail!("unknown bench {other}"),
        }
    }
    Ok(())
}
