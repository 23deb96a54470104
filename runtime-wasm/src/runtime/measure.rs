//! Usage snapshots of [`Runtime`]'s containers (see [`crate::usage`]): one container's, or
//! every running container's at once, for the node agent's resource metrics.

use super::Runtime;
use crate::error::RuntimeError;
use crate::spec::ContainerState;
use crate::usage::{ContainerInventory, ContainerUsage, PodUsage, RunState, UsageSnapshot};

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

    /// Every container of every pod sandbox, running or not, with its usage, restarts and
    /// log size, sorted by pod id and container name: what the agent's `/metrics` reports.
    pub fn inventory(&self) -> Vec<ContainerInventory> {
        let mut out: Vec<ContainerInventory> = {
            let pods = self.pods();
            pods.iter()
                .flat_map(|(id, pod)| {
                    pod.containers.values().map(|c| ContainerInventory {
                        pod_id: id.clone(),
                        pod_name: pod.spec.name.clone(),
                        pod_created: pod.created,
                        namespace: pod.spec.namespace.clone(),
                        container: c.spec.name.clone(),
                        state: match *c.state.borrow() {
                            ContainerState::Created => RunState::Created,
                            ContainerState::Running { started_at } => {
                                RunState::Running { started_at }
                            }
                            ContainerState::Terminated { .. } => RunState::Exited,
                        },
                        restarts: c
                            .starts
                            .load(std::sync::atomic::Ordering::Relaxed)
                            .saturating_sub(1),
                        usage: c.usage.snapshot(),
                        log: c.log(),
                    })
                })
                .collect()
        };
        out.sort_by(|a, b| (&a.pod_id, &a.container).cmp(&(&b.pod_id, &b.container)));
        out
    }
}
