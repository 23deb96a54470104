//! `dashboard-bench`: the web dashboard's first load (time to interactive, bytes transferred;
//! issue 19's target: under 1 s and 300 KiB on loopback) and the API server's CPU while the
//! page shows 1,000 pods whose status changes all the time, against the same load with no page
//! open. Starts `skiff up` (from `SKIFF_BIN`) in a scratch directory and stops it. See
//! bench/README.md ("Dashboard").

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use skiff_bench::dashboard::{self, LivePage, Updater};
use skiff_bench::up::{Up, UpOptions};
use skiff_tests::Replica;
use tokio::time::{Instant, sleep};

#[derive(Parser)]
#[command(about = "The dashboard's first load and the API server's CPU with 1,000 live pods")]
struct Cli {
    /// Pods on the page.
    #[arg(long, default_value_t = 1000)]
    pods: usize,
    /// Pod status writes per second while measuring (each pod changes every pods/rate s).
    #[arg(long, default_value_t = 100)]
    rate: u32,
    /// Seconds each CPU window lasts.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// First loads, each in a fresh browser context.
    #[arg(long, default_value_t = 5)]
    loads: usize,
    /// Rounds of the three CPU windows (no page, pods view, overview), alternated.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
}

fn admin_token(replica: &Replica) -> Result<String> {
    let text = std::fs::read_to_string(replica.data_dir.join("admin.kubeconfig"))?;
    let config: serde_yaml::Value = serde_yaml::from_str(&text)?;
    config["users"][0]["user"]["token"]
        .as_str()
        .map(str::to_owned)
        .context("no admin token")
}

/// One CPU window: the API server's CPU seconds per second, and the writes made meanwhile.
struct Window {
    cpu_per_second: f64,
    writes_per_second: f64,
}

async fn measure(
    pid: u32,
    updater: &Updater,
    seconds: u64,
    page: Option<LivePage>,
) -> Result<(Window, Option<dashboard::Shown>)> {
    let (cpu0, writes0, started) = (
        dashboard::cpu_seconds(pid)?,
        updater.writes(),
        Instant::now(),
    );
    let shown = match page {
        Some(page) => Some(page.finish().await?),
        None => {
            sleep(Duration::from_secs(seconds)).await;
            None
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    let window = Window {
        cpu_per_second: (dashboard::cpu_seconds(pid)? - cpu0) / elapsed,
        writes_per_second: (updater.writes() - writes0) as f64 / elapsed,
    };
    Ok((window, shown))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or_default()
}

/// One measure of a first load.
type Measure = fn(&dashboard::FirstLoad) -> f64;

async fn first_loads(url: &str, token: &str, loads: usize, pods: usize) -> Result<()> {
    let runs = dashboard::first_load(url, token, loads, pods).await?;
    println!("\n| first load (fresh context) | median | min | max |\n|---|---|---|---|");
    let rows: [(&str, Measure); 5] = [
        ("time to interactive (sign-in form usable), ms", |r| {
            r.interactive_ms
        }),
        ("sign-in to overview with every pod, ms", |r| r.overview_ms),
        ("bytes on the wire (page + files, headers included)", |r| {
            r.transfer_bytes as f64
        }),
        ("compressed bodies, bytes", |r| r.body_bytes as f64),
        ("files' own size, bytes", |r| r.decoded_bytes as f64),
    ];
    for (what, get) in rows {
        let values: Vec<f64> = runs.iter().map(get).collect();
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(0.0, f64::max);
        println!(
            "| {what} | {:.0} | {min:.0} | {max:.0} |",
            median(values.clone())
        );
    }
    println!(
        "| files | {} | | |",
        runs.first().map(|r| r.files).unwrap_or_default()
    );
    Ok(())
}

/// One window with no page, then one per view with the page open; a row each.
async fn cpu_windows(
    cli: &Cli,
    pid: u32,
    updater: &Updater,
    (url, token): (&str, &str),
) -> Result<()> {
    let (idle, _) = measure(pid, updater, cli.seconds, None).await?;
    println!(
        "| no page open | {:.3} | {:.2} | {:.0} | | |",
        idle.cpu_per_second,
        1000.0 * idle.cpu_per_second / idle.writes_per_second.max(1.0),
        idle.writes_per_second
    );
    for view in ["pods", "overview"] {
        let page = LivePage::open(url, token, view, cli.pods, cli.seconds).await?;
        let (open, shown) = measure(pid, updater, cli.seconds, Some(page)).await?;
        let shown = shown.context("no report from the page")?;
        let restarts = shown
            .max_restarts
            .map(|r| format!(", restarts up to {r}"))
            .unwrap_or_default();
        println!(
            "| page open on {view} | {:.3} | {:.2} | {:.0} | {} pod rows{restarts} | {:.3} |",
            open.cpu_per_second,
            1000.0 * open.cpu_per_second / open.writes_per_second.max(1.0),
            open.writes_per_second,
            shown.rows,
            shown.browser_cpu_seconds / cli.seconds as f64,
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let up = Up::start(&UpOptions {
        pooling: None,
        max_pods: 110,
    })
    .await?;
    let (url, token) = (up.replica.url(), admin_token(&up.replica)?);
    let pid = up.replica.pid().context("skiff up is not running")?;
    dashboard::create_pods(&up.client, cli.pods).await?;
    let all: Api<Pod> = Api::all(up.client.clone());
    let total = all.list(&ListParams::default()).await?.items.len();
    println!(
        "skiff up with {total} pods ({} bound to a node without agent)",
        cli.pods
    );
    first_loads(&url, &token, cli.loads, total).await?;

    let updater = Updater::start(up.client.clone(), cli.pods, cli.rate);
    sleep(Duration::from_secs(3)).await;
    println!(
        "\n| {} pods, {} status writes/s | API server CPU (cores) | ms of CPU per write | writes/s | page shows | browser CPU (cores) |",
        cli.pods, cli.rate
    );
    println!("|---|---|---|---|---|---|");
    for _ in 0..cli.rounds {
        cpu_windows(&cli, pid, &updater, (&url, &token)).await?;
    }
    let rounds = updater.stop().await?;
    println!("\n{rounds} full rounds of status writes (a round changes every pod once)");
    let mut replica = up.replica;
    replica.stop().await;
    skiff_tests::remove_scratch_dirs();
    Ok(())
}
