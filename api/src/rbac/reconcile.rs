//! Reconciling a stored default role or binding with the one this version would create, as
//! kube-apiserver does at every start (`pkg/registry/rbac/reconciliation`, called by
//! `storage_rbac.go`'s `ensureRBACPolicy` with union semantics): an object annotated
//! `rbac.authorization.kubernetes.io/autoupdate: "false"` is left alone; otherwise the
//! expected labels and annotations are added where missing, a role gets the rules it lacks
//! (as `covers` breaks them down) and the aggregation selectors it lacks (and loses an
//! aggregation the default does not have), and a binding gets the subjects it lacks; a binding
//! whose `roleRef` differs is recreated (a roleRef cannot be updated). Nothing the cluster
//! added is removed.

use serde_json::{Map, Value};

use super::{PolicyRule, covers};

/// The annotation that lets an administrator keep a default object as they changed it.
pub const AUTOUPDATE: &str = "rbac.authorization.kubernetes.io/autoupdate";

/// What to do with one stored default object.
#[derive(Clone, Debug, PartialEq)]
pub enum Reconciled {
    /// It already holds everything the default has.
    Unchanged,
    /// Annotated `autoupdate: "false"`: left as the administrator made it.
    Protected,
    /// Store this in its place (the stored object with what it lacked added).
    Update(Value),
    /// Delete it and create this (a binding to another role).
    Recreate(Value),
}

/// Compares the stored `existing` object with the `expected` default of the same name
/// (ClusterRole, Role, ClusterRoleBinding or RoleBinding, told by `expected`'s `kind`).
pub fn reconcile_default(expected: &Value, existing: &Value) -> Reconciled {
    if existing["metadata"]["annotations"][AUTOUPDATE].as_str() == Some("false") {
        return Reconciled::Protected;
    }
    let mut result = existing.clone();
    for field in ["labels", "annotations"] {
        add_missing_entries(&mut result["metadata"], field, &expected["metadata"][field]);
    }
    let recreate = match expected["kind"].as_str() {
        Some("ClusterRole" | "Role") => {
            add_missing_rules(&mut result, expected);
            add_missing_selectors(&mut result, expected);
            false
        }
        Some("ClusterRoleBinding" | "RoleBinding") => {
            add_missing_subjects(&mut result, expected);
            result["roleRef"] != expected["roleRef"]
        }
        _ => false,
    };
    if recreate {
        result["roleRef"] = expected["roleRef"].clone();
        if let Some(meta) = result["metadata"].as_object_mut() {
            meta.retain(|k, _| {
                matches!(k.as_str(), "name" | "namespace" | "labels" | "annotations")
            });
        }
        Reconciled::Recreate(result)
    } else if result == *existing {
        Reconciled::Unchanged
    } else {
        Reconciled::Update(result)
    }
}

/// `merge(expected, existing)`: keys of `expected` absent from `meta[field]` are added; the
/// stored values win.
fn add_missing_entries(meta: &mut Value, field: &str, expected: &Value) {
    let Some(wanted) = expected.as_object().filter(|m| !m.is_empty()) else {
        return;
    };
    if !meta[field].is_object() {
        meta[field] = Value::Object(Map::new());
    }
    if let Some(have) = meta[field].as_object_mut() {
        for (k, v) in wanted {
            have.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

fn rules_of(obj: &Value) -> Vec<PolicyRule> {
    serde_json::from_value(obj["rules"].clone()).unwrap_or_default()
}

/// The expected rules the stored ones do not cover, appended (kube's `MissingRules`).
fn add_missing_rules(result: &mut Value, expected: &Value) {
    let Err(missing) = covers(&rules_of(result), &rules_of(expected)) else {
        return;
    };
    let mut rules = result["rules"].as_array().cloned().unwrap_or_default();
    rules.extend(missing.iter().filter_map(|r| serde_json::to_value(r).ok()));
    result["rules"] = Value::Array(rules);
}

/// The expected aggregation selectors not stored, appended; a stored aggregation the
/// default does not have is removed.
fn add_missing_selectors(result: &mut Value, expected: &Value) {
    let Some(wanted) = expected["aggregationRule"]["clusterRoleSelectors"].as_array() else {
        if let Some(obj) = result.as_object_mut() {
            obj.remove("aggregationRule");
        }
        return;
    };
    let mut have = result["aggregationRule"]["clusterRoleSelectors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let before = have.len();
    for selector in wanted {
        if !have.contains(selector) {
            have.push(selector.clone());
        }
    }
    if have.len() != before || !result["aggregationRule"].is_object() {
        result["aggregationRule"] = serde_json::json!({"clusterRoleSelectors": have});
    }
}

/// A subject's identity: kind, name and namespace (the API group is defaulted on store).
fn subject_key(s: &Value) -> (String, String, String) {
    let text = |f: &str| s[f].as_str().unwrap_or_default().to_owned();
    (text("kind"), text("name"), text("namespace"))
}

/// The expected subjects not stored, appended.
fn add_missing_subjects(result: &mut Value, expected: &Value) {
    let mut have = result["subjects"].as_array().cloned().unwrap_or_default();
    let before = have.len();
    for subject in expected["subjects"].as_array().into_iter().flatten() {
        let key = subject_key(subject);
        if !have.iter().any(|s| subject_key(s) == key) {
            have.push(subject.clone());
        }
    }
    if have.len() != before {
        result["subjects"] = Value::Array(have);
    }
}
