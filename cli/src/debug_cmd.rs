//! `skiff debug`: read-only diagnosis of a replica's data directory (like etcd's
//! `etcd-dump-logs`). `raft-log` lists every Raft log entry's (term, node, index) and a hash of
//! its payload, so the logs of two replicas can be compared line by line.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use skiff_control::store::log_store;

#[derive(Args, Debug)]
pub struct DebugArgs {
    #[command(subcommand)]
    command: DebugCommand,
}

#[derive(Subcommand, Debug)]
enum DebugCommand {
    /// List the Raft log: vote, commit, then one line per entry (term, leader node, index,
    /// kind, payload hash). Works on a copy; the data directory is not modified.
    RaftLog {
        /// The replica's data directory (stopped or not).
        #[arg(long, default_value = "skiff-data", env = "SKIFF_DATA_DIR")]
        data_dir: PathBuf,
    },
}

pub async fn run(args: DebugArgs) -> anyhow::Result<()> {
    match args.command {
        DebugCommand::RaftLog { data_dir } => raft_log(&data_dir).await,
    }
}

async fn raft_log(data_dir: &Path) -> anyhow::Result<()> {
    let store = data_dir.join("store");
    let copy = tempfile::tempdir().context("making a scratch directory")?;
    for name in ["raft-log.redb", "raft-log.wal"] {
        let from = store.join(name);
        if from.exists() {
            std::fs::copy(&from, copy.path().join(name))
                .with_context(|| format!("copying {}", from.display()))?;
        }
    }
    anyhow::ensure!(
        copy.path().join("raft-log.redb").exists(),
        "{} has no raft log (store/raft-log.redb)",
        data_dir.display()
    );
    let dump = log_store::dump(&copy.path().join("raft-log.redb")).await?;
    match &dump.vote {
        Some(v) => println!(
            "vote: term {} node {:016x} {}",
            v.leader_id().term,
            v.leader_id().node_id,
            if v.is_committed() {
                "committed"
            } else {
                "not committed"
            }
        ),
        None => println!("vote: none"),
    }
    let id = |l: &Option<log_store::LogId>| {
        l.as_ref().map_or("none".to_owned(), |l| {
            format!(
                "term {} node {:016x} index {}",
                l.leader_id.term, l.leader_id.node_id, l.index
            )
        })
    };
    println!("committed: {}", id(&dump.committed));
    println!("last purged: {}", id(&dump.last_purged));
    println!("term\tnode\tindex\tkind\tpayload-sha256");
    for e in &dump.entries {
        println!(
            "{}\t{:016x}\t{}\t{}\t{}",
            e.log_id.leader_id.term,
            e.log_id.leader_id.node_id,
            e.log_id.index,
            e.kind,
            e.payload_hash
        );
    }
    Ok(())
}
