//! `skiff logs -l SELECTOR`: the logs of every pod the selector matches, as kubectl does it:
//! the last 10 lines of each unless `--tail` says otherwise, one pod after another, or with
//! `-f` every stream at once, lines interleaved as they arrive (at most `--max-log-requests`
//! streams); `--prefix` starts each line with `[pod/NAME/CONTAINER] `.

use futures::stream::{self, BoxStream};
use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};

use super::failure::Failure;
use super::logs::LogsArgs;
use super::session::Session;

/// kubectl's tail when a selector picks the pods.
const SELECTOR_TAIL: i64 = 10;

/// One container's log to show: its pod, its container, and the line prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Source {
    pub pod: String,
    pub container: Option<String>,
    pub prefix: String,
}

/// The sources of `pods` (sorted by name): each pod's chosen container, or every container
/// with `all_containers`. The prefix names the container as kubectl does: the one asked for,
/// else the pod's first.
pub(super) fn sources(pods: &[Pod], container: Option<&str>, all_containers: bool) -> Vec<Source> {
    let mut out = Vec::new();
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let names: Vec<String> = pod
            .spec
            .as_ref()
            .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default();
        let chosen: Vec<String> = match (container, all_containers) {
            (Some(c), _) => vec![c.to_owned()],
            (None, true) => names,
            (None, false) => names.into_iter().take(1).collect(),
        };
        for c in chosen {
            out.push(Source {
                prefix: format!("[pod/{name}/{c}] "),
                pod: name.clone(),
                container: Some(c),
            });
        }
    }
    out
}

/// Shows the logs of the pods `selector` matches.
pub async fn run(session: &Session, args: &LogsArgs, selector: &str) -> Result<(), Failure> {
    let api: Api<Pod> = Api::namespaced(session.client.clone(), &session.namespace);
    let mut pods = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|e| session.explain(e))?
        .items;
    if pods.is_empty() {
        eprintln!("No resources found in {} namespace.", session.namespace);
        return Ok(());
    }
    pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let sources = sources(&pods, args.container.as_deref(), args.all_containers);
    if args.follow && sources.len() > args.max_log_requests {
        return Err(Failure::Usage(format!(
            "you are attempting to follow {} log streams, but maximum allowed concurrency is {}, use --max-log-requests to increase the limit",
            sources.len(),
            args.max_log_requests
        )));
    }
    let params = |source: &Source| LogParams {
        container: source.container.clone(),
        follow: args.follow,
        tail_lines: Some(args.tail.unwrap_or(SELECTOR_TAIL)),
        previous: args.previous,
        ..LogParams::default()
    };
    let mut streams = Vec::new();
    for source in &sources {
        let prefix = if args.prefix {
            source.prefix.clone()
        } else {
            String::new()
        };
        let lines = lines_of(&api, session, &source.pod, params(source), prefix).await?;
        if args.follow {
            streams.push(lines);
        } else {
            print_all(lines).await?;
        }
    }
    print_all(stream::select_all(streams).boxed()).await
}

/// The lines of one container's log, each with `prefix` in front.
async fn lines_of(
    api: &Api<Pod>,
    session: &Session,
    pod: &str,
    params: LogParams,
    prefix: String,
) -> Result<BoxStream<'static, Result<String, Failure>>, Failure> {
    let body = api
        .log_stream(pod, &params)
        .await
        .map_err(|e| session.explain(e))?;
    let pod = pod.to_owned();
    Ok(body
        .lines()
        .map_ok(move |line| format!("{prefix}{line}"))
        .map_err(move |e| Failure::Usage(format!("reading the log of pod {pod}: {e}")))
        .boxed())
}

async fn print_all(mut lines: BoxStream<'static, Result<String, Failure>>) -> Result<(), Failure> {
    while let Some(line) = lines.try_next().await? {
        println!("{line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, containers: &[&str]) -> Pod {
        let containers: Vec<_> = containers
            .iter()
            .map(|c| json!({"name": c, "image": "x"}))
            .collect();
        serde_json::from_value(
            json!({"metadata": {"name": name}, "spec": {"containers": containers}}),
        )
        .expect("a pod")
    }

    #[test]
    fn sources_pick_containers_as_kubectl_does() {
        let pods = [pod("a", &["app", "side"]), pod("b", &["app"])];
        let prefixes = |c: Option<&str>, all: bool| -> Vec<String> {
            sources(&pods, c, all)
                .into_iter()
                .map(|s| s.prefix)
                .collect()
        };
        assert_eq!(prefixes(None, false), ["[pod/a/app] ", "[pod/b/app] "]);
        assert_eq!(
            prefixes(None, true),
            ["[pod/a/app] ", "[pod/a/side] ", "[pod/b/app] "]
        );
        assert_eq!(
            prefixes(Some("side"), false),
            ["[pod/a/side] ", "[pod/b/side] "]
        );
    }
}
