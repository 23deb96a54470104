//! `api-bench`: issue 3's API server benchmark. `writes` measures pod creates through the
//! Kubernetes API or same-sized creates through the store's `/kv/v1/txn` (with fsync probes
//! around and during the run), `watch` measures watch delivery latency to many watchers
//! (`watchers` is its child process holding the watches), `pod-size` reports how long a
//! stored pod is, and `table` prints the results with the targets.
//! `bench/api/run.sh` drives it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use skiff_bench::api::h2::H2Endpoint;
use skiff_bench::api::report::{self, Line, WatchRecord, WriteRecord};
use skiff_bench::api::{self, Target, watch, watchers, writes};
use skiff_bench::conn::Endpoint;
use skiff_bench::fsync;
use skiff_bench::stats::Summary;

#[derive(Parser)]
#[command(about = "API server benchmark: pod creates and watch delivery, next to the raw store")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// One closed-loop create run against the API or the store; appends its record.
    Writes(WritesArgs),
    /// Watch delivery latency to many watchers; appends its record.
    Watch(WatchArgs),
    /// The watchers of `watch`, as a process of their own (started by `watch`).
    Watchers(WatchersArgs),
    /// Create one pod and print the length in bytes of what skiff stored for it.
    PodSize {
        #[command(flatten)]
        conn: ConnArgs,
        #[arg(long, default_value = "p-size-probe")]
        name: String,
    },
    /// Print the tables for a results file.
    Table { results: PathBuf },
}

#[derive(Args)]
struct ConnArgs {
    /// Replica URLs (https://127.0.0.1:P), comma-separated; the first is the leader.
    #[arg(long, value_delimiter = ',', required = true)]
    endpoint: Vec<String>,
    /// PEM CA that signed the replicas' certificates.
    #[arg(long)]
    ca: PathBuf,
    /// File holding the admin bearer token.
    #[arg(long)]
    token_file: PathBuf,
}

impl ConnArgs {
    fn token(&self) -> Result<String> {
        let t = std::fs::read_to_string(&self.token_file)
            .with_context(|| format!("read {}", self.token_file.display()))?;
        Ok(t.trim().to_owned())
    }

    fn endpoints(&self) -> Result<Vec<Endpoint>> {
        let token = self.token()?;
        let ca = Some(self.ca.as_path());
        self.endpoint
            .iter()
            .map(|u| Endpoint::parse(u, ca, Some(&token)))
            .collect()
    }
}

#[derive(Args)]
struct Common {
    /// How many replicas the cluster runs (recorded, for the tables).
    #[arg(long)]
    replicas: u32,
    /// Directory on the data dirs' filesystem for the fsync probes.
    #[arg(long)]
    fsync_dir: PathBuf,
    /// Length of each back-to-back fsync probe before and after the run.
    #[arg(long, default_value_t = 1.0)]
    fsync_secs: f64,
    /// Results file (JSON lines) to append to.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct WritesArgs {
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    common: Common,
    #[arg(long, value_enum)]
    target: Target,
    #[arg(long)]
    clients: usize,
    /// Measured window, seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Warm-up before the window, seconds (same load, not measured).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    #[arg(long, default_value_t = 1)]
    round: u32,
    /// Number of each client's first create (pod `p-<client>-<n>`); distinct per run.
    #[arg(long, default_value_t = 0)]
    first_n: u64,
    /// Bytes of each store value: the stored pod's length (see `pod-size`).
    #[arg(long)]
    value_size: usize,
}

#[derive(Args)]
struct WatchArgs {
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    common: Common,
    /// Replicas the watches are spread over (default: the --endpoint list).
    #[arg(long, value_delimiter = ',')]
    watch_endpoint: Vec<String>,
    #[arg(long, default_value_t = 1000)]
    watchers: usize,
    /// HTTP/2 connections carrying the watches.
    #[arg(long, default_value_t = 10)]
    conns: usize,
    /// ConfigMap updates per second.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Seconds of updates.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    #[arg(long, default_value = "bench-watch")]
    name: String,
}

#[derive(Args)]
struct WatchersArgs {
    /// Replica URLs the watch connections are spread over.
    #[arg(long, value_delimiter = ',', required = true)]
    watch_endpoint: Vec<String>,
    #[arg(long)]
    ca: PathBuf,
    #[arg(long)]
    token_file: PathBuf,
    /// The watch request's path and query.
    #[arg(long)]
    path: String,
    #[arg(long)]
    watchers: usize,
    #[arg(long)]
    conns: usize,
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Writes(args) => run_writes(args).await,
        Cmd::Watch(args) => run_watch(args).await,
        Cmd::Watchers(args) => {
            let token = std::fs::read_to_string(&args.token_file)
                .with_context(|| format!("read {}", args.token_file.display()))?;
            let endpoints = args
                .watch_endpoint
                .iter()
                .map(|u| H2Endpoint::parse(u, &args.ca, token.trim()))
                .collect::<Result<Vec<_>>>()?;
            watchers::run_child(endpoints, args.path, args.watchers, args.conns).await
        }
        Cmd::PodSize { conn, name } => {
            let ep = conn.endpoints()?.remove(0);
            println!("{}", api::stored_pod_size(&ep, &name).await?);
            Ok(())
        }
        Cmd::Table { results } => {
            let lines = report::read_all(&results)?;
            let (mut w, mut v) = (Vec::new(), Vec::new());
            for line in lines {
                match line {
                    Line::Write(r) => w.push(r),
                    Line::Watch(r) => v.push(r),
                }
            }
            println!("#### Pod creates: every run\n\n{}", report::write_runs(&w));
            println!(
                "#### Pod creates: median over rounds\n\n{}",
                report::write_summary(&w)
            );
            println!("#### Watch delivery\n\n{}", report::watch_table(&v));
            Ok(())
        }
    }
}

async fn probe(dir: &Path, secs: f64) -> Result<Vec<u32>> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || fsync::probe(&dir, secs)).await?
}

/// Runs `work` between two back-to-back fsync probes, with a slow one during it; returns
/// its result and the (before+after, during) fsync summaries.
async fn with_fsync<T>(
    common: &Common,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<(T, Summary, Summary)> {
    let mut around = probe(&common.fsync_dir, common.fsync_secs).await?;
    let during = fsync::Background::start(&common.fsync_dir, Duration::from_millis(100))?;
    let outcome = work.await;
    let during = during.finish()?;
    let outcome = outcome?;
    around.extend(probe(&common.fsync_dir, common.fsync_secs).await?);
    Ok((
        outcome,
        Summary::from_micros(around),
        Summary::from_micros(during),
    ))
}

async fn run_writes(args: WritesArgs) -> Result<()> {
    let spec = Arc::new(writes::Spec {
        target: args.target,
        endpoints: args.conn.endpoints()?,
        clients: args.clients,
        warmup: Duration::from_secs_f64(args.warmup),
        duration: Duration::from_secs_f64(args.duration),
        first_n: args.first_n,
        value: api::store_value(args.value_size),
    });
    let (outcome, fsync_around, fsync_during) = with_fsync(&args.common, writes::run(spec)).await?;
    let latency = Summary::from_micros(outcome.latencies_us);
    let rec = WriteRecord {
        round: args.round,
        target: args.target,
        replicas: args.common.replicas,
        clients: args.clients,
        ops_per_s: latency.count as f64 / args.duration,
        latency,
        errors: outcome.errors,
        first_error: outcome.first_error,
        value_size: args.value_size,
        fsync_around,
        fsync_during,
    };
    println!(
        "{:5} r={} c={:2}: {:6.0} creates/s  p50 {:6.2}  p99 {:6.2}  max {:7.1} ms  errors {}  fsync p50/p99 {:.2}/{:.2} ms (during {:.2}/{:.2})",
        rec.target.name(),
        rec.replicas,
        rec.clients,
        rec.ops_per_s,
        rec.latency.p50_ms,
        rec.latency.p99_ms,
        rec.latency.max_ms,
        rec.errors,
        rec.fsync_around.p50_ms,
        rec.fsync_around.p99_ms,
        rec.fsync_during.p50_ms,
        rec.fsync_during.p99_ms,
    );
    if let Some(e) = rec.first_error.as_deref() {
        eprintln!("  first error: {e}");
    }
    if let Some(out) = &args.common.out {
        report::append(out, &Line::Write(rec))?;
    }
    Ok(())
}

async fn run_watch(args: WatchArgs) -> Result<()> {
    let urls = if args.watch_endpoint.is_empty() {
        &args.conn.endpoint
    } else {
        &args.watch_endpoint
    };
    // Checked here (loopback only) before the child gets them.
    for u in urls {
        H2Endpoint::parse(u, &args.conn.ca, &args.conn.token()?)?;
    }
    let child_args = vec![
        "--watch-endpoint".to_owned(),
        urls.join(","),
        "--ca".to_owned(),
        args.conn.ca.display().to_string(),
        "--token-file".to_owned(),
        args.conn.token_file.display().to_string(),
    ];
    let spec = watch::Spec {
        writer: args.conn.endpoints()?.remove(0),
        child_args,
        watchers: args.watchers,
        conns: args.conns,
        rate: args.rate,
        duration: Duration::from_secs_f64(args.duration),
        name: args.name,
    };
    let (o, fsync_around, fsync_during) = with_fsync(&args.common, watch::run(spec)).await?;
    let rec = WatchRecord {
        replicas: args.common.replicas,
        watchers: args.watchers,
        conns: args.conns,
        writes: o.writes,
        rate: args.rate,
        open_s: o.open_s,
        write_latency: Summary::from_micros(o.write_latency_us),
        from_ack: report::Signed::from_micros(&o.from_ack_us),
        from_send: report::Signed::from_micros(&o.from_send_us),
        missing: o.missing,
        fsync_around,
        fsync_during,
    };
    println!(
        "watch r={} watchers={} writes={}: delivery from 200 p50 {:.2} p99 {:.2} max {:.1} ms (from send p99 {:.2}), missing {}, fsync p50/p99 {:.2}/{:.2} ms",
        rec.replicas,
        rec.watchers,
        rec.writes,
        rec.from_ack.p50_ms,
        rec.from_ack.p99_ms,
        rec.from_ack.max_ms,
        rec.from_send.p99_ms,
        rec.missing,
        rec.fsync_around.p50_ms,
        rec.fsync_around.p99_ms,
    );
    if let Some(out) = &args.common.out {
        report::append(out, &Line::Watch(rec))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's consistency checks (a name two arguments share fails here, not at a parse).
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
