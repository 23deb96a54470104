//! `net-bench`: the network benchmark of issue 16. Direct loopback, pod to pod on one node,
//! pod to pod across nodes and through a Service VIP, alternating, `--rounds` times; prints
//! a table per round with ratios to direct loopback and kube-proxy's published figures. The
//! `skiff` binary is `SKIFF_BIN`. See bench/README.md ("Network").

use anyhow::Result;
use clap::Parser;
use skiff_bench::net::{Cluster, Native, Path, print_round};
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
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let window = Duration::from_secs(cli.seconds);
    let native = Native::start()?;
    let mut cluster = Cluster::start().await?;
    for round in 1..=cli.rounds {
        let mut rows = Vec::new();
        for path in Path::ALL {
            let measured = match path {
                Path::Direct => {
                    let native = &native;
                    Some(tokio::task::block_in_place(|| native.measure(window))?)
                }
                // The node proxy's NodePort is not there yet: the column stays, unmeasured.
                Path::NodePort => None,
                pod_path => Some(cluster.measure(pod_path, window).await?),
            };
            rows.push((path, measured));
        }
        print_round(round, &rows);
    }
    Ok(())
}
