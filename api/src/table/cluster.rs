//! Tables of cluster and configuration objects: nodes, namespaces, events, config maps,
//! secrets, service accounts and leases (kubectl's `printNode`, `printEvent`, ...).

use serde_json::{Value, json};

use super::age::{age_cell, since};
use super::fields::{len_at, list_at, name, or_none, str_at};
use super::{AGE, Column, NAME, Row, col, wide};

pub(super) const NODE: &[Column] = &[
    NAME,
    col("Status", "string", "The status of the node"),
    col("Roles", "string", "The roles of the node"),
    AGE,
    col("Version", "string", "Kubelet Version reported by the node."),
    wide(
        "Internal-IP",
        "string",
        "List of addresses reachable to the node.",
    ),
    wide(
        "External-IP",
        "string",
        "List of addresses reachable to the node.",
    ),
    wide("OS-Image", "string", "OS Image reported by the node."),
    wide(
        "Kernel-Version",
        "string",
        "Kernel Version reported by the node.",
    ),
    wide(
        "Container-Runtime",
        "string",
        "ContainerRuntime Version reported by the node.",
    ),
];

/// The first address of a type, or `<none>`.
fn node_address(node: &Value, ty: &str) -> String {
    list_at(node, &["status", "addresses"])
        .iter()
        .find(|a| str_at(a, &["type"]) == ty)
        .map_or_else(
            || "<none>".to_owned(),
            |a| str_at(a, &["address"]).to_owned(),
        )
}

pub(super) fn node(node: &Value, now: i64) -> Row {
    let mut status: Vec<&str> = Vec::new();
    if let Some(ready) = list_at(node, &["status", "conditions"])
        .iter()
        .rev()
        .find(|c| str_at(c, &["type"]) == "Ready")
    {
        status.push(if str_at(ready, &["status"]) == "True" {
            "Ready"
        } else {
            "NotReady"
        });
    } else {
        status.push("Unknown");
    }
    if node["spec"]["unschedulable"].as_bool() == Some(true) {
        status.push("SchedulingDisabled");
    }
    let mut roles: Vec<&str> = Vec::new();
    if let Some(labels) = node["metadata"]["labels"].as_object() {
        for (k, v) in labels {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                roles.push(role);
            } else if k == "kubernetes.io/role" {
                roles.push(v.as_str().unwrap_or(""));
            }
        }
    }
    roles.retain(|r| !r.is_empty());
    roles.sort_unstable();
    roles.dedup();
    let info = &node["status"]["nodeInfo"];
    let known = |key: &str| match str_at(info, &[key]) {
        "" => "<unknown>".to_owned(),
        v => v.to_owned(),
    };
    vec![
        json!(name(node)),
        json!(status.join(",")),
        json!(or_none(roles.join(","))),
        age_cell(node, now),
        json!(str_at(info, &["kubeletVersion"])),
        json!(node_address(node, "InternalIP")),
        json!(node_address(node, "ExternalIP")),
        json!(known("osImage")),
        json!(known("kernelVersion")),
        json!(known("containerRuntimeVersion")),
    ]
    .into()
}

pub(super) const NAMESPACE: &[Column] = &[
    NAME,
    col("Status", "string", "The status of the namespace"),
    AGE,
];

pub(super) fn namespace(ns: &Value, now: i64) -> Row {
    let phase = str_at(ns, &["status", "phase"]);
    vec![json!(name(ns)), json!(phase), age_cell(ns, now)].into()
}

pub(super) const EVENT: &[Column] = &[
    col(
        "Last Seen",
        "string",
        "The time at which the most recent occurrence of this event was recorded.",
    ),
    col("Type", "string", "Type of this event (Normal, Warning)."),
    col(
        "Reason",
        "string",
        "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    ),
    col("Object", "string", "The object that this event is about."),
    wide(
        "Subobject",
        "string",
        "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.",
    ),
    wide("Source", "string", "The component reporting this event."),
    col(
        "Message",
        "string",
        "A human-readable description of the status of this operation.",
    ),
    wide(
        "First Seen",
        "string",
        "The time at which the event was first recorded.",
    ),
    wide(
        "Count",
        "string",
        "The number of times this event has occurred.",
    ),
    wide(
        "Name",
        "string",
        "Name must be unique within a namespace. Cannot be updated.",
    ),
];

pub(super) fn event(ev: &Value, now: i64) -> Row {
    let first = if str_at(ev, &["firstTimestamp"]).is_empty() {
        since(&ev["eventTime"], now)
    } else {
        since(&ev["firstTimestamp"], now)
    };
    let mut last = if str_at(ev, &["lastTimestamp"]).is_empty() {
        first.clone()
    } else {
        since(&ev["lastTimestamp"], now)
    };
    let mut count = ev["count"].as_i64().unwrap_or(0);
    if ev["series"].is_object() {
        last = since(&ev["series"]["lastObservedTime"], now);
        count = ev["series"]["count"].as_i64().unwrap_or(0);
    } else if count == 0 {
        count = 1;
    }
    let involved = &ev["involvedObject"];
    let kind = str_at(involved, &["kind"]).to_lowercase();
    let target = match str_at(involved, &["name"]) {
        "" => kind,
        n => format!("{kind}/{n}"),
    };
    let first_non_empty = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_owned()
        } else {
            a.to_owned()
        }
    };
    let component = first_non_empty(
        str_at(ev, &["source", "component"]),
        str_at(ev, &["reportingComponent"]),
    );
    let host = first_non_empty(
        str_at(ev, &["source", "host"]),
        str_at(ev, &["reportingInstance"]),
    );
    let source = if host.is_empty() {
        component
    } else {
        format!("{component}, {host}")
    };
    vec![
        json!(last),
        json!(str_at(ev, &["type"])),
        json!(str_at(ev, &["reason"])),
        json!(target),
        json!(str_at(involved, &["fieldPath"])),
        json!(source),
        json!(str_at(ev, &["message"]).trim()),
        json!(first),
        json!(count),
        json!(name(ev)),
    ]
    .into()
}

pub(super) const CONFIG_MAP: &[Column] = &[
    NAME,
    col("Data", "string", "Data contains the configuration data."),
    AGE,
];

pub(super) fn config_map(cm: &Value, now: i64) -> Row {
    let data = len_at(cm, &["data"]) + len_at(cm, &["binaryData"]);
    vec![json!(name(cm)), json!(data), age_cell(cm, now)].into()
}

pub(super) const SECRET: &[Column] = &[
    NAME,
    col(
        "Type",
        "string",
        "Used to facilitate programmatic handling of secret data.",
    ),
    col("Data", "string", "Data contains the secret data."),
    AGE,
];

pub(super) fn secret(s: &Value, now: i64) -> Row {
    // The API server defaults the type to Opaque; stringData is folded into data on write.
    let ty = match str_at(s, &["type"]) {
        "" => "Opaque",
        t => t,
    };
    vec![
        json!(name(s)),
        json!(ty),
        json!(len_at(s, &["data"])),
        age_cell(s, now),
    ]
    .into()
}

pub(super) const SERVICE_ACCOUNT: &[Column] = &[
    NAME,
    col(
        "Secrets",
        "string",
        "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
    ),
    AGE,
];

pub(super) fn service_account(sa: &Value, now: i64) -> Row {
    vec![
        json!(name(sa)),
        json!(len_at(sa, &["secrets"])),
        age_cell(sa, now),
    ]
    .into()
}

pub(super) const LEASE: &[Column] = &[
    NAME,
    col(
        "Holder",
        "string",
        "holderIdentity contains the identity of the holder of a current lease.",
    ),
    AGE,
];

pub(super) fn lease(lease: &Value, now: i64) -> Row {
    let holder = str_at(lease, &["spec", "holderIdentity"]);
    vec![json!(name(lease)), json!(holder), age_cell(lease, now)].into()
}
