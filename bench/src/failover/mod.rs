//! Write availability across faults on a 3-replica cluster: writers on every replica record
//! when each write was acknowledged, and each scenario turns those times into one number.
//!
//! - `kill-leader`, `pause-leader`: the time from the fault until a write sent after it is
//!   acknowledged. A writer stuck on a request to the dead or paused leader sends nothing new
//!   until that request ends, so requests that hang count in full.
//! - `pause-follower`: a follower is paused for a while and resumed; the longest gap between
//!   two acknowledged writes from 0.2 s before the resume to 3 s after it.
//!
//! # Layout
//! - here: the plan, the run, and the JSON lines.
//! - `writers`: the load and its record of acknowledgement times.
//! - `faults`: one function per scenario, and finding the leader without waiting on a paused
//!   replica.
//! - `summary`: the table over the JSON lines of several runs.

mod faults;
pub mod summary;
mod writers;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use skiff_tests::{Cluster, ReplicaOptions};

/// A fault to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    KillLeader,
    PauseLeader,
    PauseFollower,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::KillLeader => "kill-leader",
            Scenario::PauseLeader => "pause-leader",
            Scenario::PauseFollower => "pause-follower",
        }
    }
}

/// What to run.
#[derive(Debug)]
pub struct Plan {
    pub rounds: usize,
    pub writers: usize,
    pub scenarios: Vec<Scenario>,
    /// How long `pause-follower` keeps the follower paused.
    pub pause: Duration,
    pub label: String,
    pub out: Option<PathBuf>,
}

/// One injected fault and what the writers saw.
#[derive(Debug, Serialize, Deserialize)]
pub struct Outcome {
    pub label: String,
    pub scenario: Scenario,
    pub round: usize,
    /// The scenario's number (see the module docs), in milliseconds.
    pub gap_ms: f64,
    /// When the surviving replicas first named a new leader (leader scenarios).
    pub elected_ms: Option<f64>,
    /// Writes acknowledged per second before the fault, for scale.
    pub writes_per_sec: f64,
}

/// Starts a cluster from `SKIFF_BIN`, runs every scenario `plan.rounds` times, prints and
/// records each outcome, and stops the cluster (the replicas are killed when dropped).
pub async fn run(plan: Plan) -> Result<()> {
    let cluster = Cluster::start(3, |i| {
        ReplicaOptions::new(&format!("failover{i}")).args(["--history-revisions", "1000"])
    })
    .await
    .context("starting 3 replicas")?;
    let roots: Vec<PathBuf> = cluster.replicas.iter().map(|r| r.root.clone()).collect();
    let result = run_on(cluster, &plan).await;
    for root in roots {
        let _ = std::fs::remove_dir_all(root);
    }
    result
}

async fn run_on(mut cluster: Cluster, plan: &Plan) -> Result<()> {
    let load = writers::Load::start(&cluster, plan.writers);
    for &scenario in &plan.scenarios {
        for round in 0..plan.rounds {
            let outcome = faults::inject(&mut cluster, &load, scenario, plan.pause)
                .await
                .with_context(|| format!("{} round {round}", scenario.name()))?;
            let outcome = Outcome {
                label: plan.label.clone(),
                scenario,
                round,
                gap_ms: outcome.gap.as_secs_f64() * 1e3,
                elected_ms: outcome.elected.map(|d| d.as_secs_f64() * 1e3),
                writes_per_sec: outcome.writes_per_sec,
            };
            record(&outcome, plan.out.as_ref())?;
        }
    }
    load.stop().await;
    Ok(())
}

fn record(outcome: &Outcome, out: Option<&PathBuf>) -> Result<()> {
    let line = serde_json::to_string(outcome)?;
    println!("{line}");
    if let Some(path) = out {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(file, "{line}")?;
    }
    Ok(())
}
