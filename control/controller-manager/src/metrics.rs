//! [`Metrics`]: per-controller reconcile counts, errors, reconciles in flight and objects
//! waiting to retry after a failure, rendered in the Prometheus text format (0.0.4) for the
//! server's `/metrics`. Plain counters under one lock: the manager does a few reconciles a
//! second, and `prometheus-client` is not in the workspace.
//!
//! kube-runtime keeps its work queue private, so the queue depth reported is the one the
//! manager can see: objects whose last reconcile failed and that wait out their back-off
//! (`skiff_controller_retry_queue_depth`), beside the reconciles running now.
//!
//! The same numbers under client-go's workqueue names (`name` is the controller), so
//! dashboards made for kube-controller-manager find them: `workqueue_adds_total` (reconciles
//! started), `workqueue_depth` (objects waiting to retry), `workqueue_retries_total`
//! (failed reconciles, each retried after its back-off) and the
//! `workqueue_work_duration_seconds` histogram (how long reconciles took).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

use skiff_api::metrics::exposition::{Histogram, WORKQUEUE_DURATION_BOUNDS};

/// One controller's numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ControllerCounts {
    /// Reconciles started.
    pub adds: u64,
    /// Reconciles finished, successful or not.
    pub reconciles: u64,
    /// Reconciles that failed.
    pub errors: u64,
    /// Reconciles running now.
    pub in_flight: u64,
    /// Objects whose last reconcile failed, waiting for their retry.
    pub retrying: u64,
}

/// The controller manager's metrics: clone it (it is a handle) into [`crate::ManagerConfig`]
/// and keep a clone to render.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    counts: Arc<Mutex<BTreeMap<&'static str, ControllerCounts>>>,
    /// How long reconciles took, by controller.
    durations: Arc<Mutex<BTreeMap<&'static str, Histogram>>>,
}

impl Metrics {
    /// Every controller's numbers so far, by controller name.
    pub fn snapshot(&self) -> BTreeMap<&'static str, ControllerCounts> {
        skiff_sync::lock(&self.counts).clone()
    }

    fn with(&self, controller: &'static str, change: impl FnOnce(&mut ControllerCounts)) {
        change(
            skiff_sync::lock(&self.counts)
                .entry(controller)
                .or_default(),
        );
    }

    /// Counts one finished reconcile.
    pub(crate) fn finished(&self, controller: &'static str, failed: bool) {
        self.with(controller, |c| {
            c.reconciles += 1;
            c.errors += u64::from(failed);
        });
    }

    /// Marks a reconcile running until the guard drops.
    pub(crate) fn busy(&self, controller: &'static str) -> Busy {
        self.with(controller, |c| {
            c.in_flight += 1;
            c.adds += 1;
        });
        Busy {
            metrics: self.clone(),
            controller,
            started: tokio::time::Instant::now(),
        }
    }

    /// An object of `controller` started (`true`) or stopped (`false`) waiting to retry.
    pub(crate) fn retrying(&self, controller: &'static str, waiting: bool) {
        self.with(controller, |c| {
            c.retrying = if waiting {
                c.retrying + 1
            } else {
                c.retrying.saturating_sub(1)
            };
        });
    }

    /// A term of leadership ended: nothing runs or waits any more.
    pub(crate) fn term_ended(&self) {
        for c in skiff_sync::lock(&self.counts).values_mut() {
            c.in_flight = 0;
            c.retrying = 0;
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let counts = self.snapshot();
        let mut out = String::new();
        let families: [Family; 4] = [
            (
                "skiff_controller_reconciles_total",
                "counter",
                "Reconciles finished, by controller.",
                |c| c.reconciles,
            ),
            (
                "skiff_controller_reconcile_errors_total",
                "counter",
                "Reconciles that failed, by controller.",
                |c| c.errors,
            ),
            (
                "skiff_controller_reconciles_in_flight",
                "gauge",
                "Reconciles running now, by controller.",
                |c| c.in_flight,
            ),
            (
                "skiff_controller_retry_queue_depth",
                "gauge",
                "Objects waiting to retry after a failed reconcile, by controller.",
                |c| c.retrying,
            ),
        ];
        for (name, kind, help, value) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (controller, c) in &counts {
                let _ = writeln!(out, "{name}{{controller=\"{controller}\"}} {}", value(c));
            }
        }
        self.render_workqueue(&counts, &mut out);
        out
    }

    /// The families under client-go's workqueue names.
    fn render_workqueue(
        &self,
        counts: &BTreeMap<&'static str, ControllerCounts>,
        out: &mut String,
    ) {
        let families: [Family; 3] = [
            (
                "workqueue_adds_total",
                "counter",
                "Total number of adds handled by workqueue",
                |c| c.adds,
            ),
            (
                "workqueue_depth",
                "gauge",
                "Current depth of workqueue (objects waiting to retry)",
                |c| c.retrying,
            ),
            (
                "workqueue_retries_total",
                "counter",
                "Total number of retries handled by workqueue",
                |c| c.errors,
            ),
        ];
        for (name, kind, help, value) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (controller, c) in counts {
                let _ = writeln!(out, "{name}{{name=\"{controller}\"}} {}", value(c));
            }
        }
        let name = "workqueue_work_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} How long in seconds processing an item from workqueue takes.\n# TYPE {name} histogram"
        );
        for (controller, histogram) in skiff_sync::lock(&self.durations).iter() {
            histogram.render(out, name, &format!("name=\"{controller}\""));
        }
    }
}

/// A metric family: name, type, help, and its value for one controller.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&ControllerCounts) -> u64,
);

/// A reconcile in flight; dropping it (the reconcile ended or was cancelled) ends it.
pub(crate) struct Busy {
    metrics: Metrics,
    controller: &'static str,
    started: tokio::time::Instant,
}

impl Drop for Busy {
    fn drop(&mut self) {
        skiff_sync::lock(&self.metrics.durations)
            .entry(self.controller)
            .or_insert_with(|| Histogram::new(&WORKQUEUE_DURATION_BOUNDS))
            .observe(self.started.elapsed().as_secs_f64());
        self.metrics.with(self.controller, |c| {
            c.in_flight = c.in_flight.saturating_sub(1)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_per_controller() {
        let m = Metrics::default();
        m.finished("job", false);
        m.finished("job", true);
        m.retrying("job", true);
        let busy = m.busy("gc");
        let text = m.render();
        for line in [
            "# TYPE skiff_controller_reconciles_total counter",
            "skiff_controller_reconciles_total{controller=\"job\"} 2",
            "skiff_controller_reconcile_errors_total{controller=\"job\"} 1",
            "skiff_controller_reconciles_in_flight{controller=\"gc\"} 1",
            "skiff_controller_retry_queue_depth{controller=\"job\"} 1",
            "workqueue_adds_total{name=\"gc\"} 1",
            "workqueue_depth{name=\"job\"} 1",
            "workqueue_retries_total{name=\"job\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        drop(busy);
        let text = m.render();
        let count = "workqueue_work_duration_seconds_count{name=\"gc\"} 1";
        assert!(
            text.lines().any(|l| l == count),
            "{count} missing in\n{text}"
        );
        m.term_ended();
        let after = m.snapshot();
        assert_eq!((after["gc"].in_flight, after["job"].retrying), (0, 0));
        assert_eq!(after["job"].reconciles, 2);
    }
}
