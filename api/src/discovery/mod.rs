//! Discovery documents: `/version`, `/api`, `/apis`, `/apis/<group>` and the `APIResourceList`
//! of each group/version, built from the one table in `resources`. kubectl reads these to map
//! `kubectl get deploy` to `/apis/apps/v1/.../deployments`, to expand `get all` (the `all`
//! category) and to find subresources such as `deployments/scale`. `aggregated` serves the same
//! as one `APIGroupDiscoveryList` for `/api` and one for `/apis`.

mod aggregated;
mod subresources;
#[cfg(test)]
mod tests;

use serde_json::{Value, json};

use crate::metrics;
use crate::rbac::discovery::{self as reviews, review_groups};
use crate::resources::{self, RESOURCES, ResourceInfo};

pub use aggregated::{CONTENT_TYPE as AGGREGATED_CONTENT_TYPE, accepts_aggregated, aggregated};

/// The Kubernetes minor version skiff's types follow (k8s-openapi feature `v1_33`). kubectl's
/// dispatcher (`/usr/bin/kubectl`) picks `kubectl.1.<minor>` from it.
pub const MINOR: &str = "33";

/// `GET /version`: a `version.Info`.
pub fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": MINOR,
        "emulationMajor": "1",
        "emulationMinor": MINOR,
        "gitVersion": format!("v1.{MINOR}.0-skiff"),
        "gitCommit": "",
        "gitTreeState": "clean",
        // No clock in this crate: a fixed date, like a reproducible build's.
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "",
        "compiler": "rustc",
        "platform": platform(),
    })
}

/// `linux/amd64` and so on, in Go's spelling of the target this binary was built for.
fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    format!("{}/{arch}", std::env::consts::OS)
}

/// `GET /api`: the core group's versions. `server_address` is `host:port` as clients reach it.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    })
}

/// `GET /apis`: every named group with its versions and preferred version.
pub fn api_group_list() -> Value {
    let mut groups: Vec<Value> = resources::groups()
        .into_iter()
        .map(|(group, _)| group_body(group))
        .collect();
    // Answered by the API server itself, not stored: the reviews, and metrics from the agents'
    // summaries.
    groups.extend(review_groups().filter_map(|g| reviews::api_group(g, false)));
    groups.push(metrics::api_group(false));
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/<group>`: one `APIGroup`, or `None` for a group skiff does not serve.
pub fn api_group(group: &str) -> Option<Value> {
    if metrics::is_metrics_group(group) {
        return Some(metrics::api_group(true));
    }
    if let Some(review) = reviews::api_group(group, true) {
        return Some(review);
    }
    if group.is_empty() || !RESOURCES.iter().any(|r| r.group == group) {
        return None;
    }
    let mut body = group_body(group);
    let map = body.as_object_mut()?;
    map.insert("kind".into(), json!("APIGroup"));
    map.insert("apiVersion".into(), json!("v1"));
    Some(body)
}

/// The `name`/`versions`/`preferredVersion` of a group, shared by `/apis` and `/apis/<group>`.
fn group_body(group: &str) -> Value {
    let mut versions: Vec<&str> = Vec::new();
    for r in RESOURCES.iter().filter(|r| r.group == group) {
        if !versions.contains(&r.version) {
            versions.push(r.version);
        }
    }
    let entry = |v: &str| json!({"groupVersion": format!("{group}/{v}"), "version": v});
    json!({
        "name": group,
        "versions": versions.iter().map(|v| entry(v)).collect::<Vec<_>>(),
        // The first listed version is preferred, as resources lists the served ones first.
        "preferredVersion": entry(versions.first().copied().unwrap_or("v1")),
    })
}

/// `GET /api/v1` (`group` `""`) or `GET /apis/<group>/<version>`: the `APIResourceList`, with
/// one entry per resource and one per subresource (`pods/log`, `deployments/scale`, ...).
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    if metrics::is_metrics_group(group) {
        return (version == metrics::VERSION).then(metrics::resource_list);
    }
    if review_groups().any(|g| g == group) {
        return reviews::resource_list(group, version);
    }
    let served: Vec<&ResourceInfo> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let mut entries = Vec::new();
    for r in served {
        entries.push(resource_entry(r));
        for sub in r.subresources {
            entries.push(subresources::entry(r, sub));
        }
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries,
    }))
}

/// The `APIResource` of a resource itself; empty `shortNames`/`categories` are left out, as
/// kube-apiserver's `omitempty` does.
fn resource_entry(r: &ResourceInfo) -> Value {
    let mut entry = json!({
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": r.verbs(),
    });
    if let Some(map) = entry.as_object_mut() {
        if !r.short_names.is_empty() {
            map.insert("shortNames".into(), json!(r.short_names));
        }
        if !r.categories.is_empty() {
            map.insert("categories".into(), json!(r.categories));
        }
    }
    entry
}
