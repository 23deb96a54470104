//! `skiff debug`: read-only diagnosis of a replica's data directory (like etcd's
//! `etcd-dump-logs`). `raft-log` lists every Raft log entry's (term, node, index) and a hash of
//! its payload, so the logs of two replicas can be compared line by line.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

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
    print!("{}", skiff_server::debug::raft_log(data_dir).await?);
    Ok(())
}
