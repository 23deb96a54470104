//! `sched-bench`: scheduler throughput on one `skiff server` (from `SKIFF_BIN`): Nodes
//! registered through the API, then pods created by concurrent clients; pods/s from the first
//! create to the last binding, beside Kubernetes' scheduler_perf threshold. See
//! bench/README.md ("Scheduler").

use anyhow::Result;
use clap::Parser;
use skiff_bench::sched::{KUBERNETES_THRESHOLD, Shape, run};

#[derive(Parser)]
#[command(
    about = "Scheduler throughput: nodes registered through the API, pods created, time to bound"
)]
struct Cli {
    #[arg(long, default_value_t = 1000)]
    nodes: usize,
    #[arg(long, default_value_t = 10_000)]
    pods: usize,
    /// Concurrent API clients creating nodes and pods.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Runs (each on a fresh server).
    #[arg(long, default_value_t = 2)]
    rounds: usize,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let shape = Shape {
        nodes: cli.nodes,
        pods: cli.pods,
        clients: cli.clients,
    };
    println!(
        "| run | nodes | pods | all created (s) | all bound (s) | pods/s | Kubernetes threshold | ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for round in 1..=cli.rounds {
        let o = run(&shape).await?;
        println!(
            "| {round} | {} | {} | {:.2} | {:.2} | {:.0} | {KUBERNETES_THRESHOLD:.0} (SchedulingBasic, 5,000 nodes) | {:.1}x |",
            o.nodes,
            o.pods,
            o.created.as_secs_f64(),
            o.bound.as_secs_f64(),
            o.throughput(),
            o.throughput() / KUBERNETES_THRESHOLD
        );
    }
    skiff_tests::remove_scratch_dirs();
    Ok(())
}
