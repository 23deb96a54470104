//! Two samples of this node to a [`NodeSummary`]: each rate is the CPU time used between
//! them divided by the time between them; memory is the later sample's. Pure: the caller
//! takes the samples and passes the end time already formatted.

use skiff_api::metrics::{
    ContainerStats, CpuStats, MemoryStats, NodeStats, NodeSummary, PodRef, PodStats,
};
use skiff_runtime_wasm::usage::{PodUsage, UsageSnapshot};

/// What the agent read at one moment.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Monotonic time of the reading, in nanoseconds since any fixed origin.
    pub at_ns: u64,
    /// The agent process's CPU time (every thread, guests included).
    pub process_cpu_ns: u64,
    pub process_rss_bytes: u64,
    pub pods: Vec<PodUsage>,
}

/// `used` nanoseconds of CPU over `window` nanoseconds, in nanocores.
fn nano_cores(used: u64, window: u64) -> u64 {
    if window == 0 {
        return 0;
    }
    let rate = u128::from(used) * 1_000_000_000 / u128::from(window);
    u64::try_from(rate).unwrap_or(u64::MAX)
}

fn cpu(before: u64, after: u64, window: u64) -> Option<CpuStats> {
    // A counter that went back belongs to a new container of the same name: no rate yet.
    let used = after.checked_sub(before)?;
    Some(CpuStats {
        usage_nano_cores: nano_cores(used, window),
        usage_core_nano_seconds: after,
    })
}

/// The containers of `now` that `before` also saw, with their rates.
fn pod_stats(now: &PodUsage, before: Option<&PodUsage>, window: u64) -> Option<PodStats> {
    let before = before?;
    let containers: Vec<ContainerStats> = now
        .containers
        .iter()
        .filter_map(|c| {
            let earlier: UsageSnapshot = before.containers.iter().find(|b| b.name == c.name)?.usage;
            Some(ContainerStats {
                name: c.name.clone(),
                cpu: cpu(earlier.cpu_ns, c.usage.cpu_ns, window)?,
                memory: MemoryStats {
                    working_set_bytes: c.usage.memory_bytes,
                },
            })
        })
        .collect();
    (!containers.is_empty()).then(|| PodStats {
        pod_ref: PodRef {
            namespace: now.namespace.clone(),
            uid: now.pod.clone(),
        },
        containers,
    })
}

/// The summary of the window from `before` to `now` (`time` is `now` in RFC 3339). Pods and
/// containers only `now` has are left out until the next window, as metrics-server leaves
/// out what it has scraped once.
pub fn summarize(node_name: &str, before: &Sample, now: &Sample, time: String) -> NodeSummary {
    let window = now.at_ns.saturating_sub(before.at_ns);
    let pods = now
        .pods
        .iter()
        .filter_map(|p| {
            let earlier = before.pods.iter().find(|b| b.pod == p.pod);
            pod_stats(p, earlier, window)
        })
        .collect();
    NodeSummary {
        time,
        window_seconds: window as f64 / 1e9,
        node: NodeStats {
            node_name: node_name.to_owned(),
            cpu: cpu(before.process_cpu_ns, now.process_cpu_ns, window).unwrap_or_default(),
            memory: MemoryStats {
                working_set_bytes: now.process_rss_bytes,
            },
        },
        pods,
    }
}

#[cfg(test)]
mod tests;
