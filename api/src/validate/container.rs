//! Rules for one container of a pod spec: name, image, pull and termination-message policies,
//! ports, environment, resource quantities, volume mounts and probes.

use std::collections::HashSet;

use serde_json::Value;

use super::field::{
    check_enum, check_min, child, duplicate, forbidden, index, int_of, invalid, invalid_str, key,
    list_of, map_of, not_found, present, required, required_because, str_of,
};
use super::names;
use super::quantity::{QUANTITY_MSG, quantity_value};
use crate::status::FieldError;

pub(crate) const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const PORT_RANGE_MSG: &str = "must be between 1 and 65535, inclusive";

/// One container at `path` (`spec.containers[0]`); `volumes` are the pod's volume names.
pub(crate) fn validate_container(
    c: &Value,
    path: &str,
    volumes: &HashSet<&str>,
    errs: &mut Vec<FieldError>,
) {
    validate_name_and_image(c, path, errs);
    check_enum(
        errs,
        c,
        path,
        "imagePullPolicy",
        &["Always", "IfNotPresent", "Never"],
    );
    check_enum(
        errs,
        c,
        path,
        "terminationMessagePolicy",
        &["File", "FallbackToLogsOnError"],
    );
    validate_ports(c, path, errs);
    validate_env(c, path, errs);
    validate_resources(
        c.get("resources").unwrap_or(&Value::Null),
        &child(path, "resources"),
        errs,
    );
    validate_volume_mounts(c, path, volumes, errs);
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(pr) = present(c, probe) {
            validate_probe(pr, &child(path, probe), probe != "readinessProbe", errs);
        }
    }
}

/// A container's `name` (a DNS-1123 label) and `image` (set, no surrounding whitespace).
fn validate_name_and_image(c: &Value, path: &str, errs: &mut Vec<FieldError>) {
    match str_of(c, "name").unwrap_or("") {
        "" => errs.push(required(child(path, "name"))),
        name => {
            for m in names::dns1123_label(name) {
                errs.push(invalid_str(child(path, "name"), name, &m));
            }
        }
    }
    let image = str_of(c, "image").unwrap_or("");
    if image.is_empty() {
        errs.push(required(child(path, "image")));
    } else if image.trim() != image {
        errs.push(invalid_str(
            child(path, "image"),
            image,
            "must not have leading or trailing whitespace",
        ));
    }
}

/// `volumeMounts`: each names one of the pod's `volumes`, at a mount path of its own.
fn validate_volume_mounts(
    c: &Value,
    path: &str,
    volumes: &HashSet<&str>,
    errs: &mut Vec<FieldError>,
) {
    let mut mount_paths = HashSet::new();
    for (i, m) in list_of(c, "volumeMounts").iter().enumerate() {
        let p = index(&child(path, "volumeMounts"), i);
        match m.get("name").unwrap_or(&Value::Null) {
            Value::String(n) if !n.is_empty() => {
                if !volumes.contains(n.as_str()) {
                    errs.push(not_found(child(&p, "name"), &Value::String(n.clone())));
                }
            }
            _ => errs.push(required(child(&p, "name"))),
        }
        match m.get("mountPath").unwrap_or(&Value::Null) {
            Value::String(mp) if !mp.is_empty() => {
                if !mount_paths.insert(mp.as_str()) {
                    errs.push(invalid_str(child(&p, "mountPath"), mp, "must be unique"));
                }
            }
            _ => errs.push(required(child(&p, "mountPath"))),
        }
    }
}

/// A port number that must lie in 1..=65535.
pub(crate) fn check_port(errs: &mut Vec<FieldError>, obj: &Value, parent: &str, name: &str) {
    if let Some(v) = present(obj, name)
        && !v.as_i64().is_some_and(|p| (1..=65535).contains(&p))
    {
        errs.push(invalid(child(parent, name), v, PORT_RANGE_MSG));
    }
}

/// A port given by number (1..=65535) or by name (an IANA service name).
pub(crate) fn check_port_or_name(errs: &mut Vec<FieldError>, v: &Value, path: &str) {
    match v {
        Value::String(s) => {
            for m in names::port_name(s) {
                errs.push(invalid_str(path, s, &m));
            }
        }
        _ if v.as_i64().is_some_and(|p| (1..=65535).contains(&p)) => {}
        _ => errs.push(invalid(path, v, PORT_RANGE_MSG)),
    }
}

fn validate_ports(c: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let mut port_names = HashSet::new();
    for (i, port) in list_of(c, "ports").iter().enumerate() {
        let p = index(&child(path, "ports"), i);
        if present(port, "containerPort").is_none() {
            errs.push(required(child(&p, "containerPort")));
        }
        check_port(errs, port, &p, "containerPort");
        if int_of(port, "hostPort") != Some(0) {
            check_port(errs, port, &p, "hostPort");
        }
        if let Some(n) = str_of(port, "name").filter(|n| !n.is_empty()) {
            for m in names::port_name(n) {
                errs.push(invalid_str(child(&p, "name"), n, &m));
            }
            if !port_names.insert(n) {
                errs.push(duplicate(child(&p, "name"), &Value::String(n.to_owned())));
            }
        }
        check_enum(errs, port, &p, "protocol", PROTOCOLS);
    }
}

fn validate_env(c: &Value, path: &str, errs: &mut Vec<FieldError>) {
    for (i, e) in list_of(c, "env").iter().enumerate() {
        let p = index(&child(path, "env"), i);
        match str_of(e, "name").unwrap_or("") {
            "" => errs.push(required(child(&p, "name"))),
            n => {
                for m in names::env_var_name(n) {
                    errs.push(invalid_str(child(&p, "name"), n, &m));
                }
            }
        }
        if let Some(from) = present(e, "valueFrom") {
            if !str_of(e, "value").unwrap_or("").is_empty() {
                errs.push(invalid(
                    child(&p, "valueFrom"),
                    from,
                    "may not be specified when `value` is not empty",
                ));
            }
            let sources = from
                .as_object()
                .map_or(0, |m| m.values().filter(|v| !v.is_null()).count());
            if sources == 0 {
                errs.push(invalid(child(&p, "valueFrom"), from, "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
            } else if sources > 1 {
                errs.push(invalid(
                    child(&p, "valueFrom"),
                    from,
                    "may not have more than one field specified at a time",
                ));
            }
        }
    }
}

fn standard_resource(name: &str) -> bool {
    matches!(name, "cpu" | "memory" | "ephemeral-storage")
        || name.starts_with("hugepages-")
        || name.contains('/')
}

/// A container's `resources` (limits and requests) at `path`.
pub(crate) fn validate_resources(res: &Value, path: &str, errs: &mut Vec<FieldError>) {
    for list in ["limits", "requests"] {
        let lp = child(path, list);
        for (name, q) in map_of(res, list) {
            if !standard_resource(name) {
                errs.push(invalid_str(
                    key(&lp, name),
                    name,
                    "must be a standard resource for containers",
                ));
            }
            match quantity_value(q) {
                None => errs.push(invalid(key(&lp, name), q, QUANTITY_MSG)),
                Some(v) if v < 0.0 => {
                    errs.push(invalid(
                        key(&lp, name),
                        q,
                        "must be greater than or equal to 0",
                    ));
                }
                Some(_) => {}
            }
        }
    }
    for (name, req) in map_of(res, "requests") {
        let limit = res.get("limits").and_then(|l| l.get(name));
        if let (Some(r), Some(lv)) = (quantity_value(req), limit.and_then(quantity_value))
            && r > lv
        {
            let shown = limit.map_or_else(String::new, |l| match l {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            errs.push(invalid(
                key(&child(path, "requests"), name),
                req,
                &format!("must be less than or equal to {name} limit of {shown}"),
            ));
        }
    }
}

const HANDLERS: &[&str] = &["exec", "httpGet", "tcpSocket", "grpc"];

fn validate_probe(pr: &Value, path: &str, success_must_be_one: bool, errs: &mut Vec<FieldError>) {
    let handlers: Vec<&str> = HANDLERS
        .iter()
        .copied()
        .filter(|h| present(pr, h).is_some())
        .collect();
    match handlers.len() {
        0 => errs.push(required_because(path, "must specify a handler type")),
        1 => {}
        _ => errs.push(forbidden(
            child(path, handlers[1]),
            "may not specify more than 1 handler type",
        )),
    }
    for h in ["httpGet", "tcpSocket"] {
        if let Some(action) = present(pr, h) {
            let port = action.get("port").unwrap_or(&Value::Null);
            check_port_or_name(errs, port, &child(&child(path, h), "port"));
        }
    }
    for f in [
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ] {
        check_min(errs, pr, path, f, 0);
    }
    if success_must_be_one
        && let Some(v) = present(pr, "successThreshold")
        && v.as_i64() != Some(1)
    {
        errs.push(invalid(child(path, "successThreshold"), v, "must be 1"));
    }
}
