//! The path items of an OpenAPI v3 document: one per resource item (`.../pods/{name}`) and per
//! patchable subresource (`.../pods/{name}/status`, `.../deployments/{name}/scale`), each with a
//! `patch` operation shaped like kube-apiserver's.

use serde_json::{Map, Value, json};

use super::schemas::Gvk;
use crate::resources::ResourceInfo;

/// Subresources with a `patch` verb, and the group/version/kind their bodies are.
fn patchable(parent: &ResourceInfo, sub: &str) -> Option<Gvk> {
    match sub {
        "status" | "ephemeralcontainers" | "resize" => {
            Some((parent.group, parent.version, parent.kind))
        }
        "scale" => Some(("autoscaling", "v1", "Scale")),
        _ => None,
    }
}

/// The kinds the operations of `r` carry: its own and those of its patchable subresources.
pub(super) fn kinds(r: &ResourceInfo) -> impl Iterator<Item = Gvk> {
    let subresources = r.subresources.iter().filter_map(|sub| patchable(r, sub));
    std::iter::once((r.group, r.version, r.kind)).chain(subresources)
}

/// Adds the item path of `r` and its patchable subresources to `paths`.
pub(super) fn add_resource(paths: &mut Map<String, Value>, r: &ResourceInfo) {
    let prefix = if r.group.is_empty() {
        format!("/api/{}", r.version)
    } else {
        format!("/apis/{}/{}", r.group, r.version)
    };
    let item = if r.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
    } else {
        format!("{prefix}/{}/{{name}}", r.plural)
    };
    let op_base = format!(
        "{}{}{}{}",
        group_word(r.group),
        capitalize(r.version),
        if r.namespaced { "Namespaced" } else { "" },
        r.kind
    );
    paths.insert(
        item.clone(),
        path_item(r, (r.group, r.version, r.kind), &op_base, r.kind),
    );
    for sub in r.subresources {
        if let Some(gvk) = patchable(r, sub) {
            let what = format!("{} of the specified {}", sub, r.kind);
            paths.insert(
                format!("{item}/{sub}"),
                path_item(r, gvk, &format!("{op_base}{}", capitalize(sub)), &what),
            );
        }
    }
}

/// `Apps`, `Core`, `Coordination` (the first word of the group, as operation ids spell it).
fn group_word(group: &str) -> String {
    if group.is_empty() {
        return "Core".into();
    }
    capitalize(group.split('.').next().unwrap_or(group))
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn query(name: &str, ty: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": ty, "uniqueItems": true},
    })
}

fn path_param(name: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "path",
        "description": description,
        "required": true,
        "schema": {"type": "string", "uniqueItems": true},
    })
}

/// One path item: its path parameters and a `patch` operation for `gvk`.
fn path_item(r: &ResourceInfo, gvk: (&str, &str, &str), op: &str, what: &str) -> Value {
    let mut params = vec![path_param("name", &format!("name of the {}", r.kind))];
    if r.namespaced {
        params.push(path_param(
            "namespace",
            "object name and auth scope, such as for teams and projects",
        ));
    }
    params.push(query(
        "pretty",
        "string",
        "If 'true', then the output is pretty printed.",
    ));
    let patch_params = vec![
        query(
            "dryRun",
            "string",
            "When present, indicates that modifications should not be persisted.",
        ),
        query(
            "fieldManager",
            "string",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
        ),
        query(
            "fieldValidation",
            "string",
            "fieldValidation instructs the server on how to handle objects in the request \
             containing unknown or duplicate fields: Ignore, Warn or Strict.",
        ),
        query(
            "force",
            "boolean",
            "Force is going to \"force\" Apply requests. It must be unset for non-apply patch requests.",
        ),
    ];
    let (group, version, kind) = gvk;
    json!({
        "parameters": params,
        "patch": {
            "tags": [format!("{}_{}", if r.group.is_empty() { "core" } else { r.group }, r.version)],
            "description": format!("partially update {what}"),
            "operationId": format!("patch{op}"),
            "parameters": patch_params,
            "responses": {
                "200": {"description": "OK"},
                "201": {"description": "Created"},
                "401": {"description": "Unauthorized"},
            },
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": kind},
        },
    })
}
