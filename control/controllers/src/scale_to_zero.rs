//! Scale-to-zero for HTTP Deployments (skiff's own; what Spin needs KEDA for). A Deployment
//! annotated [`IDLE_ANNOTATION`] (`"30s"`, `"5m"`, `"1h30m"`, or plain seconds) is scaled
//! to 0 replicas once no connection reached any Service selecting its pods for that long.
//!
//! The parts: this decision marks every Service that selects the Deployment's pods with
//! [`TARGET_ANNOTATION`] (the Deployment's name), which tells the node proxies to report
//! connections to it and, at zero endpoints, to hold a connection and scale the Deployment
//! back to 1. Each node proxy writes the last connection it saw per Service on its own
//! Node ([`ACTIVITY_ANNOTATION`], a JSON object from `namespace/name` to RFC 3339 time).
//! The idle clock starts at the newest of those times and the Deployment's creation.
//!
//! Pure: the caller passes the Services of the Deployment's namespace, every Node and `now`.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::jiff::Timestamp;
use std::collections::BTreeMap;

/// The Deployment annotation: scale to zero after this long without a connection.
pub const IDLE_ANNOTATION: &str = "skiff.io/scale-to-zero-idle";
/// The Service annotation naming the Deployment it wakes (written here, read by the proxy).
pub const TARGET_ANNOTATION: &str = "skiff.io/scale-to-zero-deployment";
/// The Node annotation where a node proxy reports connections (read here).
pub const ACTIVITY_ANNOTATION: &str = "skiff.io/service-activity";
/// How soon a marked Deployment no Service selects is looked at again.
const NO_SERVICE_RECHECK: i64 = 30;

/// What to do for one Deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScaleToZeroPlan {
    /// Services to annotate with [`TARGET_ANNOTATION`] = the Deployment's name.
    pub mark: Vec<String>,
    /// Services whose [`TARGET_ANNOTATION`] names the Deployment but no longer should.
    pub unmark: Vec<String>,
    /// Set `/scale` to 0 now.
    pub scale_to_zero: bool,
    /// Decide again after this many seconds.
    pub requeue_after: Option<i64>,
    /// Why the annotation cannot be acted on (an invalid idle time).
    pub problem: Option<String>,
}

/// The plan for `deployment`, given the Services of its namespace, every Node and `now`
/// (Unix seconds).
pub fn reconcile(
    deployment: &Deployment,
    services: &[Service],
    nodes: &[Node],
    now: i64,
) -> ScaleToZeroPlan {
    let name = deployment.metadata.name.clone().unwrap_or_default();
    let idle = annotation(&deployment.metadata.annotations, IDLE_ANNOTATION).map(parse_idle);
    let mut plan = ScaleToZeroPlan::default();
    let idle = match idle {
        Some(Ok(seconds)) => Some(seconds),
        Some(Err(problem)) => {
            plan.problem = Some(problem);
            None
        }
        None => None,
    };
    let selecting: Vec<&Service> = services
        .iter()
        .filter(|s| idle.is_some() && selects(s, deployment))
        .collect();
    update_marks(&mut plan, services, &selecting, &name);
    let Some(idle) = idle else {
        return plan;
    };
    if selecting.is_empty() {
        plan.requeue_after = Some(NO_SERVICE_RECHECK.min(idle));
        return plan;
    }
    if desired_replicas(deployment) == 0 {
        return plan;
    }
    let idle_for = now - last_active(deployment, &selecting, nodes, now);
    if idle_for >= idle {
        plan.scale_to_zero = true;
    } else {
        plan.requeue_after = Some(idle - idle_for);
    }
    plan
}

/// Plans marking each of `selecting` that does not name the Deployment `name` yet, and
/// unmarking every other Service that does.
fn update_marks(
    plan: &mut ScaleToZeroPlan,
    services: &[Service],
    selecting: &[&Service],
    name: &str,
) {
    for service in services {
        let service_name = service.metadata.name.clone().unwrap_or_default();
        let mark = annotation(&service.metadata.annotations, TARGET_ANNOTATION);
        let wanted = selecting.iter().any(|s| std::ptr::eq(*s, service));
        if wanted && mark != Some(name) {
            plan.mark.push(service_name);
        } else if !wanted && mark == Some(name) {
            plan.unmark.push(service_name);
        }
    }
}

/// The Deployment's `spec.replicas` (1 when unset).
fn desired_replicas(deployment: &Deployment) -> i32 {
    deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1)
}

/// When the Deployment was last active (Unix seconds): the newest connection any node
/// reported to one of `selecting`, or its creation (`now` if unset) when that is later.
fn last_active(deployment: &Deployment, selecting: &[&Service], nodes: &[Node], now: i64) -> i64 {
    let namespace = deployment.metadata.namespace.clone().unwrap_or_default();
    let created = deployment
        .metadata
        .creation_timestamp
        .as_ref()
        .map_or(now, |t| t.0.as_second());
    selecting
        .iter()
        .filter_map(|s| last_connection(nodes, &namespace, s))
        .fold(created, i64::max)
}

/// The value of the annotation `key`, if set.
fn annotation<'a>(annotations: &'a Option<BTreeMap<String, String>>, key: &str) -> Option<&'a str> {
    annotations.as_ref()?.get(key).map(String::as_str)
}

/// Whether `service`'s (non-empty) selector matches the Deployment's pod template labels.
fn selects(service: &Service, deployment: &Deployment) -> bool {
    let selector = service.spec.as_ref().and_then(|s| s.selector.as_ref());
    let Some(selector) = selector.filter(|s| !s.is_empty()) else {
        return false;
    };
    let labels = deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.as_ref());
    labels.is_some_and(|labels| selector.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// The newest connection any node reported for `namespace/service` (Unix seconds).
fn last_connection(nodes: &[Node], namespace: &str, service: &Service) -> Option<i64> {
    let key = format!(
        "{namespace}/{}",
        service.metadata.name.as_deref().unwrap_or_default()
    );
    nodes
        .iter()
        .filter_map(|n| annotation(&n.metadata.annotations, ACTIVITY_ANNOTATION))
        .filter_map(|json| serde_json::from_str::<BTreeMap<String, String>>(json).ok())
        .filter_map(|map| map.get(&key)?.parse::<Timestamp>().ok())
        .map(|t| t.as_second())
        .max()
}

/// `"30s"`, `"5m"`, `"2h"`, `"1h30m"` or `"90"` as seconds (more than zero).
pub fn parse_idle(text: &str) -> Result<i64, String> {
    skiff_api::duration::parse_seconds(text)
        .and_then(|seconds| i64::try_from(seconds).ok())
        .filter(|seconds| *seconds > 0)
        .ok_or_else(|| {
            format!(
                "{IDLE_ANNOTATION}: {text:?} is not a duration such as \"30s\", \"5m\" or \"1h30m\""
            )
        })
}

#[cfg(test)]
mod tests;
