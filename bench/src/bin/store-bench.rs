//! `store-bench`: one load generator for skiff's KV endpoint and etcd's JSON
//! gateway. `run` measures one configuration (with fsync probes around and
//! during it) and appends a JSON line; `table` prints the runs, the
//! skiff/etcd ratios and the stall check. `bench/store/run.sh` drives it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use skiff_bench::conn::Endpoint;
use skiff_bench::load::{self, Mode, Spec};
use skiff_bench::record::{self, Record, STALL_BOUND_MS};
use skiff_bench::snapwatch::{self, SnapWatch};
use skiff_bench::stats::Summary;
use skiff_bench::target::Kind;
use skiff_bench::{fsync, setup, table};

#[derive(Parser)]
#[command(about = "Store benchmark: skiff's KV endpoint vs etcd's JSON gateway, on loopback")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run one configuration against one target and append its record.
    Run(RunArgs),
    /// Print the tables for a results file.
    Table { results: PathBuf },
    /// Wait until every endpoint answers its readiness path.
    Wait {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long, default_value_t = 60.0)]
        timeout: f64,
    },
    /// Print the index (0-based) of the etcd leader among the endpoints.
    EtcdLeader {
        #[command(flatten)]
        target: TargetArgs,
    },
    /// GET PATH from the first endpoint and print the status and body.
    Get {
        #[command(flatten)]
        target: TargetArgs,
        path: String,
    },
    /// Print N free ports on 127.0.0.1.
    FreePorts { n: usize },
    /// Measure 4 KiB write + fdatasync in DIR for SECS.
    Fsync {
        dir: PathBuf,
        #[arg(long, default_value_t = 1.0)]
        secs: f64,
    },
}

#[derive(Args)]
struct TargetArgs {
    #[arg(long, value_enum)]
    target: Kind,
    /// Replica URLs (http://127.0.0.1:P or https://...), comma-separated;
    /// clients are spread over them round-robin.
    #[arg(long, value_delimiter = ',', required = true)]
    endpoint: Vec<String>,
    /// PEM CA that signed the replicas' certificates (https only).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// File holding the bearer token sent with every request.
    #[arg(long)]
    token_file: Option<PathBuf>,
}

impl TargetArgs {
    fn endpoints(&self) -> Result<Vec<Endpoint>> {
        let token = match &self.token_file {
            Some(p) => {
                Some(std::fs::read_to_string(p).with_context(|| format!("read {}", p.display()))?)
            }
            None => None,
        };
        self.endpoint
            .iter()
            .map(|u| Endpoint::parse(u, self.ca.as_deref(), token.as_deref()))
            .collect()
    }
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// How many replicas the target runs (recorded, for the table).
    #[arg(long)]
    replicas: u32,
    #[arg(long, value_enum)]
    mode: Mode,
    #[arg(long)]
    clients: usize,
    /// Measured window, seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Warm-up before the window, seconds (same load, not measured).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Directory on the data dirs' filesystem for the fsync probes.
    #[arg(long)]
    fsync_dir: PathBuf,
    /// Length of each back-to-back fsync probe before and after the run.
    #[arg(long, default_value_t = 1.0)]
    fsync_secs: f64,
    /// Results file (JSON lines) to append to.
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    round: u32,
    #[arg(long, default_value_t = 256)]
    value_size: usize,
    #[arg(long, default_value_t = 1000)]
    keys_per_client: u64,
    #[arg(long, default_value_t = 1000)]
    read_keys: u64,
    /// Data directory to watch for new snapshot files during the run
    /// (repeatable; skiff writes `snapshot-<term>-<index>.bin`).
    #[arg(long)]
    snapshot_dir: Vec<PathBuf>,
    /// Free text kept with the record.
    #[arg(long, default_value = "")]
    note: String,
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Run(args) => run(args).await,
        Cmd::Table { results } => {
            let records = record::read_all(&results)?;
            println!("### Runs\n\n{}", table::runs(&records));
            println!(
                "### skiff/etcd (median over rounds)\n\n{}",
                table::ratios(&records)
            );
            if records.iter().any(|r| r.mode == Mode::Stall) {
                println!(
                    "### Writes during snapshot/purge\n\n{}",
                    table::stalls(&records)
                );
            }
            Ok(())
        }
        Cmd::Wait { target, timeout } => {
            for ep in target.endpoints()? {
                setup::wait_ready(target.target, &ep, Duration::from_secs_f64(timeout)).await?;
            }
            Ok(())
        }
        Cmd::EtcdLeader { target } => {
            println!("{}", setup::etcd_leader(&target.endpoints()?).await?);
            Ok(())
        }
        Cmd::Get { target, path } => {
            let ep = target.endpoints()?.remove(0);
            let (status, body) = ep
                .connect()
                .await?
                .request(http::Method::GET, &path, bytes::Bytes::new())
                .await?;
            println!("{} {}", status.as_u16(), String::from_utf8_lossy(&body));
            Ok(())
        }
        Cmd::FreePorts { n } => {
            let ports: Vec<String> = setup::free_ports(n)?.iter().map(u16::to_string).collect();
            println!("{}", ports.join(" "));
            Ok(())
        }
        Cmd::Fsync { dir, secs } => {
            let s = Summary::from_micros(fsync::probe(&dir, secs)?);
            println!(
                "fsync 4KiB in {}: n={} p50={:.2}ms p99={:.2}ms max={:.2}ms",
                dir.display(),
                s.count,
                s.p50_ms,
                s.p99_ms,
                s.max_ms
            );
            Ok(())
        }
    }
}

async fn probe(dir: &Path, secs: f64) -> Result<Vec<u32>> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || fsync::probe(&dir, secs)).await?
}

async fn run(args: RunArgs) -> Result<()> {
    if args.clients == 0 {
        bail!("--clients must be at least 1");
    }
    let spec = Arc::new(Spec {
        kind: args.target.target,
        endpoints: args.target.endpoints()?,
        mode: args.mode,
        clients: args.clients,
        warmup: Duration::from_secs_f64(args.warmup),
        duration: Duration::from_secs_f64(args.duration),
        value_size: args.value_size,
        keys_per_client: args.keys_per_client,
        read_keys: args.read_keys,
    });
    let mut fsync_around = probe(&args.fsync_dir, args.fsync_secs).await?;
    let during = fsync::Background::start(&args.fsync_dir, Duration::from_millis(100))?;
    let snaps =
        (!args.snapshot_dir.is_empty()).then(|| SnapWatch::start(args.snapshot_dir.clone()));
    let outcome = load::run(spec.clone()).await;
    let snapshots = match snaps {
        Some(w) => w.finish().await,
        None => Vec::new(),
    };
    let fsync_during = during.finish()?;
    let outcome = outcome?;
    let snapshots_at_s = snapshots
        .into_iter()
        .map(|at| snapwatch::offset(outcome.window_start, at))
        .collect();
    fsync_around.extend(probe(&args.fsync_dir, args.fsync_secs).await?);

    let slow_ops = outcome
        .latencies_us
        .iter()
        .filter(|&&us| f64::from(us) / 1000.0 > STALL_BOUND_MS)
        .count() as u64;
    let latency = Summary::from_micros(outcome.latencies_us);
    let rec = Record {
        at: SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
        round: args.round,
        target: spec.kind,
        replicas: args.replicas,
        mode: args.mode,
        clients: args.clients,
        duration_s: args.duration,
        ops_per_s: latency.count as f64 / args.duration,
        latency,
        errors: outcome.errors,
        first_error: outcome.first_error,
        slow_ops,
        max_at_s: outcome.max_at_s,
        min_second_ops: outcome.per_second.iter().copied().min().unwrap_or(0),
        fsync_around: Summary::from_micros(fsync_around),
        fsync_during: Summary::from_micros(fsync_during),
        snapshots_at_s,
        note: args.note,
    };
    println!(
        "{:5} r={} {:5} c={:3}: {:8.0} ops/s  p50 {:6.2}  p99 {:6.2}  max {:7.1} ms  errors {}  fsync p50/p99 {:.2}/{:.2} ms (during {:.2}/{:.2})",
        rec.target.name(),
        rec.replicas,
        rec.mode.name(),
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
    if !rec.snapshots_at_s.is_empty() {
        let at: Vec<String> = rec
            .snapshots_at_s
            .iter()
            .map(|s| format!("{s:.1}"))
            .collect();
        println!(
            "  snapshots appeared at {} s; slowest op started at {:.1} s",
            at.join(", "),
            rec.max_at_s
        );
    }
    if let Some(e) = rec.first_error.as_deref().filter(|_| rec.errors > 0) {
        eprintln!("  first error: {e}");
    }
    if let Some(out) = &args.out {
        record::append(out, &rec)?;
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
