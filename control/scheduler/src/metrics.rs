//! [`Metrics`]: kube-scheduler's own metric families, with its names, labels and buckets
//! (kubernetes `pkg/scheduler/metrics/metrics.go`), rendered in the Prometheus text format
//! (0.0.4) for the server's `/metrics`:
//! - `scheduler_schedule_attempts_total{result,profile}`: attempts by result (`scheduled`,
//!   `unschedulable`, `error`: a binding the API refused);
//! - `scheduler_scheduling_attempt_duration_seconds{result,profile}`: the decision plus, for a
//!   scheduled pod, its binding;
//! - `scheduler_pod_scheduling_attempts`: attempts a pod took until it was bound;
//! - `scheduler_pending_pods{queue}`: `active` (waiting for a decision), `unschedulable` (fit
//!   nowhere at their last attempt); `backoff` and `gated` are always 0 (skiff retries on the
//!   next change and has no scheduling gates).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::queue::DEFAULT_SCHEDULER;

/// `ExponentialBuckets(0.001, 2, 15)`.
const DURATION_BOUNDS: [f64; 15] = [
    0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096,
    8.192, 16.384,
];
/// `ExponentialBuckets(1, 2, 5)`.
const ATTEMPT_BOUNDS: [f64; 5] = [1.0, 2.0, 4.0, 8.0, 16.0];

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Scheduled,
    Unschedulable,
    Error,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Scheduled => "scheduled",
            Outcome::Unschedulable => "unschedulable",
            Outcome::Error => "error",
        }
    }
}

/// A cumulative histogram over fixed upper bounds.
#[derive(Clone, Debug)]
struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe(&mut self, value: f64) {
        for (bound, count) in self.bounds.iter().zip(&mut self.counts) {
            if value <= *bound {
                *count += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = |l: &str| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{{{l}}}")
            }
        };
        let _ = writeln!(out, "{name}_sum{} {}", braces(labels), self.sum);
        let _ = writeln!(out, "{name}_count{} {}", braces(labels), self.count);
    }
}

#[derive(Debug)]
struct Numbers {
    attempts: BTreeMap<Outcome, u64>,
    durations: BTreeMap<Outcome, Histogram>,
    attempts_per_pod: Histogram,
    active: u64,
    unschedulable: u64,
}

/// The scheduler's metrics; a handle: clone it into [`crate::run`] and keep one to render.
#[derive(Clone, Debug)]
pub struct Metrics {
    numbers: Arc<Mutex<Numbers>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let durations = [Outcome::Scheduled, Outcome::Unschedulable, Outcome::Error]
            .into_iter()
            .map(|o| (o, Histogram::new(&DURATION_BOUNDS)))
            .collect();
        Metrics {
            numbers: Arc::new(Mutex::new(Numbers {
                attempts: BTreeMap::new(),
                durations,
                attempts_per_pod: Histogram::new(&ATTEMPT_BOUNDS),
                active: 0,
                unschedulable: 0,
            })),
        }
    }
}

impl Metrics {
    /// One attempt ended with `outcome` after `took`.
    pub(crate) fn attempt(&self, outcome: Outcome, took: Duration) {
        let mut n = skiff_sync::lock(&self.numbers);
        *n.attempts.entry(outcome).or_insert(0) += 1;
        if let Some(h) = n.durations.get_mut(&outcome) {
            h.observe(took.as_secs_f64());
        }
    }

    /// A pod was bound at its `attempts`-th attempt.
    pub(crate) fn bound_after(&self, attempts: u32) {
        skiff_sync::lock(&self.numbers)
            .attempts_per_pod
            .observe(f64::from(attempts));
    }

    /// The pods waiting for a decision and those that fit nowhere at their last attempt.
    pub(crate) fn pending(&self, active: usize, unschedulable: usize) {
        let mut n = skiff_sync::lock(&self.numbers);
        n.active = active as u64;
        n.unschedulable = unschedulable as u64;
    }

    /// Attempts so far that ended with `outcome`.
    pub fn attempts(&self, outcome: Outcome) -> u64 {
        let n = skiff_sync::lock(&self.numbers);
        n.attempts.get(&outcome).copied().unwrap_or(0)
    }

    /// The Prometheus text exposition of every family.
    pub fn render(&self) -> String {
        let n = skiff_sync::lock(&self.numbers);
        let mut out = String::new();
        let profile = DEFAULT_SCHEDULER;
        let name = "scheduler_schedule_attempts_total";
        let _ = writeln!(
            out,
            "# HELP {name} Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.\n# TYPE {name} counter"
        );
        for outcome in [Outcome::Scheduled, Outcome::Unschedulable, Outcome::Error] {
            let count = n.attempts.get(&outcome).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "{name}{{profile=\"{profile}\",result=\"{}\"}} {count}",
                outcome.label()
            );
        }
        let name = "scheduler_scheduling_attempt_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Scheduling attempt latency in seconds (scheduling algorithm + binding)\n# TYPE {name} histogram"
        );
        for (outcome, h) in &n.durations {
            h.render(
                &mut out,
                name,
                &format!("profile=\"{profile}\",result=\"{}\"", outcome.label()),
            );
        }
        let name = "scheduler_pod_scheduling_attempts";
        let _ = writeln!(
            out,
            "# HELP {name} Number of attempts to successfully schedule a pod.\n# TYPE {name} histogram"
        );
        n.attempts_per_pod.render(&mut out, name, "");
        let name = "scheduler_pending_pods";
        let _ = writeln!(
            out,
            "# HELP {name} Number of pending pods, by the queue type.\n# TYPE {name} gauge"
        );
        for (queue, value) in [
            ("active", n.active),
            ("backoff", 0),
            ("gated", 0),
            ("unschedulable", n.unschedulable),
        ] {
            let _ = writeln!(out, "{name}{{queue=\"{queue}\"}} {value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_kube_schedulers_families() {
        let m = Metrics::default();
        m.attempt(Outcome::Scheduled, Duration::from_millis(3));
        m.attempt(Outcome::Unschedulable, Duration::from_micros(500));
        m.bound_after(2);
        m.pending(7, 1);
        let text = m.render();
        for line in [
            "# TYPE scheduler_schedule_attempts_total counter",
            "scheduler_schedule_attempts_total{profile=\"default-scheduler\",result=\"scheduled\"} 1",
            "scheduler_schedule_attempts_total{profile=\"default-scheduler\",result=\"error\"} 0",
            "scheduler_scheduling_attempt_duration_seconds_bucket{profile=\"default-scheduler\",result=\"scheduled\",le=\"0.002\"} 0",
            "scheduler_scheduling_attempt_duration_seconds_bucket{profile=\"default-scheduler\",result=\"scheduled\",le=\"0.004\"} 1",
            "scheduler_scheduling_attempt_duration_seconds_count{profile=\"default-scheduler\",result=\"unschedulable\"} 1",
            "scheduler_pod_scheduling_attempts_bucket{le=\"1\"} 0",
            "scheduler_pod_scheduling_attempts_bucket{le=\"2\"} 1",
            "scheduler_pod_scheduling_attempts_bucket{le=\"+Inf\"} 1",
            "scheduler_pod_scheduling_attempts_sum 2",
            "scheduler_pending_pods{queue=\"active\"} 7",
            "scheduler_pending_pods{queue=\"unschedulable\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }
}
