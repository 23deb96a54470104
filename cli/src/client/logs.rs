//! `skiff logs POD [-c C] [-f] [--tail N]`: a container's log through the API server (which
//! reaches the agent over its tunnel), streamed line by line while `-f` follows it.

use clap::Args;
use futures::{AsyncBufReadExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};

use super::failure::Failure;
use super::session::Session;

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// The pod (pod/NAME, NAME), or deployment/NAME or service/NAME for one of their pods.
    pub pod: String,
    /// The container (default: the pod's only container).
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Keep streaming new lines as they are written.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Only the last N lines.
    #[arg(long, value_name = "N")]
    pub tail: Option<i64>,
    /// The previous (terminated) run of the container.
    #[arg(short = 'p', long)]
    pub previous: bool,
}

pub async fn run(session: &Session, args: &LogsArgs) -> Result<(), Failure> {
    let name = match args.pod.split_once('/') {
        Some((kind, _)) if kind != "pod" && kind != "pods" && kind != "po" => {
            let (pod, _) = super::port_forward::find_pod(session, &args.pod).await?;
            pod["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
        Some((_, name)) => name.to_owned(),
        None => args.pod.clone(),
    };
    let name = name.as_str();
    let pods: Api<Pod> = Api::namespaced(session.client.clone(), &session.namespace);
    let params = LogParams {
        container: args.container.clone(),
        follow: args.follow,
        tail_lines: args.tail,
        previous: args.previous,
        ..LogParams::default()
    };
    let stream = pods
        .log_stream(name, &params)
        .await
        .map_err(|e| session.explain(e))?;
    let mut lines = stream.lines();
    while let Some(line) = lines
        .try_next()
        .await
        .map_err(|e| Failure::Usage(format!("reading the log of pod {name}: {e}")))?
    {
        println!("{line}");
    }
    Ok(())
}
