//! [`Metrics`]: per-controller reconcile counts, errors, reconciles in flight and objects
//! waiting to retry after a failure, rendered in the Prometheus text format (0.0.4) for the
//! server's `/metrics`. Plain counters under one lock: the manager does a few reconciles a
//! second, and `prometheus-client` is not in the workspace.
//!
//! kube-runtime keeps its work queue private, so the queue depth reported is the one the
//! manager can see: objects whose last reconcile failed and that wait out their back-off
//! (`skiff_controller_retry_queue_depth`), beside the reconciles running now.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

/// One controller's numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ControllerCounts {
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
        self.with(controller, |c| c.in_flight += 1);
        Busy {
            metrics: self.clone(),
            controller,
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
        out
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
}

impl Drop for Busy {
    fn drop(&mut self) {
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
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        drop(busy);
        m.term_ended();
        let after = m.snapshot();
        assert_eq!((after["gc"].in_flight, after["job"].retrying), (0, 0));
        assert_eq!(after["job"].reconciles, 2);
    }
}
