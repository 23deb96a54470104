//! networking.k8s.io/v1 NetworkPolicy, checked as kube-apiserver's
//! `networking/validation.ValidateNetworkPolicySpec` checks it: the pod selector, each rule's
//! ports (protocol, a number in 1-65535 or a port name, `endPort` only after a numeric port
//! and not below it), each peer (exactly one of ipBlock and the selectors; ipBlock's `cidr` and
//! `except` parse, each exception strictly inside the block) and `policyTypes`; and defaulted
//! as `SetDefaults_NetworkPolicy` does (policyTypes from the rules present, protocol TCP).

use std::net::IpAddr;

use serde_json::{Value, json};

use super::defaults::set;
use super::field::{
    child, forbidden, index, int_of, invalid, list_of, present, required, required_because, str_of,
    unsupported,
};
use super::meta::validate_selector;
use super::names::port_name;
use crate::status::FieldError;

const PROTOCOLS: &[&str] = &["TCP", "UDP", "SCTP"];
const POLICY_TYPES: &[&str] = &["Ingress", "Egress"];

/// Defaults a NetworkPolicy in place: `policyTypes` (Ingress always, Egress when egress rules
/// are given) when unset, and `TCP` for every port without a protocol.
pub(crate) fn default_network_policy(obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    for (direction, _) in [("ingress", "from"), ("egress", "to")] {
        let rules = spec.get_mut(direction).and_then(Value::as_array_mut);
        for rule in rules.into_iter().flatten() {
            let ports = rule.get_mut("ports").and_then(Value::as_array_mut);
            for port in ports.into_iter().flatten() {
                set(port, "protocol", json!("TCP"));
            }
        }
    }
    if list_of(spec, "policyTypes").is_empty() {
        let mut types = vec![json!("Ingress")];
        if !list_of(spec, "egress").is_empty() {
            types.push(json!("Egress"));
        }
        spec["policyTypes"] = Value::Array(types);
    }
}

pub(crate) fn validate_network_policy(obj: &Value, errs: &mut Vec<FieldError>) {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    match present(spec, "podSelector") {
        Some(selector) => validate_selector(selector, "spec.podSelector", errs),
        None => errs.push(required("spec.podSelector")),
    }
    for (direction, peers) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in list_of(spec, direction).iter().enumerate() {
            let path = index(&child("spec", direction), i);
            for (j, port) in list_of(rule, "ports").iter().enumerate() {
                validate_port(port, &index(&child(&path, "ports"), j), errs);
            }
            for (j, peer) in list_of(rule, peers).iter().enumerate() {
                validate_peer(peer, &index(&child(&path, peers), j), errs);
            }
        }
    }
    let types = list_of(spec, "policyTypes");
    for (i, t) in types.iter().enumerate() {
        if !t.as_str().is_some_and(|t| POLICY_TYPES.contains(&t)) {
            errs.push(unsupported(index("spec.policyTypes", i), t, POLICY_TYPES));
        }
    }
    if types.len() > 2 {
        let detail = "may not specify more than two policyTypes";
        errs.push(invalid("spec.policyTypes", &spec["policyTypes"], detail));
    }
}

fn validate_port(port: &Value, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(protocol) = present(port, "protocol")
        && !protocol.as_str().is_some_and(|p| PROTOCOLS.contains(&p))
    {
        errs.push(unsupported(child(path, "protocol"), protocol, PROTOCOLS));
    }
    let end_port = present(port, "endPort");
    match present(port, "port") {
        None if end_port.is_some() => {
            let detail = "may not be specified when `port` is not specified";
            errs.push(forbidden(child(path, "endPort"), detail));
        }
        None => {}
        Some(Value::String(name)) => {
            for message in port_name(name) {
                errs.push(invalid(child(path, "port"), &port["port"], &message));
            }
            if end_port.is_some() {
                let detail = "may not be specified when `port` is non-numeric";
                errs.push(forbidden(child(path, "endPort"), detail));
            }
        }
        Some(number) => match number.as_i64().filter(|n| (1..=65535).contains(n)) {
            None => {
                let detail = "must be between 1 and 65535, inclusive";
                errs.push(invalid(child(path, "port"), number, detail));
            }
            Some(start) => validate_end_port(port, start, path, errs),
        },
    }
}

fn validate_end_port(port: &Value, start: i64, path: &str, errs: &mut Vec<FieldError>) {
    let Some(end) = present(port, "endPort") else {
        return;
    };
    match int_of(port, "endPort") {
        Some(e) if e < start => {
            let detail = "must be greater than or equal to `port`";
            errs.push(invalid(child(path, "endPort"), end, detail));
        }
        Some(e) if (1..=65535).contains(&e) => {}
        _ => {
            let detail = "must be between 1 and 65535, inclusive";
            errs.push(invalid(child(path, "endPort"), end, detail));
        }
    }
}

fn validate_peer(peer: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let kinds = ["podSelector", "namespaceSelector", "ipBlock"];
    let given: Vec<&str> = kinds
        .into_iter()
        .filter(|k| present(peer, k).is_some())
        .collect();
    if given.is_empty() {
        errs.push(required_because(path, "must specify a peer"));
    } else if given.contains(&"ipBlock") && given.len() > 1 {
        errs.push(forbidden(
            path,
            "may not specify both ipBlock and another peer",
        ));
    }
    for selector in ["podSelector", "namespaceSelector"] {
        if let Some(s) = present(peer, selector) {
            validate_selector(s, &child(path, selector), errs);
        }
    }
    if let Some(block) = present(peer, "ipBlock") {
        validate_ip_block(block, &child(path, "ipBlock"), errs);
    }
}

fn validate_ip_block(block: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let cidr_path = child(path, "cidr");
    let Some(cidr_text) = str_of(block, "cidr").filter(|c| !c.is_empty()) else {
        errs.push(required(cidr_path));
        return;
    };
    let Some(cidr) = parse_cidr(cidr_text) else {
        errs.push(invalid(cidr_path, &block["cidr"], "must be a valid CIDR"));
        return;
    };
    for (i, except) in list_of(block, "except").iter().enumerate() {
        let except_path = index(&child(path, "except"), i);
        match except.as_str().and_then(parse_cidr) {
            None => errs.push(invalid(except_path, except, "must be a valid CIDR")),
            Some(e) if !strictly_inside(e, cidr) => {
                errs.push(invalid(
                    except_path,
                    except,
                    "must be a strict subset of `cidr`",
                ));
            }
            Some(_) => {}
        }
    }
}

/// `a.b.c.d/n` or an IPv6 CIDR: the address and prefix length (host bits may be set, as Go's
/// `ParseCIDRSloppy` allows).
pub fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = text.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((ip, bits))
}

/// Whether block `inner` lies inside `outer` and is smaller.
fn strictly_inside(inner: (IpAddr, u8), outer: (IpAddr, u8)) -> bool {
    let (Some(i), Some(o)) = (to_bits(inner.0), to_bits(outer.0)) else {
        return false;
    };
    if inner.0.is_ipv4() != outer.0.is_ipv4() || inner.1 <= outer.1 {
        return false;
    }
    let width = if outer.0.is_ipv4() { 32 } else { 128 };
    let shift = width - u32::from(outer.1);
    shift >= width || (i >> shift) == (o >> shift)
}

fn to_bits(ip: IpAddr) -> Option<u128> {
    match ip {
        IpAddr::V4(v4) => Some(u128::from(u32::from(v4))),
        IpAddr::V6(v6) => Some(u128::from(v6)),
    }
}
