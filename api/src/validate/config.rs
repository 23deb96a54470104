//! Rules for the other kinds: ConfigMap and Secret keys and sizes, Secret types' required
//! keys, Namespace finalizers, HorizontalPodAutoscaler replica bounds and metrics, Lease
//! durations, Endpoints and EndpointSlice ports.

use serde_json::Value;

use super::container::{PROTOCOLS, check_port};
use super::field::{
    check_enum, check_min, child, index, int_of, invalid, invalid_str, key, list_of, map_of,
    present, required, str_of, too_long,
};
use super::names;
use crate::status::FieldError;

/// The largest total size of a ConfigMap's or Secret's data.
const DATA_MAX_BYTES: usize = 1024 * 1024;

/// Keys of `data` and `binaryData` (ConfigMap) or `data` and `stringData` (Secret).
fn validate_data_keys(obj: &Value, maps: [&str; 2], errs: &mut Vec<FieldError>) -> usize {
    let mut total = 0;
    for map in maps {
        for (k, v) in map_of(obj, map) {
            total += k.len() + v.as_str().map_or(0, str::len);
            for m in names::config_key(k) {
                errs.push(invalid_str(key(map, k), k, &m));
            }
        }
    }
    total
}

pub(crate) fn validate_configmap(obj: &Value, errs: &mut Vec<FieldError>) {
    let total = validate_data_keys(obj, ["data", "binaryData"], errs);
    for (k, _) in map_of(obj, "data") {
        if obj.get("binaryData").and_then(|b| b.get(k)).is_some() {
            errs.push(invalid_str(
                key("data", k),
                k,
                "duplicate of key present in binaryData",
            ));
        }
    }
    if total > DATA_MAX_BYTES {
        errs.push(too_long("", DATA_MAX_BYTES));
    }
}

pub(crate) fn validate_secret(obj: &Value, errs: &mut Vec<FieldError>) {
    let total = validate_data_keys(obj, ["data", "stringData"], errs);
    if total > DATA_MAX_BYTES {
        errs.push(too_long("data", DATA_MAX_BYTES));
    }
    let has = |k: &str| {
        ["data", "stringData"]
            .iter()
            .any(|m| obj.get(*m).and_then(|d| d.get(k)).is_some())
    };
    let needed: &[&str] = match str_of(obj, "type").unwrap_or("Opaque") {
        "kubernetes.io/tls" => &["tls.crt", "tls.key"],
        "kubernetes.io/dockerconfigjson" => &[".dockerconfigjson"],
        "kubernetes.io/dockercfg" => &[".dockercfg"],
        "kubernetes.io/basic-auth" => &[],
        "kubernetes.io/ssh-auth" => &["ssh-privatekey"],
        _ => &[],
    };
    for k in needed.iter().filter(|k| !has(k)) {
        errs.push(required(key("data", k)));
    }
}

pub(crate) fn validate_namespace(obj: &Value, errs: &mut Vec<FieldError>) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    for (i, f) in list_of(spec, "finalizers").iter().enumerate() {
        let s = f.as_str().unwrap_or("");
        for m in names::qualified_name(s) {
            errs.push(invalid_str(index("spec.finalizers", i), s, &m));
        }
    }
}

pub(crate) fn validate_lease(obj: &Value, errs: &mut Vec<FieldError>) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    check_min(errs, spec, "spec", "leaseDurationSeconds", 1);
    check_min(errs, spec, "spec", "leaseTransitions", 0);
}

pub(crate) fn validate_endpointslice(obj: &Value, errs: &mut Vec<FieldError>) {
    match present(obj, "addressType") {
        None => errs.push(required("addressType")),
        Some(_) => check_enum(errs, obj, "", "addressType", &["IPv4", "IPv6", "FQDN"]),
    }
    for (i, e) in list_of(obj, "endpoints").iter().enumerate() {
        if list_of(e, "addresses").is_empty() {
            errs.push(required(format!("{}.addresses", index("endpoints", i))));
        }
    }
    for (i, p) in list_of(obj, "ports").iter().enumerate() {
        let path = index("ports", i);
        check_port(errs, p, &path, "port");
        check_enum(errs, p, &path, "protocol", PROTOCOLS);
    }
}

pub(crate) fn validate_endpoints(obj: &Value, errs: &mut Vec<FieldError>) {
    for (i, subset) in list_of(obj, "subsets").iter().enumerate() {
        for (j, p) in list_of(subset, "ports").iter().enumerate() {
            let path = index(&format!("{}.ports", index("subsets", i)), j);
            check_port(errs, p, &path, "port");
            check_enum(errs, p, &path, "protocol", PROTOCOLS);
        }
    }
}

pub(crate) fn validate_hpa(obj: &Value, errs: &mut Vec<FieldError>) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    check_min(errs, spec, "spec", "minReplicas", 1);
    match present(spec, "maxReplicas") {
        None => errs.push(required("spec.maxReplicas")),
        Some(max) => {
            let n = max.as_i64().unwrap_or(0);
            if n < 1 {
                errs.push(invalid(
                    "spec.maxReplicas",
                    max,
                    "must be greater than or equal to 1",
                ));
            } else if int_of(spec, "minReplicas").is_some_and(|min| n < min) {
                errs.push(invalid(
                    "spec.maxReplicas",
                    max,
                    "must be greater than or equal to `minReplicas`",
                ));
            }
        }
    }
    let target = spec.get("scaleTargetRef").unwrap_or(&Value::Null);
    for f in ["kind", "name"] {
        if str_of(target, f).unwrap_or("").is_empty() {
            errs.push(required(child("spec.scaleTargetRef", f)));
        }
    }
    for (i, m) in list_of(spec, "metrics").iter().enumerate() {
        let p = index("spec.metrics", i);
        match present(m, "type") {
            None => errs.push(required(child(&p, "type"))),
            Some(_) => check_enum(
                errs,
                m,
                &p,
                "type",
                &[
                    "ContainerResource",
                    "External",
                    "Object",
                    "Pods",
                    "Resource",
                ],
            ),
        }
        if let Some(target) = m.pointer("/resource/target") {
            check_enum(
                errs,
                target,
                &child(&p, "resource.target"),
                "type",
                &["AverageValue", "Utilization", "Value"],
            );
        }
    }
}
