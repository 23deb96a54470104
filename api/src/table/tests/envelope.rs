//! The Table envelope: kind, column definitions, rows with `cells` and `object` per
//! `includeObject`, the list metadata, and the generic NAME/AGE table.

use serde_json::json;

use super::*;
use crate::resources::ResourceInfo;

fn pods() -> &'static ResourceInfo {
    resources::find("", "v1", "pods").unwrap()
}

fn pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web"},
                     "creationTimestamp": ago(30), "resourceVersion": "7"},
        "spec": {"containers": [{"name": "app", "image": "app.wasm"}]},
        "status": {"phase": "Pending"}
    })
}

#[test]
fn table_shape_matches_kube_apiserver() {
    let meta = json!({"resourceVersion": "104", "continue": "abc"});
    let t = table(
        pods(),
        &[pod()],
        IncludeObject::Metadata,
        now(),
        meta.clone(),
    );
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(t["metadata"], meta);
    assert_eq!(
        t["columnDefinitions"][0],
        json!({"name": "Name", "type": "string", "format": "name", "priority": 0,
               "description": "Name must be unique within a namespace. Cannot be updated."})
    );
    assert_eq!(t["columnDefinitions"][5]["priority"], 1);
    let row = &t["rows"][0];
    assert_eq!(row["cells"].as_array().unwrap().len(), 9);
    assert!(row.get("conditions").is_none());
    assert_eq!(
        row["object"],
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
               "metadata": pod()["metadata"]})
    );
    let empty = table(pods(), &[], IncludeObject::Metadata, now(), Value::Null);
    assert_eq!(empty["metadata"], json!({}));
    assert_eq!(empty["rows"], json!([]));
}

#[test]
fn include_object() {
    let whole = table(pods(), &[pod()], IncludeObject::Object, now(), Value::Null);
    assert_eq!(whole["rows"][0]["object"], pod());
    let none = table(pods(), &[pod()], IncludeObject::None, now(), Value::Null);
    assert_eq!(none["rows"][0]["object"], Value::Null);
    assert_eq!(IncludeObject::parse(None), Some(IncludeObject::Metadata));
    assert_eq!(
        IncludeObject::parse(Some("")),
        Some(IncludeObject::Metadata)
    );
    assert_eq!(
        IncludeObject::parse(Some("Object")),
        Some(IncludeObject::Object)
    );
    assert_eq!(
        IncludeObject::parse(Some("None")),
        Some(IncludeObject::None)
    );
    assert_eq!(IncludeObject::parse(Some("object")), None);
}

#[test]
fn every_row_has_a_cell_per_column() {
    for info in resources::RESOURCES {
        let obj = json!({"metadata": {"name": "x", "creationTimestamp": ago(5)}});
        let t = table(info, &[obj], IncludeObject::Metadata, now(), Value::Null);
        let columns = t["columnDefinitions"].as_array().unwrap();
        let row = t["rows"][0]["cells"].as_array().unwrap();
        assert_eq!(columns.len(), row.len(), "{}", info.plural);
        for c in columns {
            // `date`: the `Created At` of roles, as kube-apiserver types it.
            assert!(
                ["string", "integer", "boolean", "date"].contains(&c["type"].as_str().unwrap())
            );
        }
    }
}

#[test]
fn generic_table_is_name_and_age() {
    let info = ResourceInfo {
        group: "example.com",
        version: "v1",
        plural: "widgets",
        singular: "widget",
        kind: "Widget",
        namespaced: true,
        short_names: &[],
        categories: &[],
        subresources: &[],
        has_spec: true,
        has_status: false,
    };
    let obj = json!({"metadata": {"name": "w", "creationTimestamp": ago(3 * 86_400)}});
    let t = table(&info, &[obj], IncludeObject::Metadata, now(), Value::Null);
    let names: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Name", "Age"]);
    assert_eq!(t["rows"][0]["cells"], json!(["w", "3d"]));
}
