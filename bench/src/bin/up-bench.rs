//! `up-bench`: benchmarks on `skiff up` (from `SKIFF_BIN`): a Deployment of many replicas
//! until Available (issue 15), and pods with `spec.nodeName` set (issue 14): start latency one
//! after another, a burst from many clients, density with the process's RSS. Every run starts
//! a fresh cluster in a scratch directory and stops it. See bench/README.md ("skiff up").

use std::time::Duration;

use anyhow::Result;
use clap::{Parser, Subcommand};
use skiff_bench::up::{self, Up, UpOptions, percentile};

#[derive(Parser)]
#[command(about = "Benchmarks on skiff up: Deployment to Available, pod start, burst, density")]
struct Cli {
    #[command(subcommand)]
    what: What,
    /// Runs, each on a fresh cluster.
    #[arg(long, default_value_t = 1, global = true)]
    rounds: usize,
    /// wasmtime pooling allocator slots (0: on-demand allocation).
    #[arg(long, default_value_t = 12_000, global = true)]
    pooling: u32,
    /// deploy, burst: first run one pod of the image to Running and delete it, so the
    /// measured pods find its compiled code in the agent's cache (as Kubernetes' density
    /// tests pre-pull images). Without it the first pod compiles the image inside the run.
    #[arg(long, global = true)]
    warm: bool,
    /// deploy, burst: also watch the run's pods and print when half and all of them were
    /// created, bound, Running and Ready (one more watch on the same cores).
    #[arg(long, global = true)]
    timeline: bool,
    /// Also print the API requests the measured run made (`apiserver_request_total` before
    /// and after it, by verb and resource).
    #[arg(long, global = true)]
    requests: bool,
}

#[derive(Subcommand)]
enum What {
    /// A Deployment of `replicas` pods: time from create to Available (target < 2 s at 1,000).
    Deploy {
        #[arg(long, default_value_t = 1000)]
        replicas: i32,
    },
    /// `pods` pods one after another, each created once the one before is Running: p50/p99.
    Start {
        #[arg(long, default_value_t = 200)]
        pods: usize,
    },
    /// `pods` pods from `clients` clients at once: time until all are Running.
    Burst {
        #[arg(long, default_value_t = 1000)]
        pods: usize,
        #[arg(long, default_value_t = 16)]
        clients: usize,
    },
    /// `skiff run` of a local .wasm (`--guest`, default examples-wasm's http-hello) to its
    /// first HTTP 200: once cold (new content), then `warm_runs` times the same file (target
    /// < 1 s). (Not `--warm`: that is the global flag of deploy and burst.)
    Run {
        #[arg(long, default_value_t = 3)]
        warm_runs: usize,
        #[arg(
            long,
            default_value = "examples-wasm/target/wasm32-wasip2/release/http-hello.wasm"
        )]
        guest: std::path::PathBuf,
    },
    /// `pods` idle pods on the one agent: time until all Running and the process's RSS.
    Density {
        #[arg(long, default_value_t = 10_000)]
        pods: usize,
        #[arg(long, default_value_t = 16)]
        clients: usize,
    },
}

const MIB: f64 = 1024.0 * 1024.0;

/// Open files `skiff up` may hold (inherited): a dense node holds a socket per idle pod plus
/// its API connections, beyond a usual hard limit of 20,000. As root the hard limit rises too
/// (as `LimitNOFILE=` in a kubelet's unit does); otherwise the bench says what it kept and why.
fn raise_open_files() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    const WANTED: u64 = 1 << 20;
    let now = getrlimit(Resource::Nofile);
    let want = Rlimit {
        current: Some(WANTED),
        maximum: Some(WANTED),
    };
    if now.current.is_some_and(|c| c >= WANTED) {
        return;
    }
    if let Err(e) = setrlimit(Resource::Nofile, want) {
        // Without root, or above the kernel's `fs.nr_open`, or where the sandbox withholds
        // CAP_SYS_RESOURCE from root.
        eprintln!(
            "up-bench: open-file limit stays {:?}: raising it to {WANTED} failed ({e})",
            now.current
        );
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    raise_open_files();
    let image = up::image()?;
    let options = UpOptions {
        pooling: (cli.pooling > 0).then_some(cli.pooling),
        max_pods: 20_000,
    };
    print_header(&cli.what);
    for round in 1..=cli.rounds {
        let cluster = Up::start(&options).await?;
        let client = &cluster.client;
        if cli.warm && matches!(cli.what, What::Deploy { .. } | What::Burst { .. }) {
            let took = up::warm_image(client, &image).await?;
            eprintln!(
                "up-bench: warm-up pod Running after {:.2} s",
                took.as_secs_f64()
            );
        }
        let before = match cli.requests {
            true => Some(up::request_counts(client).await?),
            false => None,
        };
        match &cli.what {
            What::Run { warm_runs, guest } => {
                run_cold_and_warm(&cluster, round, *warm_runs, guest).await?
            }
            What::Deploy { replicas } => {
                let limit = Duration::from_secs(300);
                let o = up::deploy(client, "bench", *replicas, &image, limit, cli.timeline).await?;
                let s = o.available.as_secs_f64();
                let met = if s < 2.0 { "yes" } else { "NO" };
                println!("| {round} | {} | {s:.2} | < 2 s | {met} |", o.replicas);
                if let Some(stages) = o.stages {
                    println!("round {round} pods (half/all): {stages}");
                }
            }
            What::Start { pods } => {
                let o = up::start_latency(client, *pods, &image).await?;
                let ms = |d: Duration| d.as_secs_f64() * 1000.0;
                let p99 = ms(percentile(&o.samples, 99.0));
                let met = if p99 <= 20.0 { "yes" } else { "NO" };
                println!(
                    "| {round} | {pods} | {:.1} | {:.1} | {:.1} | {p99:.1} | {:.1} | 5000 (SLO p99) | <= 20 ms | {met} |",
                    ms(o.cold),
                    ms(percentile(&o.samples, 0.0)),
                    ms(percentile(&o.samples, 50.0)),
                    ms(percentile(&o.samples, 100.0)),
                );
            }
            What::Burst { pods, clients } => {
                let o = up::burst(
                    client,
                    *pods,
                    *clients,
                    "burst",
                    &image,
                    Duration::from_secs(300),
                    cli.timeline,
                )
                .await?;
                let s = o.running.as_secs_f64();
                let met = if s < 1.0 { "yes" } else { "NO" };
                println!(
                    "| {round} | {} | {clients} | {:.2} | {s:.2} | < 1 s | {met} |",
                    o.pods,
                    o.created.as_secs_f64()
                );
                if let Some(stages) = o.stages {
                    println!("round {round} pods (half/all): {stages}");
                }
            }
            What::Density { pods, clients } => {
                let before = cluster.rss_bytes()?;
                let o = up::density(client, *pods, *clients, &image).await?;
                // Let the pods settle (first log writes, status writes) before reading RSS.
                tokio::time::sleep(Duration::from_secs(5)).await;
                let after = cluster.rss_bytes()?;
                let per_pod = after.saturating_sub(before) as f64 / *pods as f64 / 1024.0;
                let met = if (after as f64) < 2048.0 * MIB {
                    "yes"
                } else {
                    "NO"
                };
                println!(
                    "| {round} | {} | {clients} | {:.1} | {:.1} | {:.0} | {:.0} | {per_pod:.1} | < 2 GiB | {met} |",
                    o.pods,
                    o.created.as_secs_f64(),
                    o.running.as_secs_f64(),
                    before as f64 / MIB,
                    after as f64 / MIB,
                );
            }
        }
        if let Some(before) = before {
            let after = up::request_counts(client).await?;
            println!("round {round} {}", up::describe_delta(&before, &after));
        }
        drop(cluster);
    }
    skiff_tests::remove_scratch_dirs();
    Ok(())
}

/// One cold `skiff run` of new content, then `warm` runs of the same file under new names.
async fn run_cold_and_warm(
    cluster: &Up,
    round: usize,
    warm: usize,
    guest: &std::path::Path,
) -> Result<()> {
    let dir = skiff_tests::scratch_dir("up-bench-run")?;
    let file = up::fresh_module(guest, round as u64, &dir)?;
    let kubeconfig = &cluster.kubeconfig;
    let row = |kind: &str, o: up::RunOutcome| {
        let s = o.first_200.as_secs_f64();
        let met = match kind {
            "warm" if s < 1.0 => "yes",
            "warm" => "NO",
            _ => "-",
        };
        println!(
            "| {round} | {kind} | {:.2} | {s:.2} | < 1 s warm | {met} |",
            o.command.as_secs_f64()
        );
    };
    row(
        "cold",
        up::run_to_first_200(kubeconfig, "cold", &file).await?,
    );
    for i in 0..warm {
        let name = format!("warm-{i}");
        row(
            "warm",
            up::run_to_first_200(kubeconfig, &name, &file).await?,
        );
    }
    Ok(())
}

fn print_header(what: &What) {
    let (header, rule) = match what {
        What::Run { .. } => (
            "| round | run | command exits (s) | first HTTP 200 (s) | target | met |",
            "|--:|---|--:|--:|---|---|",
        ),
        What::Deploy { .. } => (
            "| run | replicas | create to Available (s) | target | met |",
            "|--:|--:|--:|---|---|",
        ),
        What::Start { .. } => (
            "| run | pods | first (cold) ms | min ms | p50 ms | p99 ms | max ms | Kubernetes SLO ms | target | met |",
            "|--:|--:|--:|--:|--:|--:|--:|--:|---|---|",
        ),
        What::Burst { .. } => (
            "| run | pods | clients | all created (s) | all Running (s) | target | met |",
            "|--:|--:|--:|--:|--:|---|---|",
        ),
        What::Density { .. } => (
            "| run | pods | clients | all created (s) | all Running (s) | RSS before MiB | RSS after MiB | KiB/pod | target | met |",
            "|--:|--:|--:|--:|--:|--:|--:|--:|---|---|",
        ),
    };
    println!("{header}\n{rule}");
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks: a subcommand argument that reuses a global one's name
    /// (as `run --warm` once did) fails here instead of panicking at the first parse.
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
