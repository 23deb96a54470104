//! `skiff logs POD [-c C] [-f] [--tail N]`: a container's log through the API server (which
//! reaches the agent over its tunnel), streamed line by line while `-f` follows it; with
//! `-l SELECTOR` instead of a pod, every matching pod's (`logs_selector`).

use clap::Args;
use futures::{AsyncBufReadExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};

use super::failure::Failure;
use super::session::Session;

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// The pod (pod/NAME, NAME), or deployment/NAME or service/NAME for one of their pods.
    #[arg(required_unless_present = "selector", conflicts_with = "selector")]
    pub pod: Option<String>,
    /// The pods whose logs to show, by label (`app=web`, `tier in (a,b)`).
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Start each line with `[pod/NAME/CONTAINER] `.
    #[arg(long)]
    pub prefix: bool,
    /// Every container of each pod (default: the one named by -c, else the first).
    #[arg(long)]
    pub all_containers: bool,
    /// With -l and -f: at most this many logs followed at once.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub max_log_requests: usize,
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
    let (Some(target), None) = (&args.pod, &args.selector) else {
        let selector = args.selector.as_deref().unwrap_or_default();
        return super::logs_selector::run(session, args, selector).await;
    };
    let name = match target.split_once('/') {
        Some((kind, _)) if kind != "pod" && kind != "pods" && kind != "po" => {
            let (pod, _) = super::port_forward::find_pod(session, target).await?;
            pod["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
        Some((_, name)) => name.to_owned(),
        None => target.clone(),
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
