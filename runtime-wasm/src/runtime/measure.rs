//! Usage snapshots of [`Runtime`]'s containers (see [`crate::usage`]): one container's, or
//! every running container's at once, for the node agent's resource metrics.

use super::Runtime;
use crate::error::RuntimeError;
use crate::usage::{ContainerUsage, PodUsage, UsageSnapshot};

impl Runtime {
    /// The cumulative CPU time and current linear memory of one container.
    pub fn container_usage(&self, pod: &str, name: &str) -> Result<UsageSnapshot, RuntimeError> {
        Ok(self.container(pod, name)?.1.usage.snapshot())
    }

    /// Every pod with a running container, and the usage of its running containers (a
    /// container that has finished, or not started, uses nothing and is left out, as the
    /// kubelet reports only running containers).
    pub fn usage(&self) -> Vec<PodUsage> {
        let pods = self.pods();
        let mut out: Vec<PodUsage> = pods
            .iter()
            .filter_map(|(id, pod)| {
                let mut containers: Vec<ContainerUsage> = pod
                    .containers
                    .values()
                    .filter(|c| c.is_running())
                    .map(|c| ContainerUsage {
                        name: c.spec.name.clone(),
                        usage: c.usage.snapshot(),
                    })
                    .collect();
                containers.sort_by(|a, b| a.name.cmp(&b.name));
                (!containers.is_empty()).then(|| PodUsage {
                    pod: id.clone(),
                    namespace: pod.spec.namespace.clone(),
                    containers,
                })
            })
            .collect();
        out.sort_by(|a, b| a.pod.cmp(&b.pod));
        out
    }
}
