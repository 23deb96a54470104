//! Object metadata rules (name or generateName, namespace, labels, annotations, owner
//! references) and label selectors (their syntax, and whether one matches a template's labels).

use serde_json::Value;

use super::field::{
    child, forbidden, index, invalid, invalid_str, key, list_of, map_of, required,
    required_because, str_of, too_long, unsupported,
};
use super::names;
use crate::resources::ResourceInfo;
use crate::status::FieldError;

/// Total size of a `metadata.annotations` map that kube-apiserver accepts.
const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

/// `metadata` of a stored object (not of a template).
pub(crate) fn validate_object_meta(info: &ResourceInfo, obj: &Value, errs: &mut Vec<FieldError>) {
    let meta = obj.get("metadata").unwrap_or(&Value::Null);
    let name = str_of(meta, "name").unwrap_or("");
    let generate = str_of(meta, "generateName").unwrap_or("");
    if name.is_empty() {
        if generate.is_empty() {
            errs.push(required_because(
                "metadata.name",
                "name or generateName is required",
            ));
        }
    } else {
        errs.extend(super::validate_name(info, name));
    }
    if !generate.is_empty() {
        // A prefix: the random suffix makes a trailing '-' legal.
        let prefix = generate.trim_end_matches('-');
        let check = if prefix.is_empty() { "a" } else { prefix };
        for m in name_rule(info)(check) {
            errs.push(invalid_str("metadata.generateName", generate, &m));
        }
    }
    let namespace = str_of(meta, "namespace").unwrap_or("");
    if info.namespaced {
        for m in names::dns1123_label(namespace)
            .into_iter()
            .filter(|_| !namespace.is_empty())
        {
            errs.push(invalid_str("metadata.namespace", namespace, &m));
        }
    } else if !namespace.is_empty() {
        errs.push(forbidden("metadata.namespace", "not allowed on this type"));
    }
    validate_meta_maps(meta, "metadata", errs);
    for (i, f) in list_of(meta, "finalizers").iter().enumerate() {
        let path = index("metadata.finalizers", i);
        for m in names::qualified_name(f.as_str().unwrap_or("")) {
            errs.push(invalid(path.clone(), f, &m));
        }
    }
    for (i, owner) in list_of(meta, "ownerReferences").iter().enumerate() {
        let path = index("metadata.ownerReferences", i);
        for field in ["apiVersion", "kind", "name", "uid"] {
            if str_of(owner, field).unwrap_or("").is_empty() {
                errs.push(required(child(&path, field)));
            }
        }
    }
}

fn name_rule(info: &ResourceInfo) -> fn(&str) -> Vec<String> {
    match info.kind {
        "Namespace" => names::dns1123_label,
        "Service" => names::dns1035_label,
        _ => names::dns1123_subdomain,
    }
}

/// Labels and annotations of `meta` (an object's or a template's metadata at `path`).
pub(crate) fn validate_meta_maps(meta: &Value, path: &str, errs: &mut Vec<FieldError>) {
    validate_labels(meta.get("labels"), &child(path, "labels"), errs);
    let annotations = child(path, "annotations");
    let mut total = 0;
    for (k, v) in map_of(meta, "annotations") {
        total += k.len() + v.as_str().map_or(0, str::len);
        for m in names::qualified_name(&k.to_ascii_lowercase()) {
            errs.push(invalid_str(annotations.clone(), k, &m));
        }
    }
    if total > ANNOTATIONS_MAX_BYTES {
        errs.push(too_long(annotations, ANNOTATIONS_MAX_BYTES));
    }
}

/// A label map (labels, nodeSelector, a selector's matchLabels, a service's selector).
pub(crate) fn validate_labels(labels: Option<&Value>, path: &str, errs: &mut Vec<FieldError>) {
    let Some(map) = labels.and_then(Value::as_object) else {
        return;
    };
    for (k, v) in map {
        for m in names::qualified_name(k) {
            errs.push(invalid_str(path, k, &m));
        }
        for m in names::label_value(v.as_str().unwrap_or("")) {
            errs.push(invalid(key(path, k), v, &m));
        }
    }
}

const OPERATORS: &[&str] = &["In", "NotIn", "Exists", "DoesNotExist"];

/// A `LabelSelector`'s syntax.
pub(crate) fn validate_selector(sel: &Value, path: &str, errs: &mut Vec<FieldError>) {
    validate_labels(sel.get("matchLabels"), &child(path, "matchLabels"), errs);
    for (i, expr) in list_of(sel, "matchExpressions").iter().enumerate() {
        let p = index(&child(path, "matchExpressions"), i);
        let k = str_of(expr, "key").unwrap_or("");
        for m in names::qualified_name(k) {
            errs.push(invalid_str(child(&p, "key"), k, &m));
        }
        let op = expr.get("operator").unwrap_or(&Value::Null);
        let values = list_of(expr, "values");
        match op.as_str() {
            Some("In" | "NotIn") if values.is_empty() => errs.push(required_because(
                child(&p, "values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            Some("Exists" | "DoesNotExist") if !values.is_empty() => errs.push(forbidden(
                child(&p, "values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            Some(o) if OPERATORS.contains(&o) => {}
            _ => errs.push(unsupported(child(&p, "operator"), op, OPERATORS)),
        }
    }
}

/// A selector with neither matchLabels nor matchExpressions (which selects everything).
pub(crate) fn selector_is_empty(sel: &Value) -> bool {
    map_of(sel, "matchLabels").next().is_none() && list_of(sel, "matchExpressions").is_empty()
}

/// Whether `sel` selects an object with `labels`.
pub(crate) fn selector_matches(sel: &Value, labels: &Value) -> bool {
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let labels_ok = map_of(sel, "matchLabels").all(|(k, v)| label(k) == v.as_str());
    labels_ok
        && list_of(sel, "matchExpressions").iter().all(|expr| {
            let found = label(str_of(expr, "key").unwrap_or(""));
            let listed = |l: &str| {
                list_of(expr, "values")
                    .iter()
                    .any(|v| v.as_str() == Some(l))
            };
            match str_of(expr, "operator") {
                Some("In") => found.is_some_and(listed),
                Some("NotIn") => !found.is_some_and(listed),
                Some("Exists") => found.is_some(),
                Some("DoesNotExist") => found.is_none(),
                _ => false,
            }
        })
}
