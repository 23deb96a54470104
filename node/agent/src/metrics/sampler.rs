//! The sampling loop: every period it reads the runtime's container counters and the agent
//! process's CPU time and resident set, and keeps the summary of the last two readings for
//! the tunnels to serve.

use super::page::{ContainerRow, PodStarts, ProcessUse, render};
use super::restarts::RestartCounts;
use super::window::{Sample, summarize};
use skiff_api::metrics::NodeSummary;
use skiff_runtime_wasm::Runtime;
use skiff_runtime_wasm::usage::{process_cpu_ns, process_rss_bytes};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The kubelet's housekeeping period is 10 s and metrics-server scrapes every 15 s; HPA and
/// `kubectl top` read whatever window is current.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(10);

/// Where the tunnels get the node's summary from.
pub trait NodeStatsSource: Send + Sync {
    /// The latest summary, or `None` until two samples were taken.
    fn summary(&self) -> Option<NodeSummary>;

    /// The node's Prometheus page (see [`super::page`]), read now.
    fn metrics_page(&self) -> String;
}

/// Samples the runtime every `period` and keeps the latest summary.
pub struct Sampler {
    rt: Runtime,
    node_name: String,
    period: Duration,
    /// Monotonic origin of `Sample::at_ns`.
    origin: Instant,
    /// The summary of the last window.
    latest: watch::Sender<Option<NodeSummary>>,
    /// Pod start durations, observed at each sample and scrape.
    pod_starts: std::sync::Mutex<PodStarts>,
    /// The restart counts the pod tasks wrote in Pod status.
    restarts: Arc<RestartCounts>,
}

impl Sampler {
    pub fn new(
        rt: Runtime,
        node_name: impl Into<String>,
        period: Duration,
        restarts: Arc<RestartCounts>,
    ) -> Sampler {
        Sampler {
            restarts,
            rt,
            node_name: node_name.into(),
            period,
            origin: Instant::now(),
            latest: watch::Sender::new(None),
            pod_starts: std::sync::Mutex::default(),
        }
    }

    /// Samples now, then every period, until `shutdown`.
    pub async fn run(&self, shutdown: CancellationToken) {
        let mut ticks = tokio::time::interval(self.period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut before = None;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => before = Some(self.sample(before.as_ref())),
            }
        }
    }

    /// Takes one sample, publishes the summary of the window since `before`, and returns
    /// the sample.
    pub fn sample(&self, before: Option<&Sample>) -> Sample {
        let now = Sample {
            at_ns: u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX),
            process_cpu_ns: process_cpu_ns(),
            process_rss_bytes: process_rss_bytes().unwrap_or(0),
            pods: self.rt.usage(),
        };
        let containers: Vec<_> = self.rt.inventory();
        skiff_sync::lock(&self.pod_starts).observe(&containers);
        let time = crate::kube_time::to_kube(SystemTime::now()).0.to_string();
        if let Some(before) = before {
            let summary = summarize(&self.node_name, before, &now, time);
            self.latest.send_replace(Some(summary));
        }
        now
    }
}

impl NodeStatsSource for Sampler {
    fn summary(&self) -> Option<NodeSummary> {
        self.latest.borrow().clone()
    }

    fn metrics_page(&self) -> String {
        let containers = self.rt.inventory();
        let starts = {
            let mut starts = skiff_sync::lock(&self.pod_starts);
            starts.observe(&containers);
            starts.clone()
        };
        let rows: Vec<ContainerRow> = containers
            .into_iter()
            .map(|container| ContainerRow {
                log_bytes: container.log.disk_bytes(),
                restarts: self
                    .restarts
                    .get(&container.pod_id, &container.container)
                    .unwrap_or(container.restarts),
                container,
            })
            .collect();
        let process = ProcessUse {
            cpu_ns: process_cpu_ns(),
            rss_bytes: process_rss_bytes().unwrap_or(0),
        };
        render(&rows, &starts, process)
    }
}
