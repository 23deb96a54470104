//! `skiff up`: a whole single-node cluster in one process, as `k3s server` is: one
//! control-plane replica (store, API server, scheduler, controller manager) and one node agent,
//! with all data under one directory. Run it again on the same directory and the same cluster
//! comes back; more agents may join it with `skiff agent --server`.
//!
//! The agent joins its own replica over HTTPS with the agent token, as a remote agent would,
//! and keeps its credential in `<data-dir>/agent`; its API calls to that replica then go over
//! in-process connections (`skiff-pipe`), still authenticated by the node's token. On shutdown the agent stops first (its pods
//! are stopped), then the replica.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use skiff_agent::Access;
use skiff_agent::client::InProcessApi;
use skiff_agent::credential::Credential;
use skiff_server::launch::{self, LaunchOptions, Started};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::agent_cmd::AgentTuning;
use crate::component_args::ComponentArgs;

#[derive(Args, Debug)]
pub struct UpArgs {
    /// Directory for the cluster's state, certificates, tokens and the node's pods.
    #[arg(long, default_value = "skiff-data", env = "SKIFF_DATA_DIR")]
    data_dir: PathBuf,
    /// Address to serve the Kubernetes API on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// The Node's name (default: the host name).
    #[arg(long)]
    name: Option<String>,
    /// Run in the background: pid file and log in the data directory; `skiff down` stops it.
    #[arg(long)]
    detach: bool,
    /// Do not write the `skiff` context into the user's kubeconfig (written by default to
    /// --kubeconfig, else $KUBECONFIG's first file, else ~/.kube/config).
    #[arg(long)]
    no_kubeconfig: bool,
    #[command(flatten)]
    components: ComponentArgs,
    #[command(flatten)]
    agent: AgentTuning,
}

/// `user_kubeconfig`: the file to merge the cluster into (the global `--kubeconfig`).
pub async fn run(args: UpArgs, user_kubeconfig: Option<PathBuf>) -> anyhow::Result<()> {
    if args.detach {
        return crate::detach::start(&args.data_dir).await;
    }
    let kubeconfig_target = if args.no_kubeconfig {
        None
    } else {
        crate::user_kubeconfig::target(user_kubeconfig.as_deref())
    };
    let shutdown = crate::signals::shutdown_token().context("installing signal handlers")?;
    let server_stop = CancellationToken::new();
    let (ready_tx, ready_rx) = oneshot::channel::<Started>();
    let options = LaunchOptions {
        data_dir: args.data_dir.clone(),
        listen: args.listen,
        advertise: None,
        join: None,
        token: None,
        snapshot_every: 20_000,
        history_revisions: 100_000,
        history_age: std::time::Duration::from_secs(300),
        components: args.components.options(),
    };
    let server = tokio::spawn(launch::run(options, server_stop.clone(), move |started| {
        let _ = ready_tx.send(started.clone());
    }));
    let started = tokio::select! {
        started = ready_rx => started.ok(),
        () = shutdown.cancelled() => None,
    };
    let Some(started) = started else {
        server_stop.cancel();
        server.await??;
        anyhow::bail!("the control plane stopped before it served");
    };
    if let Some(target) = &kubeconfig_target {
        match crate::user_kubeconfig::merge_into(target, &started.kubeconfig) {
            Ok(()) => println!(
                "  kubeconfig context \"{}\" set in {} (kubectl and skiff use it now)",
                crate::user_kubeconfig::CONTEXT,
                target.display()
            ),
            Err(e) => eprintln!("skiff up: could not write {}: {e:#}", target.display()),
        }
    }
    let agent = run_agent(&args, &started, shutdown.clone()).await;
    server_stop.cancel();
    let served = server.await.context("the control plane task")?;
    agent?;
    served?;
    println!("skiff up: stopped");
    Ok(())
}

/// Runs the node agent against the replica that `started` describes, until `shutdown`.
async fn run_agent(
    args: &UpArgs,
    started: &Started,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let name = args
        .name
        .clone()
        .unwrap_or_else(skiff_agent::host::hostname);
    let agent_dir = args.data_dir.join("agent");
    let access = agent_access(&args.data_dir, &agent_dir, &started.url)?;
    let mut options = args.agent.options(&agent_dir, &name, Some(access))?;
    options.in_process = Some(InProcessApi {
        url: started.url.clone(),
        dialer: started.in_process.clone(),
    });
    print_ready(started, &name);
    skiff_agent::run(options, shutdown).await?;
    Ok(())
}

/// How the agent gets its credential: the saved one (pointed at the replica's URL of this
/// start, which may have moved), or a join with the cluster's agent token.
fn agent_access(data_dir: &Path, agent_dir: &Path, url: &str) -> anyhow::Result<Access> {
    if let Some(mut saved) = Credential::load(agent_dir)? {
        if saved.servers != [url] {
            saved.servers = vec![url.to_owned()];
            saved.save(agent_dir)?;
        }
        return Ok(Access::Credential(saved));
    }
    let token_path = data_dir.join("agent-token");
    let token = std::fs::read_to_string(&token_path)
        .with_context(|| format!("reading {}", token_path.display()))?;
    Ok(Access::Join {
        server: url.to_owned(),
        token: token.trim().to_owned(),
    })
}

fn print_ready(started: &Started, node: &str) {
    let kubeconfig = started.kubeconfig.display();
    println!("skiff up: cluster serving {} (node {node})", started.url);
    println!("  data directory: {}", started.data_dir.display());
    println!("  kubeconfig:     {kubeconfig}");
    println!("  try:            export KUBECONFIG={kubeconfig}; kubectl get nodes");
    println!(
        "  add a node:     skiff agent --server {} --token \"$(cat {}/agent-token)\"",
        started.url,
        started.data_dir.display()
    );
}
