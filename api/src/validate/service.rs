//! Service rules: type, ports (numbers, names, protocols, node ports), cluster IP, selector,
//! session affinity, traffic policies and IP families.

use std::collections::HashSet;

use serde_json::Value;

use super::container::{PROTOCOLS, check_port, check_port_or_name};
use super::field::{
    check_enum, child, duplicate, forbidden, index, invalid, invalid_str, list_of, present,
    required, str_of,
};
use super::meta::validate_labels;
use super::names;
use crate::status::FieldError;

pub(crate) const SERVICE_TYPES: &[&str] =
    &["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
/// kube-apiserver's default `--service-node-port-range`.
pub const NODE_PORT_RANGE: std::ops::RangeInclusive<i64> = 30000..=32767;

pub(crate) fn validate_service(obj: &Value, errs: &mut Vec<FieldError>) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let ty = str_of(spec, "type").unwrap_or("ClusterIP");
    check_enum(errs, spec, "spec", "type", SERVICE_TYPES);
    let cluster_ip = str_of(spec, "clusterIP").unwrap_or("");
    let headless = cluster_ip == "None";
    check_cluster_ip(spec, ty, errs);
    let ports = list_of(spec, "ports");
    if ports.is_empty() && ty != "ExternalName" && !headless {
        errs.push(required("spec.ports"));
    }
    let mut port_names = HashSet::new();
    let mut seen = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = index("spec.ports", i);
        check_port_name(port, &p, ports.len(), &mut port_names, errs);
        if present(port, "port").is_none() {
            errs.push(required(child(&p, "port")));
        }
        check_port(errs, port, &p, "port");
        check_enum(errs, port, &p, "protocol", PROTOCOLS);
        let key = (
            port.get("port").cloned(),
            str_of(port, "protocol").unwrap_or("TCP"),
        );
        if !seen.insert(key.clone()) {
            errs.push(duplicate(
                &p,
                &serde_json::json!({"port": key.0, "protocol": key.1}),
            ));
        }
        if let Some(t) = present(port, "targetPort") {
            check_port_or_name(errs, t, &child(&p, "targetPort"));
        }
        check_node_port(port, &p, ty, errs);
    }
    validate_labels(spec.get("selector"), "spec.selector", errs);
    check_policies(spec, ty, errs);
}

/// `clusterIP` is empty, `None` or an address; ExternalName needs `externalName` and no
/// cluster IP; only ClusterIP Services may be headless.
fn check_cluster_ip(spec: &Value, ty: &str, errs: &mut Vec<FieldError>) {
    let cluster_ip = str_of(spec, "clusterIP").unwrap_or("");
    let headless = cluster_ip == "None";
    if !cluster_ip.is_empty() && !headless && cluster_ip.parse::<std::net::IpAddr>().is_err() {
        errs.push(invalid_str(
            "spec.clusterIP",
            cluster_ip,
            "must be empty, 'None', or a valid IP address",
        ));
    }
    if ty == "ExternalName" {
        match str_of(spec, "externalName").unwrap_or("") {
            "" => errs.push(required("spec.externalName")),
            name => {
                for m in names::dns1123_subdomain(name.trim_end_matches('.')) {
                    errs.push(invalid_str("spec.externalName", name, &m));
                }
            }
        }
        if !cluster_ip.is_empty() {
            errs.push(forbidden(
                "spec.clusterIP",
                "may not be set for ExternalName services",
            ));
        }
    } else if headless && ty != "ClusterIP" {
        errs.push(invalid_str(
            "spec.clusterIP",
            cluster_ip,
            &format!("may not be set to 'None' for {ty} services"),
        ));
    }
}

/// A port's name: required when there are several ports, a DNS label, unique.
fn check_port_name<'a>(
    port: &'a Value,
    p: &str,
    port_count: usize,
    port_names: &mut HashSet<&'a str>,
    errs: &mut Vec<FieldError>,
) {
    let name = str_of(port, "name").unwrap_or("");
    if name.is_empty() {
        if port_count > 1 {
            errs.push(required(child(p, "name")));
        }
        return;
    }
    for m in names::dns1123_label(name) {
        errs.push(invalid_str(child(p, "name"), name, &m));
    }
    if !port_names.insert(name) {
        errs.push(duplicate(child(p, "name"), &Value::String(name.to_owned())));
    }
}

/// A node port only on NodePort and LoadBalancer Services, and within the node port range.
fn check_node_port(port: &Value, p: &str, ty: &str, errs: &mut Vec<FieldError>) {
    let Some(np) = present(port, "nodePort").filter(|v| v.as_i64() != Some(0)) else {
        return;
    };
    if ty == "ClusterIP" || ty == "ExternalName" {
        errs.push(forbidden(
            child(p, "nodePort"),
            &format!("may not be used when `type` is '{ty}'"),
        ));
    } else if !np.as_i64().is_some_and(|n| NODE_PORT_RANGE.contains(&n)) {
        errs.push(invalid(
            child(p, "nodePort"),
            np,
            "provided port is not in the valid range. The range of valid ports is 30000-32767",
        ));
    }
}

/// Session affinity, traffic policies and IP families.
fn check_policies(spec: &Value, ty: &str, errs: &mut Vec<FieldError>) {
    check_enum(errs, spec, "spec", "sessionAffinity", &["ClientIP", "None"]);
    let traffic = &["Cluster", "Local"];
    check_enum(errs, spec, "spec", "externalTrafficPolicy", traffic);
    if present(spec, "externalTrafficPolicy").is_some()
        && (ty == "ClusterIP" || ty == "ExternalName")
    {
        errs.push(forbidden(
            "spec.externalTrafficPolicy",
            "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
        ));
    }
    check_enum(errs, spec, "spec", "internalTrafficPolicy", traffic);
    let families = &["SingleStack", "PreferDualStack", "RequireDualStack"];
    check_enum(errs, spec, "spec", "ipFamilyPolicy", families);
    for (i, fam) in list_of(spec, "ipFamilies").iter().enumerate() {
        if !matches!(fam.as_str(), Some("IPv4" | "IPv6")) {
            errs.push(super::field::unsupported(
                index("spec.ipFamilies", i),
                fam,
                &["IPv4", "IPv6"],
            ));
        }
    }
}
