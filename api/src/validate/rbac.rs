//! Rules for RBAC objects (Kubernetes' `pkg/apis/rbac/validation`): every rule has verbs, and
//! resources and API groups or non-resource URLs (never both; never URLs in a Role); a
//! binding's `roleRef` names a Role or ClusterRole of the RBAC group and never changes; its
//! subjects are Users, Groups or ServiceAccounts with names (and a namespace for
//! ServiceAccounts bound cluster-wide). Role names are path segments, so `system:x` is valid.

use serde_json::Value;

use super::field::{child, index, invalid, list_of, required, required_because, str_of};
use super::field::{immutable, unsupported};
use crate::rbac::GROUP;
use crate::status::FieldError;

/// Errors of a name that must be a path segment (Kubernetes' `ValidatePathSegmentName`).
pub(crate) fn path_segment_name(name: &str) -> Vec<String> {
    if name == "." || name == ".." {
        return vec![format!("may not be '{name}'")];
    }
    ["/", "%"]
        .iter()
        .filter(|bad| name.contains(**bad))
        .map(|bad| format!("may not contain '{bad}'"))
        .collect()
}

fn validate_rules(obj: &Value, namespaced: bool, errs: &mut Vec<FieldError>) {
    for (i, rule) in list_of(obj, "rules").iter().enumerate() {
        let path = index("rules", i);
        if list_of(rule, "verbs").is_empty() {
            errs.push(required_because(
                child(&path, "verbs"),
                "verbs must contain at least one value",
            ));
        }
        let urls = rule.get("nonResourceURLs").unwrap_or(&Value::Null);
        if !list_of(rule, "nonResourceURLs").is_empty() {
            if namespaced {
                errs.push(invalid(
                    child(&path, "nonResourceURLs"),
                    urls,
                    "namespaced rules cannot apply to non-resource URLs",
                ));
            }
            let resourceful = ["apiGroups", "resources", "resourceNames"]
                .iter()
                .any(|f| !list_of(rule, f).is_empty());
            if resourceful {
                errs.push(invalid(
                    child(&path, "nonResourceURLs"),
                    urls,
                    "rules cannot apply to both regular resources and non-resource URLs",
                ));
            }
            continue;
        }
        if list_of(rule, "apiGroups").is_empty() {
            errs.push(required_because(
                child(&path, "apiGroups"),
                "resource rules must supply at least one api group",
            ));
        }
        if list_of(rule, "resources").is_empty() {
            errs.push(required_because(
                child(&path, "resources"),
                "resource rules must supply at least one resource",
            ));
        }
    }
}

pub(crate) fn validate_role(obj: &Value, errs: &mut Vec<FieldError>) {
    validate_rules(obj, true, errs);
}

pub(crate) fn validate_cluster_role(obj: &Value, errs: &mut Vec<FieldError>) {
    validate_rules(obj, false, errs);
}

fn validate_role_ref(obj: &Value, namespaced: bool, errs: &mut Vec<FieldError>) {
    let Some(role_ref) = obj.get("roleRef").filter(|r| r.is_object()) else {
        errs.push(required("roleRef"));
        return;
    };
    let group = role_ref.get("apiGroup").unwrap_or(&Value::Null);
    if str_of(role_ref, "apiGroup") != Some(GROUP) {
        errs.push(unsupported("roleRef.apiGroup", group, &[GROUP]));
    }
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    let kind = role_ref.get("kind").unwrap_or(&Value::Null);
    if !kind.as_str().is_some_and(|k| kinds.contains(&k)) {
        errs.push(unsupported("roleRef.kind", kind, kinds));
    }
    match str_of(role_ref, "name").filter(|n| !n.is_empty()) {
        None => errs.push(required("roleRef.name")),
        Some(name) => {
            for m in path_segment_name(name) {
                errs.push(invalid("roleRef.name", &role_ref["name"], &m));
            }
        }
    }
}

fn validate_subject(subject: &Value, path: &str, namespaced: bool, errs: &mut Vec<FieldError>) {
    let kind = subject.get("kind").unwrap_or(&Value::Null);
    if str_of(subject, "name").is_none_or(str::is_empty) {
        errs.push(required(child(path, "name")));
    }
    let group = subject.get("apiGroup").unwrap_or(&Value::Null);
    let group_str = str_of(subject, "apiGroup").unwrap_or("");
    match kind.as_str() {
        Some("ServiceAccount") => {
            if !group_str.is_empty() {
                errs.push(unsupported(child(path, "apiGroup"), group, &[""]));
            }
            if !namespaced && str_of(subject, "namespace").is_none_or(str::is_empty) {
                errs.push(required(child(path, "namespace")));
            }
        }
        Some("User" | "Group") => {
            if group_str != GROUP {
                errs.push(unsupported(child(path, "apiGroup"), group, &[GROUP]));
            }
        }
        _ => errs.push(unsupported(
            child(path, "kind"),
            kind,
            &["ServiceAccount", "User", "Group"],
        )),
    }
}

fn validate_binding(obj: &Value, namespaced: bool, errs: &mut Vec<FieldError>) {
    validate_role_ref(obj, namespaced, errs);
    for (i, subject) in list_of(obj, "subjects").iter().enumerate() {
        validate_subject(subject, &index("subjects", i), namespaced, errs);
    }
}

pub(crate) fn validate_role_binding(obj: &Value, errs: &mut Vec<FieldError>) {
    validate_binding(obj, true, errs);
}

pub(crate) fn validate_cluster_role_binding(obj: &Value, errs: &mut Vec<FieldError>) {
    validate_binding(obj, false, errs);
}

/// A binding's `roleRef` never changes (delete and re-create the binding instead).
pub(crate) fn validate_binding_update(old: &Value, new: &Value, errs: &mut Vec<FieldError>) {
    if old.get("roleRef") != new.get("roleRef") {
        let mut e = immutable("roleRef", new.get("roleRef").unwrap_or(&Value::Null));
        e.message = e
            .message
            .replace("field is immutable", "cannot change roleRef");
        errs.push(e);
    }
}
