//! Where a run's time goes: a watch of the run's pods that notes when each first reached
//! each stage (seen on the API, bound to a node, Running, Ready), and reports when half and
//! all of them had, measured from the run's start.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The stages of a pod, in the order a pod reaches them.
pub const STAGES: [&str; 4] = ["created", "bound", "Running", "Ready"];

/// The first moment each pod reached each stage.
type Seen = HashMap<String, [Option<Instant>; 4]>;

/// A running watch; stops when dropped.
pub struct Timeline {
    seen: Arc<Mutex<Seen>>,
    task: JoinHandle<()>,
}

impl Drop for Timeline {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Which stages `pod` has reached.
fn stages(pod: &Pod) -> [bool; 4] {
    let status = pod.status.as_ref();
    let bound = pod.spec.as_ref().is_some_and(|s| s.node_name.is_some());
    let running = status.and_then(|s| s.phase.as_deref()) == Some("Running");
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    [true, bound, running, ready]
}

/// Notes the stages `pod` reached that it had not before.
fn note(seen: &Mutex<Seen>, pod: &Pod, now: Instant) {
    let reached = stages(pod);
    let name = pod.metadata.name.clone().unwrap_or_default();
    let mut seen = skiff_sync::lock(seen);
    let times = seen.entry(name).or_default();
    for (at, reached) in times.iter_mut().zip(reached) {
        if reached && at.is_none() {
            *at = Some(now);
        }
    }
}

impl Timeline {
    /// Watches pods in `default` matching `labels` (a label selector); returns once the
    /// watch has listed, so no stage of a pod created after this is noted late.
    pub async fn start(client: Client, labels: &str) -> anyhow::Result<Timeline> {
        let api: Api<Pod> = Api::namespaced(client, "default");
        let config = watcher::Config::default().labels(labels);
        let seen = Arc::new(Mutex::new(Seen::new()));
        let sink = seen.clone();
        let (listed_tx, listed) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut listed_tx = Some(listed_tx);
            let mut events = std::pin::pin!(watcher(api, config).default_backoff());
            while let Some(event) = events.next().await {
                let pod = match event {
                    Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => pod,
                    Ok(watcher::Event::InitDone) => {
                        if let Some(tx) = listed_tx.take() {
                            let _ = tx.send(());
                        }
                        continue;
                    }
                    _ => continue,
                };
                note(&sink, &pod, Instant::now());
            }
        });
        listed.await?;
        Ok(Timeline { seen, task })
    }

    /// Per stage: when half and when all of `n` pods had reached it, from `started` (`None`
    /// where fewer had).
    pub fn report(
        &self,
        started: Instant,
        n: usize,
    ) -> Vec<(&'static str, Option<Duration>, Option<Duration>)> {
        let seen = skiff_sync::lock(&self.seen);
        STAGES
            .iter()
            .enumerate()
            .map(|(stage, name)| {
                let mut times: Vec<Duration> = seen
                    .values()
                    .filter_map(|t| t[stage])
                    .map(|at| at.saturating_duration_since(started))
                    .collect();
                times.sort();
                let nth = |k: usize| (k >= 1 && times.len() >= k).then(|| times[k - 1]);
                (*name, nth(n.div_ceil(2)), nth(n))
            })
            .collect()
    }
}

/// The report as one line: `created 0.41/0.83 s, bound ...` (half/all).
pub fn describe(report: &[(&'static str, Option<Duration>, Option<Duration>)]) -> String {
    let s = |d: &Option<Duration>| d.map_or("-".to_owned(), |d| format!("{:.2}", d.as_secs_f64()));
    report
        .iter()
        .map(|(stage, half, all)| format!("{stage} {}/{} s", s(half), s(all)))
        .collect::<Vec<_>>()
        .join(", ")
}
