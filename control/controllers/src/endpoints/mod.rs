//! The Endpoints and EndpointSlice decisions (kube-controller-manager's `endpoint` and
//! `endpointslice` controllers): which pods back a Service, on which ports, and whether they
//! are ready, serving or terminating. Services without a selector are left alone.

mod slices;
mod v1;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ObjectReference, Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

pub use slices::{MANAGED_BY, MAX_ENDPOINTS_PER_SLICE, SERVICE_NAME, SlicePlan, reconcile_slices};
pub use v1::{ENDPOINTS_CONTROLLER, ENDPOINTS_MANAGED_BY, EndpointsPlan, reconcile_endpoints};

use crate::common::{is_pod_failed, is_pod_ready, is_pod_succeeded, is_terminating, labels_of};

/// The label on Endpoints and EndpointSlices of a headless Service.
pub const HEADLESS: &str = "service.kubernetes.io/headless";

/// One resolved port of an endpoint: name (of the Service port), number, protocol.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Port {
    name: String,
    port: i32,
    protocol: String,
    app_protocol: Option<String>,
}

/// One pod as an endpoint of the Service.
#[derive(Clone, Debug)]
struct PodEndpoint {
    ip: String,
    node: Option<String>,
    hostname: Option<String>,
    target: ObjectReference,
    ready: bool,
    terminating: bool,
    ports: Vec<Port>,
}

fn is_headless(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}

fn publish_not_ready(svc: &Service) -> bool {
    svc.spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false)
}

/// `ShouldPodBeInEndpoints`: an IP, not terminating (unless wanted), not finished for good.
fn should_include(pod: &Pod, include_terminating: bool) -> bool {
    let has_ip = pod
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.as_deref())
        .is_some_and(|ip| !ip.is_empty());
    if !has_ip || (!include_terminating && is_terminating(&pod.metadata)) {
        return false;
    }
    match pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()) {
        Some("Never") => !is_pod_failed(pod) && !is_pod_succeeded(pod),
        Some("OnFailure") => !is_pod_succeeded(pod),
        _ => true,
    }
}

/// `FindPort`: a numeric target port as is, a named one looked up among the containers'
/// ports of the same protocol; an unset one is the Service port.
fn find_port(pod: &Pod, sp: &ServicePort) -> Option<i32> {
    let protocol = sp.protocol.as_deref().unwrap_or("TCP");
    match sp.target_port.as_ref() {
        None | Some(IntOrString::Int(0)) => Some(sp.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => pod
            .spec
            .as_ref()?
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
            .find(|p| {
                p.name.as_deref() == Some(name.as_str())
                    && p.protocol.as_deref().unwrap_or("TCP") == protocol
            })
            .map(|p| p.container_port),
    }
}

/// The pods backing the Service, each with its resolved ports; `None` without a selector.
fn pod_endpoints(
    svc: &Service,
    pods: &[impl std::borrow::Borrow<Pod>],
    include_terminating: bool,
) -> Option<Vec<PodEndpoint>> {
    let spec = svc.spec.as_ref()?;
    let selector: &BTreeMap<String, String> = spec.selector.as_ref()?;
    let ns = svc.metadata.namespace.as_deref();
    let mut out: Vec<PodEndpoint> = pods
        .iter()
        .map(std::borrow::Borrow::borrow)
        .filter(|pod: &&Pod| {
            let labels = labels_of(&pod.metadata);
            pod.metadata.namespace.as_deref() == ns
                && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
                && should_include(pod, include_terminating)
        })
        .map(|pod| pod_endpoint(svc, pod))
        .collect();
    out.sort_by(|a, b| {
        a.ip.cmp(&b.ip)
            .then_with(|| a.target.name.cmp(&b.target.name))
    });
    Some(out)
}

fn pod_endpoint(svc: &Service, pod: &Pod) -> PodEndpoint {
    let ports = svc
        .spec
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .filter_map(|sp| {
            Some(Port {
                name: sp.name.clone().unwrap_or_default(),
                port: find_port(pod, sp)?,
                protocol: sp.protocol.clone().unwrap_or_else(|| "TCP".into()),
                app_protocol: sp.app_protocol.clone(),
            })
        })
        .collect();
    let pspec = pod.spec.as_ref();
    let subdomain_matches =
        pspec.and_then(|s| s.subdomain.as_deref()) == svc.metadata.name.as_deref();
    PodEndpoint {
        ip: pod
            .status
            .as_ref()
            .and_then(|s| s.pod_ip.clone())
            .unwrap_or_default(),
        node: pspec.and_then(|s| s.node_name.clone()),
        hostname: pspec
            .and_then(|s| s.hostname.clone())
            .filter(|_| subdomain_matches),
        target: ObjectReference {
            kind: Some("Pod".into()),
            namespace: pod.metadata.namespace.clone(),
            name: pod.metadata.name.clone(),
            uid: pod.metadata.uid.clone(),
            ..ObjectReference::default()
        },
        ready: is_pod_ready(pod),
        terminating: is_terminating(&pod.metadata),
        ports,
    }
}
