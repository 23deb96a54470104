//! `skiff server`: one control-plane replica.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use skiff_server::launch::{self, LaunchOptions};

use crate::component_args::ComponentArgs;

#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Directory for the store, certificates and tokens.
    #[arg(long, default_value = "skiff-data", env = "SKIFF_DATA_DIR")]
    data_dir: PathBuf,
    /// Address to serve HTTPS on (peers and clients).
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// URL others reach this replica at (default: https://<listen address>).
    #[arg(long)]
    advertise: Option<String>,
    /// Join the cluster served at this URL (e.g. https://127.0.0.1:6443).
    #[arg(long, requires = "token")]
    join: Option<String>,
    /// The cluster's join token: the contents of the first replica's <data-dir>/token.
    #[arg(long, env = "SKIFF_TOKEN")]
    token: Option<String>,
    /// Snapshot the store (and purge the log behind it) every this many entries.
    #[arg(long, default_value_t = 20_000)]
    snapshot_every: u64,
    /// Keep at least this many revisions of watch history.
    #[arg(long, default_value_t = 100_000)]
    history_revisions: u64,
    /// Keep watch history for at least this many seconds.
    #[arg(long, default_value_t = 300)]
    history_seconds: u64,
    #[command(flatten)]
    components: ComponentArgs,
}

pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let shutdown = crate::signals::shutdown_token().context("installing signal handlers")?;
    let options = LaunchOptions {
        data_dir: args.data_dir,
        listen: args.listen,
        advertise: args.advertise,
        join: args.join,
        token: args.token,
        snapshot_every: args.snapshot_every,
        history_revisions: args.history_revisions,
        history_age: Duration::from_secs(args.history_seconds),
        components: args.components.options(),
    };
    launch::run(options, shutdown, |started| {
        let dir = started.data_dir.display();
        println!("skiff server: replica {:016x} serving {}", started.id, started.url);
        println!("  data directory: {dir}");
        println!("  join token:     {dir}/token  (skiff server --join {} --token \"$(cat {dir}/token)\")", started.url);
        println!("  agent token:    {dir}/agent-token  (skiff agent --server {} --token \"$(cat {dir}/agent-token)\")", started.url);
        println!("  admin token:    {dir}/admin-token   CA: {dir}/pki/ca.crt");
        println!("  kubeconfig:     {}  (kubectl --kubeconfig {} get ns)", started.kubeconfig.display(), started.kubeconfig.display());
    })
    .await?;
    Ok(())
}
