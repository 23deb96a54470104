//! Tests of the OpenAPI v3 documents: what kubectl's `fieldValidation` check looks for, for
//! every served kind, and hashes that follow the content; `explain` has what `kubectl explain`
//! looks for.

mod explain;

use serde_json::{Value, json};

use super::*;

/// The group/version document at `path`, parsed.
fn doc(path: &str) -> Value {
    let d = group_version(path).unwrap_or_else(|| panic!("no document {path}"));
    serde_json::from_slice(&d.json).unwrap()
}

/// kubectl's check (`supportsQueryParamV3`): the first path whose `patch` carries the GVK must
/// list a `fieldValidation` query parameter.
fn supports_field_validation(doc: &Value, group: &str, version: &str, kind: &str) -> bool {
    let gvk = json!({"group": group, "version": version, "kind": kind});
    for item in doc["paths"].as_object().unwrap().values() {
        let Some(patch) = item.get("patch") else {
            continue;
        };
        if patch["x-kubernetes-group-version-kind"] != gvk {
            continue;
        }
        return patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation" && p["in"] == "query");
    }
    false
}

#[test]
fn every_kind_supports_field_validation() {
    for r in RESOURCES {
        let path = if r.group.is_empty() {
            format!("api/{}", r.version)
        } else {
            format!("apis/{}/{}", r.group, r.version)
        };
        let doc = doc(&path);
        assert_eq!(doc["openapi"], "3.0.0");
        assert!(
            supports_field_validation(&doc, r.group, r.version, r.kind),
            "{} in {path}",
            r.kind
        );
        for key in doc["paths"].as_object().unwrap().keys() {
            assert!(key.starts_with('/'), "{key}");
        }
    }
    let apps = doc("apis/apps/v1");
    assert!(supports_field_validation(
        &apps,
        "autoscaling",
        "v1",
        "Scale"
    ));
    assert!(!supports_field_validation(&apps, "", "v1", "Pod"));
}

#[test]
fn paths_look_like_kube_apiservers() {
    let core = doc("/openapi/v3/api/v1?hash=X");
    let paths = core["paths"].as_object().unwrap();
    let pod = &paths["/api/v1/namespaces/{namespace}/pods/{name}"];
    assert_eq!(pod["patch"]["operationId"], "patchCoreV1NamespacedPod");
    assert_eq!(pod["patch"]["x-kubernetes-action"], "patch");
    assert!(pod["patch"].get("requestBody").is_none());
    assert!(paths.contains_key("/api/v1/namespaces/{namespace}/pods/{name}/status"));
    assert!(!paths.contains_key("/api/v1/namespaces/{namespace}/pods/{name}/log"));
    assert_eq!(
        paths["/api/v1/namespaces/{name}"]["patch"]["operationId"],
        "patchCoreV1Namespace"
    );
    let apps = doc("/apis/apps/v1");
    assert_eq!(
        apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"]["operationId"],
        "patchAppsV1NamespacedDeploymentScale"
    );
    assert!(group_version("apis/apps/v2").is_none());
    assert!(group_version("apis/extensions/v1beta1").is_none());
}

#[test]
fn root_lists_every_group_version_with_its_hash() {
    let index: Value = serde_json::from_slice(&root().json).unwrap();
    let paths = index["paths"].as_object().unwrap();
    let keys: Vec<&String> = paths.keys().collect();
    assert!(keys.contains(&&"api/v1".to_owned()));
    assert!(keys.contains(&&"apis/apps/v1".to_owned()));
    assert!(keys.contains(&&"apis/autoscaling/v2".to_owned()));
    assert_eq!(paths.len(), 1 + resources::groups().len());
    for (path, entry) in paths {
        let url = entry["serverRelativeURL"].as_str().unwrap();
        let d = group_version(path).unwrap();
        assert_eq!(url, format!("/openapi/v3/{path}?hash={}", hash(&d.json)));
        assert_eq!(url, d.url());
    }
    assert_eq!(root().hash, hash(&root().json));
}

#[test]
fn hash_follows_the_content() {
    let core = group_version("api/v1").unwrap();
    let h = &core.hash;
    assert_eq!(h.len(), 64);
    assert!(
        h.chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    );
    assert_eq!(
        h,
        &hash(&serde_json::to_vec(&doc("api/v1")).unwrap()),
        "stable"
    );
    let mut changed = doc("api/v1");
    changed["components"]["schemas"]["io.k8s.api.core.v1.Container"]["properties"]["image"]["description"] =
        json!("changed");
    assert_ne!(h, &hash(&serde_json::to_vec(&changed).unwrap()));
    assert_ne!(h, &group_version("apis/apps/v1").unwrap().hash);
}
