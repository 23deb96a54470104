//! Discovery entries for subresources (`pods/log`, `deployments/scale`, ...): the kind, verbs
//! and, where it differs from the parent's, the group/version kube-apiserver advertises.

use serde_json::{Value, json};

use crate::resources::ResourceInfo;

/// How one subresource is advertised.
struct Sub {
    /// `None`: the parent's kind.
    kind: Option<&'static str>,
    /// `Some((group, version))` when the subresource's kind lives in another group
    /// (`deployments/scale` is an `autoscaling/v1` `Scale`).
    group_version: Option<(&'static str, &'static str)>,
    verbs: &'static [&'static str],
}

const READ_WRITE: &[&str] = &["get", "patch", "update"];
const CONNECT: &[&str] = &["create", "get"];

/// kube-apiserver's advertisement of each subresource skiff may serve. Anything unknown is
/// advertised as a `get` of the parent's kind.
fn describe(parent: &ResourceInfo, sub: &str) -> Sub {
    let (kind, group_version, verbs): (Option<&'static str>, _, &'static [&'static str]) = match sub
    {
        "status" | "ephemeralcontainers" | "resize" => (None, None, READ_WRITE),
        "scale" => (Some("Scale"), Some(("autoscaling", "v1")), READ_WRITE),
        "binding" => (Some("Binding"), None, &["create"]),
        "log" => (None, None, &["get"]),
        "finalize" => (None, None, &["update"]),
        "exec" => (Some("PodExecOptions"), None, CONNECT),
        "attach" => (Some("PodAttachOptions"), None, CONNECT),
        "portforward" => (Some("PodPortForwardOptions"), None, CONNECT),
        "proxy" => (
            Some(match parent.kind {
                "Service" => "ServiceProxyOptions",
                "Node" => "NodeProxyOptions",
                _ => "PodProxyOptions",
            }),
            None,
            &["create", "delete", "get", "patch", "update"],
        ),
        "eviction" => (Some("Eviction"), Some(("policy", "v1")), &["create"]),
        "token" => (
            Some("TokenRequest"),
            Some(("authentication.k8s.io", "v1")),
            &["create"],
        ),
        _ => (None, None, &["get"]),
    };
    Sub {
        kind,
        group_version,
        verbs,
    }
}

/// The `APIResource` entry of `parent/sub`.
pub(super) fn entry(parent: &ResourceInfo, sub: &str) -> Value {
    let d = describe(parent, sub);
    let mut entry = json!({
        "name": format!("{}/{sub}", parent.plural),
        "singularName": "",
        "namespaced": parent.namespaced,
        "kind": d.kind.unwrap_or(parent.kind),
        "verbs": d.verbs,
    });
    if let (Some((group, version)), Some(map)) = (d.group_version, entry.as_object_mut()) {
        map.insert("group".into(), json!(group));
        map.insert("version".into(), json!(version));
    }
    entry
}
