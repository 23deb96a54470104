//! Pod spec rules (for pods and for the templates of workloads): containers present with
//! unique names, volumes named uniquely with one source each, restart and DNS policies,
//! deadlines, node selector, tolerations, and each container's own rules.

use std::collections::HashSet;

use serde_json::Value;

use super::container::validate_container;
use super::field::{
    check_enum, check_min, child, duplicate, forbidden, index, invalid, invalid_str, list_of,
    present, required, required_because, str_of, unsupported,
};
use super::meta::{validate_labels, validate_meta_maps};
use super::names;
use crate::status::FieldError;

pub(crate) const RESTART_POLICIES: &[&str] = &["Always", "OnFailure", "Never"];

/// A pod template (`spec.template` of a workload): its labels/annotations and pod spec.
pub(crate) fn validate_template(tpl: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if !tpl.is_object() {
        errs.push(required(path));
        return;
    }
    if let Some(meta) = present(tpl, "metadata") {
        validate_meta_maps(meta, &child(path, "metadata"), errs);
    }
    match present(tpl, "spec") {
        Some(spec) => validate_pod_spec(spec, &child(path, "spec"), errs),
        None => errs.push(required(child(path, "spec.containers"))),
    }
}

/// A pod spec at `path` (`spec`, `spec.template.spec`).
pub(crate) fn validate_pod_spec(spec: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let volumes = validate_volumes(spec, path, errs);
    let containers = list_of(spec, "containers");
    if containers.is_empty() {
        errs.push(required(child(path, "containers")));
    }
    validate_containers(spec, path, &volumes, errs);
    match present(spec, "restartPolicy") {
        None => errs.push(required(child(path, "restartPolicy"))),
        Some(_) => check_enum(errs, spec, path, "restartPolicy", RESTART_POLICIES),
    }
    check_enum(
        errs,
        spec,
        path,
        "dnsPolicy",
        &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
    );
    check_min(errs, spec, path, "terminationGracePeriodSeconds", 0);
    if let Some(v) = present(spec, "activeDeadlineSeconds")
        && !v
            .as_i64()
            .is_some_and(|d| (1..=i64::from(i32::MAX)).contains(&d))
    {
        errs.push(invalid(
            child(path, "activeDeadlineSeconds"),
            v,
            "must be between 1 and 2147483647, inclusive",
        ));
    }
    validate_labels(spec.get("nodeSelector"), &child(path, "nodeSelector"), errs);
    for field in ["hostname", "subdomain"] {
        if let Some(h) = str_of(spec, field).filter(|h| !h.is_empty()) {
            for m in names::dns1123_label(h) {
                errs.push(invalid_str(child(path, field), h, &m));
            }
        }
    }
    if let Some(sa) = str_of(spec, "serviceAccountName").filter(|s| !s.is_empty()) {
        for m in names::dns1123_subdomain(sa) {
            errs.push(invalid_str(child(path, "serviceAccountName"), sa, &m));
        }
    }
    validate_tolerations(spec, path, errs);
}

/// Init and app containers: each valid, names unique across both lists, and `restartPolicy`
/// only on init containers (sidecars), where it can only be `Always`.
fn validate_containers(
    spec: &Value,
    path: &str,
    volumes: &HashSet<&str>,
    errs: &mut Vec<FieldError>,
) {
    let mut names_seen = HashSet::new();
    for list in ["initContainers", "containers"] {
        for (i, c) in list_of(spec, list).iter().enumerate() {
            let p = index(&child(path, list), i);
            validate_container(c, &p, volumes, errs);
            if let Some(n) = str_of(c, "name").filter(|n| !n.is_empty())
                && !names_seen.insert(n)
            {
                errs.push(duplicate(child(&p, "name"), &Value::String(n.to_owned())));
            }
            if let Some(rp) = present(c, "restartPolicy") {
                if list == "containers" {
                    errs.push(forbidden(
                        child(&p, "restartPolicy"),
                        "may not be set for non-init containers",
                    ));
                } else if rp.as_str() != Some("Always") {
                    errs.push(unsupported(child(&p, "restartPolicy"), rp, &["Always"]));
                }
            }
        }
    }
}

/// Volume names (unique DNS-1123 labels, one source each); returns the names for mounts.
fn validate_volumes<'a>(
    spec: &'a Value,
    path: &str,
    errs: &mut Vec<FieldError>,
) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    for (i, vol) in list_of(spec, "volumes").iter().enumerate() {
        let p = index(&child(path, "volumes"), i);
        match str_of(vol, "name").unwrap_or("") {
            "" => errs.push(required(child(&p, "name"))),
            n => {
                for m in names::dns1123_label(n) {
                    errs.push(invalid_str(child(&p, "name"), n, &m));
                }
                if !seen.insert(n) {
                    errs.push(duplicate(child(&p, "name"), &Value::String(n.to_owned())));
                }
            }
        }
        let sources = vol.as_object().map_or(0, |m| {
            m.iter()
                .filter(|(k, v)| *k != "name" && !v.is_null())
                .count()
        });
        match sources {
            0 => errs.push(required_because(p, "must specify a volume type")),
            1 => {}
            _ => errs.push(forbidden(p, "may not specify more than 1 volume type")),
        }
    }
    seen
}

fn validate_tolerations(spec: &Value, path: &str, errs: &mut Vec<FieldError>) {
    for (i, t) in list_of(spec, "tolerations").iter().enumerate() {
        let p = index(&child(path, "tolerations"), i);
        if let Some(k) = str_of(t, "key").filter(|k| !k.is_empty()) {
            for m in names::qualified_name(k) {
                errs.push(invalid_str(child(&p, "key"), k, &m));
            }
        } else if str_of(t, "operator") != Some("Exists") {
            errs.push(invalid(
                child(&p, "operator"),
                t.get("operator").unwrap_or(&Value::Null),
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        check_enum(errs, t, &p, "operator", &["Equal", "Exists"]);
        if str_of(t, "operator") == Some("Exists") && !str_of(t, "value").unwrap_or("").is_empty() {
            errs.push(invalid(
                child(&p, "operator"),
                t.get("value").unwrap_or(&Value::Null),
                "value must be empty when `operator` is 'Exists'",
            ));
        }
        check_enum(
            errs,
            t,
            &p,
            "effect",
            &["NoSchedule", "PreferNoSchedule", "NoExecute"],
        );
    }
}
