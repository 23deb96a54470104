//! [`PodStarts`]: the `kubelet_pod_start_duration_seconds` histogram, each pod observed once.

use std::collections::HashSet;

use skiff_api::metrics::exposition::{Histogram, POD_START_BOUNDS};
use skiff_runtime_wasm::usage::{ContainerInventory, RunState};

/// Pod start durations, each pod observed once: the first time it is seen with a running
/// container.
#[derive(Debug, Clone)]
pub struct PodStarts {
    /// Sandboxes already observed (forgotten when they leave the runtime).
    seen: HashSet<String>,
    histogram: Histogram,
}

impl Default for PodStarts {
    fn default() -> Self {
        PodStarts {
            seen: HashSet::new(),
            histogram: Histogram::new(&POD_START_BOUNDS),
        }
    }
}

impl PodStarts {
    /// Observes every pod of `containers` that runs a container for the first time.
    pub fn observe(&mut self, containers: &[ContainerInventory]) {
        let present: HashSet<&str> = containers.iter().map(|c| c.pod_id.as_str()).collect();
        self.seen.retain(|id| present.contains(id.as_str()));
        for c in containers {
            let RunState::Running { started_at } = c.state else {
                continue;
            };
            if self.seen.contains(&c.pod_id) {
                continue;
            }
            let first = containers
                .iter()
                .filter(|o| o.pod_id == c.pod_id)
                .filter_map(|o| match o.state {
                    RunState::Running { started_at } => Some(started_at),
                    _ => None,
                })
                .min()
                .unwrap_or(started_at);
            let took = first.duration_since(c.pod_created).unwrap_or_default();
            self.histogram.observe(took.as_secs_f64());
            self.seen.insert(c.pod_id.clone());
        }
    }

    /// Writes the histogram's samples (buckets, sum, count) as family `name`, without labels.
    pub(super) fn render(&self, out: &mut String, name: &str) {
        self.histogram.render(out, name, "");
    }
}
