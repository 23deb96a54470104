//! What an update may not change: metadata identity (name, namespace, uid), the pod spec
//! except its mutable bits, workload selectors (not a ReplicationController's), a
//! ControllerRevision's data, a Job's template, a Service's cluster IP, the
//! data of immutable ConfigMaps and Secrets, a Secret's type.

use serde_json::Value;

use super::field::{forbidden, immutable, present, str_of};
use crate::resources::ResourceInfo;
use crate::status::FieldError;

const POD_UPDATE_MSG: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// The rules only an update has (`validate_update` adds `validate_create`'s on `new`).
pub(crate) fn validate_transition(
    info: &ResourceInfo,
    old: &Value,
    new: &Value,
    errs: &mut Vec<FieldError>,
) {
    let null = Value::Null;
    check_identity(old, new, errs);
    let at = |v: &'static str, obj: &Value| obj.pointer(v).cloned().unwrap_or(Value::Null);
    let same = |p: &'static str| at(p, old) == at(p, new);
    let mut frozen = |p: &'static str, field: &'static str| {
        if !same(p) {
            errs.push(immutable(field, &at(p, new)));
        }
    };
    match (info.group, info.kind) {
        ("", "Pod")
            if !pod_spec_update_allowed(
                old.get("spec").unwrap_or(&null),
                new.get("spec").unwrap_or(&null),
            ) =>
        {
            errs.push(forbidden("spec", POD_UPDATE_MSG));
        }
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet") => {
            frozen("/spec/selector", "spec.selector")
        }
        ("apps", "ControllerRevision") => frozen("/data", "data"),
        ("batch", "Job") => {
            frozen("/spec/selector", "spec.selector");
            frozen("/spec/template", "spec.template");
            frozen("/spec/completionMode", "spec.completionMode");
        }
        ("", "Service") => check_cluster_ip_kept(old, new, errs),
        ("", "ConfigMap" | "Secret") => check_immutable_data(info.kind, old, new, errs),
        _ => {}
    }
}

/// Name, namespace and uid never change (an empty new uid is filled in from the old one).
fn check_identity(old: &Value, new: &Value, errs: &mut Vec<FieldError>) {
    let null = Value::Null;
    let old_meta = old.get("metadata").unwrap_or(&null);
    let new_meta = new.get("metadata").unwrap_or(&null);
    for f in ["name", "namespace", "uid"] {
        let (o, n) = (
            str_of(old_meta, f).unwrap_or(""),
            str_of(new_meta, f).unwrap_or(""),
        );
        if o != n && !(f == "uid" && n.is_empty()) {
            errs.push(immutable(
                format!("metadata.{f}"),
                &Value::String(n.to_owned()),
            ));
        }
    }
}

/// A Service keeps its cluster IP unless it turns into an ExternalName Service.
fn check_cluster_ip_kept(old: &Value, new: &Value, errs: &mut Vec<FieldError>) {
    let null = Value::Null;
    let old_ip = str_of(old.get("spec").unwrap_or(&null), "clusterIP").unwrap_or("");
    let spec = new.get("spec").unwrap_or(&null);
    let new_ip = str_of(spec, "clusterIP").unwrap_or("");
    let to_external = str_of(spec, "type") == Some("ExternalName");
    if !old_ip.is_empty() && !new_ip.is_empty() && old_ip != new_ip && !to_external {
        errs.push(immutable(
            "spec.clusterIP",
            &Value::String(new_ip.to_owned()),
        ));
    }
}

/// An immutable ConfigMap's or Secret's data stays; a Secret's type never changes.
fn check_immutable_data(kind: &str, old: &Value, new: &Value, errs: &mut Vec<FieldError>) {
    if old.get("immutable").and_then(Value::as_bool) == Some(true) {
        let msg = "field is immutable when `immutable` is set";
        if new.get("immutable").and_then(Value::as_bool) != Some(true) {
            errs.push(forbidden("immutable", msg));
        }
        for f in ["data", "binaryData", "stringData"] {
            let (o, n) = (present(old, f), present(new, f));
            if o != n && !(f == "stringData" && n.is_none()) {
                errs.push(forbidden(f, msg));
            }
        }
    }
    if kind == "Secret" {
        let ty = |o: &Value| str_of(o, "type").unwrap_or("Opaque").to_owned();
        if ty(old) != ty(new) {
            errs.push(immutable("type", &Value::String(ty(new))));
        }
    }
}

/// Whether a pod's spec changed only where Kubernetes allows (see `POD_UPDATE_MSG`).
fn pod_spec_update_allowed(old: &Value, new: &Value) -> bool {
    let (mut old, mut new) = (old.clone(), new.clone());
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        for spec in [&mut old, &mut new] {
            if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
                for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                    c.remove("image");
                }
            }
        }
    }
    let tolerations_ok = {
        let key = |t: &Value| {
            let mut t = t.clone();
            if let Some(m) = t.as_object_mut() {
                m.remove("tolerationSeconds");
            }
            t
        };
        let old_t: Vec<Value> = super::field::list_of(&old, "tolerations")
            .iter()
            .map(key)
            .collect();
        let new_t: Vec<Value> = super::field::list_of(&new, "tolerations")
            .iter()
            .map(key)
            .collect();
        old_t.iter().all(|t| new_t.contains(t))
    };
    let old_grace = old
        .get("terminationGracePeriodSeconds")
        .and_then(Value::as_i64);
    let old_node_empty = str_of(&old, "nodeName").unwrap_or("").is_empty();
    let old_gates = super::field::list_of(&old, "schedulingGates").to_vec();
    let gates_removed = super::field::list_of(&new, "schedulingGates")
        .iter()
        .all(|g| old_gates.contains(g));
    for spec in [&mut old, &mut new] {
        if let Some(m) = spec.as_object_mut() {
            m.remove("activeDeadlineSeconds");
            m.remove("tolerations");
            if old_grace.is_some_and(|g| g < 0) {
                m.remove("terminationGracePeriodSeconds");
            }
            // Binding a pod sets nodeName once; skiff lets an update do it too.
            if old_node_empty {
                m.remove("nodeName");
            }
            if gates_removed {
                m.remove("schedulingGates");
            }
        }
    }
    tolerations_ok && old == new
}
