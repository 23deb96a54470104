//! The discovery.k8s.io/v1 EndpointSlices of a Service: one slice per port set and per 100
//! endpoints, IPv4, with ready/serving/terminating conditions; existing slices are reused by
//! port set so an unchanged Service plans nothing.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{HEADLESS, Port, is_headless, pod_endpoints, publish_not_ready};
use crate::common::{controller_owner, labels_of};

/// The label naming a slice's Service.
pub const SERVICE_NAME: &str = "kubernetes.io/service-name";
/// The label naming the controller that manages a slice.
pub const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// kube-controller-manager's value of [`MANAGED_BY`].
pub const CONTROLLER_NAME: &str = "endpointslice-controller.k8s.io";
/// `--max-endpoints-per-slice` default.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;

/// Slices to create (with `generateName: <service>-`), to replace, and to delete by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlicePlan {
    pub create: Vec<EndpointSlice>,
    pub update: Vec<EndpointSlice>,
    pub delete: Vec<String>,
}

impl SlicePlan {
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

/// Plans the EndpointSlices of `svc` from the pods of its namespace and the slices that
/// exist; `None` for a Service without a selector.
pub fn reconcile_slices(
    svc: &Service,
    pods: &[impl std::borrow::Borrow<Pod>],
    existing: &[EndpointSlice],
) -> Option<SlicePlan> {
    let groups = desired(svc, pods)?;
    let name = svc.metadata.name.clone().unwrap_or_default();
    let ours: Vec<&EndpointSlice> = existing.iter().filter(|s| is_ours(s, &name)).collect();
    let mut plan = SlicePlan::default();
    let mut used = Vec::new();
    for (ports, endpoints) in groups {
        let mut olds: Vec<&EndpointSlice> = ours
            .iter()
            .copied()
            .filter(|s| ports_of(s) == ports)
            .collect();
        olds.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let mut olds = olds.into_iter();
        let chunks: Vec<&[Endpoint]> = if endpoints.is_empty() {
            vec![&[]]
        } else {
            endpoints.chunks(MAX_ENDPOINTS_PER_SLICE).collect()
        };
        for chunk in chunks {
            let mut want = slice(svc, &name, &ports, chunk.to_vec());
            let Some(old) = olds.next() else {
                plan.create.push(want);
                continue;
            };
            used.push(old.metadata.name.clone());
            let same =
                old.endpoints == want.endpoints && old.metadata.labels == want.metadata.labels;
            if !same || old.ports != want.ports {
                want.metadata.name = old.metadata.name.clone();
                want.metadata.generate_name = None;
                plan.update.push(want);
            }
        }
    }
    plan.delete = ours
        .iter()
        .filter(|s| !used.contains(&s.metadata.name))
        .filter_map(|s| s.metadata.name.clone())
        .collect();
    Some(plan)
}

/// The endpoints by port set (IPv4 only); one empty group (kube's placeholder slice, with
/// neither endpoints nor ports) when there are none.
fn desired(
    svc: &Service,
    pods: &[impl std::borrow::Borrow<Pod>],
) -> Option<BTreeMap<Vec<Port>, Vec<Endpoint>>> {
    let publish = publish_not_ready(svc);
    let mut groups: BTreeMap<Vec<Port>, Vec<Endpoint>> = BTreeMap::new();
    for ep in pod_endpoints(svc, pods, true)?
        .into_iter()
        .filter(|e| !e.ip.contains(':'))
    {
        let mut ports = ep.ports.clone();
        ports.sort();
        groups.entry(ports).or_default().push(Endpoint {
            addresses: vec![ep.ip],
            conditions: Some(EndpointConditions {
                ready: Some(publish || (ep.ready && !ep.terminating)),
                serving: Some(ep.ready),
                terminating: Some(ep.terminating),
            }),
            hostname: ep.hostname,
            node_name: ep.node,
            target_ref: Some(ep.target),
            ..Endpoint::default()
        });
    }
    if groups.is_empty() {
        groups.insert(Vec::new(), Vec::new());
    }
    Some(groups)
}

fn is_ours(s: &EndpointSlice, svc: &str) -> bool {
    let l = labels_of(&s.metadata);
    l.get(SERVICE_NAME).map(String::as_str) == Some(svc)
        && l.get(MANAGED_BY).map(String::as_str) == Some(CONTROLLER_NAME)
}

fn ports_of(s: &EndpointSlice) -> Vec<Port> {
    let mut ports: Vec<Port> = s
        .ports
        .iter()
        .flatten()
        .map(|p| Port {
            name: p.name.clone().unwrap_or_default(),
            port: p.port.unwrap_or(0),
            protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
            app_protocol: p.app_protocol.clone(),
        })
        .collect();
    ports.sort();
    ports
}

fn slice(svc: &Service, name: &str, ports: &[Port], endpoints: Vec<Endpoint>) -> EndpointSlice {
    let mut labels = labels_of(&svc.metadata);
    labels.remove(HEADLESS);
    labels.insert(SERVICE_NAME.into(), name.into());
    labels.insert(MANAGED_BY.into(), CONTROLLER_NAME.into());
    if is_headless(svc) {
        labels.insert(HEADLESS.into(), String::new());
    }
    let uid = svc.metadata.uid.clone().unwrap_or_default();
    EndpointSlice {
        address_type: "IPv4".into(),
        endpoints,
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}-")),
            namespace: svc.metadata.namespace.clone(),
            labels: Some(labels),
            owner_references: Some(vec![controller_owner("v1", "Service", name, &uid)]),
            ..ObjectMeta::default()
        },
        ports: Some(
            ports
                .iter()
                .map(|p| EndpointPort {
                    name: Some(p.name.clone()),
                    port: Some(p.port),
                    protocol: Some(p.protocol.clone()),
                    app_protocol: p.app_protocol.clone(),
                })
                .collect(),
        ),
    }
}
