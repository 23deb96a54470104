//! The core/v1 Endpoints of a Service: ready pods in `addresses`, unready in
//! `notReadyAddresses`, grouped into subsets by their port set (`RepackSubsets`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{HEADLESS, Port, is_headless, pod_endpoints, publish_not_ready};
use crate::common::labels_of;

/// The label kube-controller-manager (1.33) puts on the Endpoints it manages.
pub const ENDPOINTS_MANAGED_BY: &str = "endpoints.kubernetes.io/managed-by";
/// Its value.
pub const ENDPOINTS_CONTROLLER: &str = "endpoint-controller";

/// What to do with the Service's Endpoints object.
#[derive(Clone, Debug, PartialEq)]
pub enum EndpointsPlan {
    /// Nothing: the Service has no selector, or the Endpoints are already right.
    Leave,
    /// Create or replace the Endpoints (same name and namespace as the Service).
    Write(Box<Endpoints>),
}

/// Plans the Endpoints of `svc` from the pods of its namespace and the current Endpoints.
pub fn reconcile_endpoints(
    svc: &Service,
    pods: &[impl std::borrow::Borrow<Pod>],
    current: Option<&Endpoints>,
) -> EndpointsPlan {
    let Some(subsets) = subsets(svc, pods) else {
        return EndpointsPlan::Leave;
    };
    let mut labels = labels_of(&svc.metadata);
    labels.insert(ENDPOINTS_MANAGED_BY.into(), ENDPOINTS_CONTROLLER.into());
    if is_headless(svc) {
        labels.insert(HEADLESS.into(), String::new());
    }
    let want = Endpoints {
        metadata: ObjectMeta {
            name: svc.metadata.name.clone(),
            namespace: svc.metadata.namespace.clone(),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        subsets: (!subsets.is_empty()).then_some(subsets),
    };
    let unchanged = current.is_some_and(|c| {
        c.subsets.as_ref().filter(|s| !s.is_empty()) == want.subsets.as_ref()
            && c.metadata.labels == want.metadata.labels
    });
    if unchanged {
        EndpointsPlan::Leave
    } else {
        EndpointsPlan::Write(Box::new(want))
    }
}

/// The subsets (`RepackSubsets`): addresses grouped by their sorted port set, ready ones
/// (or all, with `publishNotReadyAddresses`) apart from the others.
fn subsets(svc: &Service, pods: &[impl std::borrow::Borrow<Pod>]) -> Option<Vec<EndpointSubset>> {
    let publish = publish_not_ready(svc);
    let eps = pod_endpoints(svc, pods, publish)?;
    let no_ports = svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .is_none_or(Vec::is_empty);
    let mut groups: BTreeMap<Vec<Port>, (Vec<EndpointAddress>, Vec<EndpointAddress>)> =
        BTreeMap::new();
    for ep in eps {
        let mut ports = ep.ports.clone();
        // A Service with ports skips a pod none of whose ports resolve; a headless Service
        // without ports lists the address alone.
        if ports.is_empty() && !(no_ports && is_headless(svc)) {
            continue;
        }
        ports.sort();
        let addr = EndpointAddress {
            ip: ep.ip,
            node_name: ep.node,
            hostname: ep.hostname,
            target_ref: Some(ep.target),
        };
        let entry = groups.entry(ports).or_default();
        if ep.ready || publish {
            entry.0.push(addr)
        } else {
            entry.1.push(addr)
        }
    }
    let subsets = groups
        .into_iter()
        .map(|(ports, (ready, unready))| EndpointSubset {
            addresses: (!ready.is_empty()).then_some(ready),
            not_ready_addresses: (!unready.is_empty()).then_some(unready),
            ports: (!ports.is_empty()).then(|| ports.into_iter().map(to_port).collect()),
        })
        .collect();
    Some(subsets)
}

fn to_port(p: Port) -> EndpointPort {
    EndpointPort {
        name: (!p.name.is_empty()).then_some(p.name),
        port: p.port,
        protocol: Some(p.protocol),
        app_protocol: p.app_protocol,
    }
}
