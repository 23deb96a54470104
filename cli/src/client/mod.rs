//! The client verbs (`get`, `apply`, `run`, ...): a kubectl for skiff that talks only the
//! Kubernetes API, finding the cluster as kubectl does (`session`). Each verb lives in its own
//! file; this one lists them and turns a failure into kubectl's words and exit code 1.
//!
//! # Layout
//! - `session`: kubeconfig, context and namespace; the client.
//! - `failure`: what an error reads like (`Error from server (NotFound): ...`).
//! - `discovery`: resource names (`deploy`, `Deployment`, `deployments.apps`).
//! - `printer`: server-side Tables, YAML, JSON and names.
//! - `manifests`: files, folders, stdin, several documents.
//! - the verbs: `get`, `describe`, `apply`, `delete`, `logs`, `scale`, `rollout`,
//!   `top`, `port_forward`, `run`, `push`, `token`, `nodes`; `push_registry` is `push`'s registry
//!   client.

pub mod apply;
pub mod delete;
pub mod describe;
pub mod describe_kinds;
pub mod discovery;
pub mod failure;
pub mod get;
pub mod logs;
pub mod logs_selector;
pub mod manifests;
pub mod nodes;
pub mod port_forward;
pub mod printer;
pub mod push;
pub mod push_registry;
pub mod quantity;
pub mod rollout;
pub mod rollout_undo;
pub mod run;
pub mod run_wait;
pub mod scale;
pub mod session;
pub mod token;
pub mod top;

use clap::Subcommand;

pub use failure::Failure;
use session::{ConnectArgs, Session};

/// The verbs that talk to a cluster.
#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// List objects, or show some by name, as a table or as YAML/JSON/names.
    Get(get::GetArgs),
    /// Show an object in detail, with its events.
    Describe(describe::DescribeArgs),
    /// Create or update objects from files, folders or stdin (server-side apply).
    Apply(apply::ApplyArgs),
    /// Delete objects by type and name, or those files describe.
    Delete(delete::DeleteArgs),
    /// Print (or follow) a pod's container log.
    Logs(logs::LogsArgs),
    /// Set the number of replicas of a Deployment, ReplicaSet or StatefulSet.
    Scale(scale::ScaleArgs),
    /// Follow, restart or undo a Deployment's rollout.
    #[command(subcommand)]
    Rollout(rollout::RolloutCommand),
    /// CPU and memory use of pods or nodes (metrics.k8s.io).
    Top(top::TopArgs),
    /// Forward local ports to a pod (or to a Service's or Deployment's pod).
    PortForward(port_forward::PortForwardArgs),
    /// Run a Wasm module as a Deployment (and a Service with --expose).
    Run(run::RunArgs),
    /// Upload a .wasm module or component to the cluster's built-in registry.
    Push(push::PushArgs),
    /// Create credentials: `skiff token create --node NAME` for a joining agent.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// The fleet: every node with its state, roles, version, pods and resource use.
    Nodes(nodes::NodesArgs),
}

/// Runs one verb against the cluster the flags name.
pub async fn run(command: ClientCommand, connect: &ConnectArgs) -> Result<(), Failure> {
    let session = Session::connect(connect).await?;
    match &command {
        ClientCommand::Get(args) => get::run(&session, args).await,
        ClientCommand::Describe(args) => describe::run(&session, args).await,
        ClientCommand::Apply(args) => apply::run(&session, args).await,
        ClientCommand::Delete(args) => delete::run(&session, args).await,
        ClientCommand::Logs(args) => logs::run(&session, args).await,
        ClientCommand::Scale(args) => scale::run(&session, args).await,
        ClientCommand::Rollout(command) => rollout::run(&session, command).await,
        ClientCommand::Top(args) => top::run(&session, args).await,
        ClientCommand::PortForward(args) => port_forward::run(&session, args).await,
        ClientCommand::Run(args) => run::run(&session, args).await,
        ClientCommand::Push(args) => push::run(&session, args).await,
        ClientCommand::Token(command) => token::run(&session, command).await,
        ClientCommand::Nodes(args) => nodes::run(&session, args).await,
    }
}
