//! What a pod asks for and what a node offers, in the units the scheduler compares: millicores,
//! bytes and a pod count, as kube-scheduler's `NodeResourcesFit` plugin counts them.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Node, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use skiff_api::validate::quantity::parse_quantity;

/// Requested or available resources.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub milli_cpu: u64,
    pub memory: u64,
    pub pods: u64,
}

impl std::ops::Add for Resources {
    type Output = Resources;

    /// Saturating: a sum of requests never wraps.
    fn add(self, other: Resources) -> Resources {
        Resources {
            milli_cpu: self.milli_cpu.saturating_add(other.milli_cpu),
            memory: self.memory.saturating_add(other.memory),
            pods: self.pods.saturating_add(other.pods),
        }
    }
}

impl std::ops::Sub for Resources {
    type Output = Resources;

    /// Saturating: taking away a pod never wraps.
    fn sub(self, other: Resources) -> Resources {
        Resources {
            milli_cpu: self.milli_cpu.saturating_sub(other.milli_cpu),
            memory: self.memory.saturating_sub(other.memory),
            pods: self.pods.saturating_sub(other.pods),
        }
    }
}

/// A pod's requests: the larger of the sum over its containers and the largest init container
/// (init containers run one at a time, before the others), plus its overhead; `pods` is 1.
pub fn pod_requests(pod: &Pod) -> Resources {
    let Some(spec) = &pod.spec else {
        return Resources {
            pods: 1,
            ..Resources::default()
        };
    };
    let app = spec
        .containers
        .iter()
        .map(container_requests)
        .fold(Resources::default(), |a, b| a + b);
    let init = spec
        .init_containers
        .iter()
        .flatten()
        .map(container_requests)
        .fold(Resources::default(), |max, r| Resources {
            milli_cpu: max.milli_cpu.max(r.milli_cpu),
            memory: max.memory.max(r.memory),
            pods: 0,
        });
    let overhead = spec.overhead.as_ref().map(from_list).unwrap_or_default();
    Resources {
        milli_cpu: app.milli_cpu.max(init.milli_cpu) + overhead.milli_cpu,
        memory: app.memory.max(init.memory) + overhead.memory,
        pods: 1,
    }
}

/// A container's requests; a container that sets only limits requests its limits, as the API
/// server defaults it.
fn container_requests(c: &Container) -> Resources {
    let Some(res) = &c.resources else {
        return Resources::default();
    };
    let requests = res.requests.as_ref().map(from_list).unwrap_or_default();
    let limits = res.limits.as_ref().map(from_list).unwrap_or_default();
    let has = |list: &Option<BTreeMap<String, Quantity>>, name: &str| {
        list.as_ref().is_some_and(|l| l.contains_key(name))
    };
    Resources {
        milli_cpu: if has(&res.requests, "cpu") {
            requests.milli_cpu
        } else {
            limits.milli_cpu
        },
        memory: if has(&res.requests, "memory") {
            requests.memory
        } else {
            limits.memory
        },
        pods: 0,
    }
}

/// A node's allocatable resources (its capacity where allocatable is not reported).
pub fn node_allocatable(node: &Node) -> Resources {
    let status = node.status.as_ref();
    let list = status
        .and_then(|s| s.allocatable.as_ref())
        .or_else(|| status.and_then(|s| s.capacity.as_ref()));
    list.map(from_list).unwrap_or_default()
}

fn from_list(list: &BTreeMap<String, Quantity>) -> Resources {
    let get = |name: &str| list.get(name).and_then(|q| parse_quantity(&q.0));
    Resources {
        milli_cpu: get("cpu").map_or(0, |v| (v * 1000.0).ceil() as u64),
        memory: get("memory").map_or(0, |v| v.ceil() as u64),
        pods: get("pods").map_or(0, |v| v as u64),
    }
}
