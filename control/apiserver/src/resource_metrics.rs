//! `metrics.k8s.io/v1beta1`: the API server plays metrics-server. `GET
//! /apis/metrics.k8s.io/v1beta1/nodes[/NAME]`, `.../pods` (all namespaces) and
//! `.../namespaces/NS/pods[/NAME]` read the Nodes or Pods (with the caller's
//! `labelSelector` and `fieldSelector`, authorised as reading those), ask each node's agent
//! for its summary (`GET /stats/summary`) through the node's tunnel, and answer
//! `PodMetrics`/`NodeMetrics`. A node without a tunnel to this replica, or whose agent
//! fails or has no window yet, is left out, as metrics-server leaves out nodes it cannot
//! scrape; so is a pod its node reports no running container of.

mod scrape;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use http::{Method, Response, StatusCode};
use serde_json::Value;
use skiff_api::metrics::{self, NodeSummary};
use skiff_api::resources::ResourceInfo;
use skiff_api::status::ApiError;
use skiff_respond::Body;

use super::auth::{self, Identity};
use super::request::{self, ResourceRequest, Verb};
use super::{ApiServer, meta};

/// The path prefix of the group's resources.
pub(crate) const PREFIX: &str = "/apis/metrics.k8s.io/v1beta1/";

/// What a metrics path asks for.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Nodes(Option<String>),
    Pods {
        namespace: Option<String>,
        name: Option<String>,
    },
}

impl Target {
    /// The target of the path after [`PREFIX`], or `None` for one not served.
    fn parse(rest: &str) -> Option<Target> {
        let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
        let owned = |s: &str| Some(s.to_owned());
        Some(match segments.as_slice() {
            ["nodes"] => Target::Nodes(None),
            ["nodes", name] if !name.is_empty() => Target::Nodes(owned(name)),
            ["pods"] => Target::Pods {
                namespace: None,
                name: None,
            },
            ["namespaces", ns, "pods"] if !ns.is_empty() => Target::Pods {
                namespace: owned(ns),
                name: None,
            },
            ["namespaces", ns, "pods", name] if !ns.is_empty() && !name.is_empty() => {
                Target::Pods {
                    namespace: owned(ns),
                    name: owned(name),
                }
            }
            _ => return None,
        })
    }

    /// The core API path whose objects the metrics are about.
    fn core_path(&self) -> String {
        match self {
            Target::Nodes(None) => "/api/v1/nodes".into(),
            Target::Nodes(Some(name)) => format!("/api/v1/nodes/{name}"),
            Target::Pods {
                namespace: None, ..
            } => "/api/v1/pods".into(),
            Target::Pods {
                namespace: Some(ns),
                name: None,
            } => format!("/api/v1/namespaces/{ns}/pods"),
            Target::Pods {
                namespace: Some(ns),
                name: Some(name),
            } => format!("/api/v1/namespaces/{ns}/pods/{name}"),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Target::Nodes(_) => "NodeMetrics",
            Target::Pods { .. } => "PodMetrics",
        }
    }
}

/// How the group's resources are named in errors (`pods.metrics.k8s.io "x" not found`).
fn metrics_info(plural: &'static str) -> &'static ResourceInfo {
    static PODS: ResourceInfo = metrics_resource("pods", "PodMetrics", true);
    static NODES: ResourceInfo = metrics_resource("nodes", "NodeMetrics", false);
    if plural == "pods" { &PODS } else { &NODES }
}

const fn metrics_resource(
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
) -> ResourceInfo {
    ResourceInfo {
        group: metrics::GROUP,
        version: metrics::VERSION,
        plural,
        singular: "",
        kind,
        namespaced,
        short_names: &[],
        categories: &[],
        subresources: &[],
        has_spec: false,
        has_status: false,
    }
}

impl ApiServer {
    /// Serves a path under [`PREFIX`] for an authenticated caller.
    pub(crate) async fn resource_metrics(
        &self,
        identity: &Identity,
        method: &Method,
        rest: &str,
        query: &str,
    ) -> Result<Response<Body>, ApiError> {
        let Some(target) = Target::parse(rest) else {
            return Err(ApiError::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ));
        };
        if *method != Method::GET {
            return Err(ApiError::method_not_allowed(format!(
                "the server does not allow this method on the requested resource: {} is read-only",
                metrics::GROUP_VERSION
            )));
        }
        let core = request::parse(&Method::GET, &target.core_path(), query)?
            .ok_or_else(|| ApiError::internal("metrics: no core resource for the path"))?;
        if core.query.watch {
            return Err(ApiError::method_not_allowed(
                "watch is not supported on metrics.k8s.io resources",
            ));
        }
        // Nodes by the node rules on the core objects; everyone else by RBAC on metrics.k8s.io.
        let node_allowed = matches!(identity, Identity::Node(_))
            && auth::authorize(identity, &core, None, None).is_ok();
        if !node_allowed && !matches!(identity, Identity::Admin) {
            let as_metrics = ResourceRequest {
                info: metrics_info(core.info.plural),
                ..core.clone()
            };
            self.authorize_by_rbac(identity, &as_metrics).await?;
        }
        let objects = match core.verb {
            Verb::Get => vec![self.get(&core).await?],
            _ => self.list(&core).await?.0,
        };
        let summaries = self.scrape(&objects, &target).await;
        let now = meta::now_rfc3339();
        let items = metrics_objects(&target, &objects, &summaries, &now);
        if let Some(name) = core.name.as_deref() {
            let Some(one) = items.into_iter().next() else {
                let plural = core.info.plural;
                return Err(ApiError::not_found(
                    &metrics_info(plural).group_resource(),
                    name,
                ));
            };
            return Ok(skiff_respond::json(StatusCode::OK, &one));
        }
        let list = metrics::metrics_list(target.kind(), items);
        Ok(skiff_respond::json(StatusCode::OK, &list))
    }
}

/// The metrics objects of `objects` (Pods or Nodes) for which `summaries` (by node name)
/// have numbers.
fn metrics_objects(
    target: &Target,
    objects: &[Value],
    summaries: &HashMap<String, NodeSummary>,
    now: &str,
) -> Vec<Value> {
    objects
        .iter()
        .filter_map(|object| match target {
            Target::Nodes(_) => {
                let summary = summaries.get(object["metadata"]["name"].as_str()?)?;
                Some(metrics::node_metrics(object, summary, now))
            }
            Target::Pods { .. } => {
                let summary = summaries.get(object["spec"]["nodeName"].as_str()?)?;
                let stats = summary.pod(object["metadata"]["uid"].as_str()?)?;
                Some(metrics::pod_metrics(object, stats, summary, now))
            }
        })
        .collect()
}
