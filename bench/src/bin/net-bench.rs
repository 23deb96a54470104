//! `net-bench`: the network benchmark of issue 16. Direct loopback, pod to pod on one node,
//! pod to pod across nodes, through a Service VIP and through NodePorts, alternating,
//! `--rounds` times; prints a table per round with ratios to direct loopback and
//! kube-proxy's published figures; then the cold first request of a scaled-to-zero HTTP
//! Service against warm ones (unless `--no-cold-start`). The `skiff` binary is `SKIFF_BIN`.
//! See bench/README.md ("Network").

use anyhow::Result;
use clap::Parser;
use skiff_bench::net::{Cluster, Native, Path, measure_cold_start, print_round};
use std::time::Duration;

#[derive(Parser)]
#[command(
    about = "Network throughput, round trip and UDP rate over every pod path, beside direct loopback"
)]
struct Cli {
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// Rounds; each runs every path once, in turn.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Skip the scale-to-zero measurement (it waits ~15 s for the Deployment to sleep).
    #[arg(long)]
    no_cold_start: bool,
    /// Only these paths (comma-separated: direct, same-node, across-nodes, service-vip,
    /// node-port, node-port-other-node); every path when absent.
    #[arg(long, value_delimiter = ',', value_parser = parse_path)]
    paths: Vec<Path>,
}

fn parse_path(name: &str) -> Result<Path, String> {
    Path::ALL
        .into_iter()
        .find(|p| p.flag() == name)
        .ok_or_else(|| format!("unknown path {name:?}"))
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let window = Duration::from_secs(cli.seconds);
    let native = Native::start()?;
    let mut cluster = Cluster::start().await?;
    for round in 1..=cli.rounds {
        let mut rows = Vec::new();
        let chosen = Path::ALL
            .into_iter()
            .filter(|p| cli.paths.is_empty() || cli.paths.contains(p));
        for path in chosen {
            let measured = match path {
                Path::Direct => {
                    let native = &native;
                    Some(tokio::task::block_in_place(|| native.measure(window))?)
                }
                Path::NodePort | Path::NodePortOtherNode => {
                    let targets = cluster.node_port_targets(path).await?;
                    Some(tokio::task::block_in_place(|| {
                        skiff_bench::net::measure_targets(&targets, window)
                    })?)
                }
                pod_path => Some(cluster.measure(pod_path, window).await?),
            };
            rows.push((path, measured));
        }
        print_round(round, &rows);
    }
    if !cli.no_cold_start {
        measure_cold_start(cluster.fleet()).await?.print();
    }
    drop(cluster);
    skiff_tests::remove_scratch_dirs();
    Ok(())
}
