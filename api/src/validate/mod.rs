//! Validation and defaulting of objects before they are stored (being written): strict field
//! checking against the k8s-openapi types, kube-apiserver's defaults, and the common subset of
//! its validation rules, all as pure functions on `serde_json::Value`.
//!
//! The API server calls, in order: [`check_schema`] (422 or warnings for unknown fields),
//! [`apply_defaults`], then [`validate_create`] or [`validate_update`].

mod batch;
mod config;
mod container;
mod controllers;
mod defaults;
mod field;
mod meta;
pub mod names;
mod network_policy;
mod pod;
pub mod quantity;
mod rbac;
mod schema;
mod service;
mod update;
mod workloads;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::resources::ResourceInfo;
use crate::status::FieldError;

/// Decodes `obj` into the k8s-openapi type of the resource's kind. A value of the wrong type is
/// an error (`spec.replicas: Invalid value: "three": expected integer`); otherwise returns the
/// paths of the fields the type does not know (`spec.containers[0].imagee`), for
/// `fieldValidation=Strict` (422) / `Warn` / `Ignore`. Kinds skiff has no type for pass.
pub fn check_schema(info: &ResourceInfo, obj: &Value) -> Result<Vec<String>, Vec<FieldError>> {
    schema::check(info, obj)
}

/// Errors for an object name (`metadata.name`): a DNS-1123 label for namespaces, a DNS-1035
/// label for services, a DNS-1123 subdomain for everything else.
pub fn validate_name(info: &ResourceInfo, name: &str) -> Vec<FieldError> {
    let msgs = match info.kind {
        "Namespace" => names::dns1123_label(name),
        "Service" => names::dns1035_label(name),
        // Kubernetes validates RBAC names as path segments (`system:kube-scheduler`).
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => {
            rbac::path_segment_name(name)
        }
        _ => names::dns1123_subdomain(name),
    };
    msgs.into_iter()
        .map(|m| field::invalid_str("metadata.name", name, &m))
        .collect()
}

/// Fills in Kubernetes' defaults in place (kube-apiserver's defaulting for these kinds, plus
/// what its create strategies and the Priority admission plugin add). ClusterIP and node-port
/// allocation and a Job's generated selector are the server's: see [`apply_job_selector`].
pub fn apply_defaults(info: &ResourceInfo, obj: &mut Value) {
    defaults::apply(info, obj);
}

/// Validates an object about to be created (after [`apply_defaults`]).
pub fn validate_create(info: &ResourceInfo, obj: &Value) -> Result<(), Vec<FieldError>> {
    let mut errs = Vec::new();
    if !obj.is_object() {
        errs.push(field::invalid("", obj, "must be a JSON object"));
        return Err(errs);
    }
    meta::validate_object_meta(info, obj, &mut errs);
    match (info.group, info.kind) {
        ("", "Pod") => {
            let spec = obj.get("spec").unwrap_or(&Value::Null);
            pod::validate_pod_spec(spec, "spec", &mut errs);
        }
        ("", "Service") => service::validate_service(obj, &mut errs),
        ("", "ConfigMap") => config::validate_configmap(obj, &mut errs),
        ("", "Secret") => config::validate_secret(obj, &mut errs),
        ("", "Namespace") => config::validate_namespace(obj, &mut errs),
        ("", "Endpoints") => config::validate_endpoints(obj, &mut errs),
        ("apps", "Deployment") => workloads::validate_deployment(obj, &mut errs),
        ("apps", "ReplicaSet") => workloads::validate_replicaset(obj, &mut errs),
        ("apps", "DaemonSet") => controllers::validate_daemonset(obj, &mut errs),
        ("apps", "ControllerRevision") => controllers::validate_controller_revision(obj, &mut errs),
        ("", "ReplicationController") => {
            controllers::validate_replication_controller(obj, &mut errs)
        }
        ("policy", "PodDisruptionBudget") => {
            controllers::validate_pod_disruption_budget(obj, &mut errs)
        }
        ("networking.k8s.io", "NetworkPolicy") => {
            network_policy::validate_network_policy(obj, &mut errs)
        }
        ("batch", "Job") => batch::validate_job(obj, &mut errs),
        ("batch", "CronJob") => batch::validate_cronjob(obj, &mut errs),
        ("autoscaling", "HorizontalPodAutoscaler") => config::validate_hpa(obj, &mut errs),
        ("coordination.k8s.io", "Lease") => config::validate_lease(obj, &mut errs),
        ("discovery.k8s.io", "EndpointSlice") => config::validate_endpointslice(obj, &mut errs),
        (crate::rbac::GROUP, "Role") => rbac::validate_role(obj, &mut errs),
        (crate::rbac::GROUP, "ClusterRole") => rbac::validate_cluster_role(obj, &mut errs),
        (crate::rbac::GROUP, "RoleBinding") => rbac::validate_role_binding(obj, &mut errs),
        (crate::rbac::GROUP, "ClusterRoleBinding") => {
            rbac::validate_cluster_role_binding(obj, &mut errs)
        }
        _ => {}
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// Validates an update: everything [`validate_create`] checks on `new`, plus what may not
/// change (name, namespace, uid; a pod's spec except images, activeDeadlineSeconds, added
/// tolerations and a first nodeName; workload selectors; a Job's template; a ControllerRevision's data; a Service's
/// clusterIP once set; the data of an immutable ConfigMap or Secret; a Secret's type).
///
/// The server should first copy allocated values the client may omit (uid, clusterIP,
/// nodePorts) from `old` into `new`, as kube-apiserver does.
pub fn validate_update(
    info: &ResourceInfo,
    old: &Value,
    new: &Value,
) -> Result<(), Vec<FieldError>> {
    let mut errs = validate_create(info, new).err().unwrap_or_default();
    update::validate_transition(info, old, new, &mut errs);
    if matches!(info.kind, "RoleBinding" | "ClusterRoleBinding") {
        rbac::validate_binding_update(old, new, &mut errs);
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

pub use controllers::TEMPLATE_GENERATION;

/// Keeps a DaemonSet's `deprecated.daemonset.template.generation` annotation as kube-apiserver
/// does: 1 on create, one more on each update that changes `spec.template` (`old` is the stored
/// object, `None` on create). Call after defaulting (so a defaulted template compares equal).
pub fn stamp_template_generation(old: Option<&Value>, new: &mut Value) {
    controllers::stamp_template_generation(old, new);
}

/// The label that ties a Job to its pods: its `spec.selector.matchLabels` when the server
/// generates the selector (`manualSelector` unset).
pub fn job_selector_labels(uid: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(JOB_CONTROLLER_UID.to_owned(), uid.to_owned())])
}

const JOB_CONTROLLER_UID: &str = "batch.kubernetes.io/controller-uid";
const JOB_NAME: &str = "batch.kubernetes.io/job-name";

/// What kube-apiserver does to a new Job without `manualSelector: true`: sets
/// `spec.selector.matchLabels` to [`job_selector_labels`] and adds the controller-uid and
/// job-name labels (current and legacy spellings) to the pod template. Call before validating.
pub fn apply_job_selector(obj: &mut Value, uid: &str) {
    if obj.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let Some(spec) = defaults::object(obj, "spec") else {
        return;
    };
    if spec.get("selector").is_none_or(Value::is_null) {
        spec["selector"] = serde_json::json!({ "matchLabels": job_selector_labels(uid) });
    }
    let labels = defaults::object(spec, "template")
        .and_then(|t| defaults::object(t, "metadata"))
        .and_then(|m| defaults::object(m, "labels"));
    if let Some(labels) = labels.and_then(Value::as_object_mut) {
        for (k, v) in [
            (JOB_CONTROLLER_UID, uid),
            (JOB_NAME, name.as_str()),
            ("controller-uid", uid),
            ("job-name", name.as_str()),
        ] {
            labels.entry(k).or_insert_with(|| v.into());
        }
    }
}
