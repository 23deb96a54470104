//! Discovery of the review APIs, which are answered and never stored (so they are not in the
//! resource table): `authentication.k8s.io/v1` (`selfsubjectreviews`) and
//! and `tokenreviews`, `authorization.k8s.io/v1` (the access and rules reviews), create-only, as kube-apiserver
//! advertises them (`kubectl api-resources` lists them).

use serde_json::{Value, json};

/// `(plural, kind, namespaced)` of one review resource.
type Review = (&'static str, &'static str, bool);

/// `(group, resources)` of the served review groups, all at `v1`.
const GROUPS: [(&str, &[Review]); 2] = [
    (
        "authentication.k8s.io",
        &[
            ("selfsubjectreviews", "SelfSubjectReview", false),
            ("tokenreviews", "TokenReview", false),
        ],
    ),
    (
        "authorization.k8s.io",
        &[
            (
                "localsubjectaccessreviews",
                "LocalSubjectAccessReview",
                true,
            ),
            ("selfsubjectaccessreviews", "SelfSubjectAccessReview", false),
            ("selfsubjectrulesreviews", "SelfSubjectRulesReview", false),
            ("subjectaccessreviews", "SubjectAccessReview", false),
        ],
    ),
];
const VERSION: &str = "v1";
const VERBS: [&str; 1] = ["create"];

fn resources_of(group: &str) -> Option<&'static [Review]> {
    GROUPS.iter().find(|(g, _)| *g == group).map(|(_, r)| *r)
}

/// The review groups' names.
pub fn review_groups() -> impl Iterator<Item = &'static str> {
    GROUPS.iter().map(|(g, _)| *g)
}

/// A review group's entry of an `APIGroupList`, or (`with_kind`) its `APIGroup` document.
pub fn api_group(group: &str, with_kind: bool) -> Option<Value> {
    let (name, _) = GROUPS.iter().find(|(g, _)| *g == group)?;
    let version = json!({"groupVersion": format!("{name}/{VERSION}"), "version": VERSION});
    let mut body =
        json!({"name": name, "versions": [version.clone()], "preferredVersion": version});
    if with_kind && let Some(map) = body.as_object_mut() {
        map.insert("kind".into(), json!("APIGroup"));
        map.insert("apiVersion".into(), json!("v1"));
    }
    Some(body)
}

/// `GET /apis/<review group>/v1`.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let resources = resources_of(group).filter(|_| version == VERSION)?;
    let entries: Vec<Value> = resources
        .iter()
        .map(|(plural, kind, namespaced)| {
            json!({"name": plural, "singularName": "", "namespaced": namespaced,
                "kind": kind, "verbs": VERBS})
        })
        .collect();
    Some(json!({
        "kind": "APIResourceList", "apiVersion": "v1",
        "groupVersion": format!("{group}/{VERSION}"), "resources": entries,
    }))
}

/// The review groups' `APIGroupDiscovery` entries in the aggregated `/apis`.
pub fn aggregated_groups() -> Vec<Value> {
    GROUPS
        .iter()
        .map(|(group, resources)| {
            let entries: Vec<Value> = resources
                .iter()
                .map(|(plural, kind, namespaced)| {
                    json!({
                        "resource": plural,
                        "responseKind": {"group": group, "version": VERSION, "kind": kind},
                        "scope": if *namespaced { "Namespaced" } else { "Cluster" },
                        "verbs": VERBS,
                    })
                })
                .collect();
            json!({
                "metadata": {"name": group, "creationTimestamp": null},
                "versions": [{"version": VERSION, "resources": entries, "freshness": "Current"}],
            })
        })
        .collect()
}
