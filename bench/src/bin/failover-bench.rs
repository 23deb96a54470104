//! `failover-bench`: how long writes stop when a 3-replica skiff cluster loses its leader (kill
//! -9 or SIGSTOP) and when a paused follower comes back. Starts the replicas itself from
//! `SKIFF_BIN`, loads them with writers spread over every replica, injects each fault
//! `--rounds` times and prints one JSON line per fault, then a summary. `bench/failover/run.sh`
//! alternates two binaries and prints the comparison.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use skiff_bench::failover::{self, Scenario};

#[derive(Parser)]
#[command(about = "Write availability across leader loss and follower resume, 3 replicas")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Start a cluster from `SKIFF_BIN`, inject the faults, print one JSON line each.
    Run(RunArgs),
    /// Print the comparison table for a file of JSON lines from several runs.
    Table { results: PathBuf },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Faults of each scenario to inject.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Concurrent writers, spread round-robin over the three replicas.
    #[arg(long, default_value_t = 6)]
    writers: usize,
    /// Scenarios to run, in order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "kill-leader,pause-leader,pause-follower"
    )]
    scenarios: Vec<Scenario>,
    /// How long a follower stays paused in `pause-follower`, in seconds.
    #[arg(long, default_value_t = 3.0)]
    pause_secs: f64,
    /// A name for this binary in the output (e.g. `before`, `after`).
    #[arg(long, default_value = "skiff")]
    label: String,
    /// Append the JSON lines here too.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> Result<()> {
    let cli = match Cli::parse().cmd {
        Cmd::Run(args) => args,
        Cmd::Table { results } => return failover::summary::print(&results),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let plan = failover::Plan {
        rounds: cli.rounds,
        writers: cli.writers,
        scenarios: cli.scenarios,
        pause: Duration::from_secs_f64(cli.pause_secs),
        label: cli.label,
        out: cli.out,
    };
    runtime.block_on(failover::run(plan))
}
