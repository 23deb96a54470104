//! PartialObjectMetadata shapes, byte for byte where watchers read bytes.

use serde_json::json;
use skiff_api::resources::{RESOURCES, ResourceInfo};

use super::*;

fn built_in(plural: &str, group: &str) -> &'static ResourceInfo {
    RESOURCES
        .iter()
        .find(|r| r.plural == plural && r.group == group)
        .expect("served")
}

#[test]
fn an_object_keeps_its_whole_metadata_and_nothing_else() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "managedFields": [{"manager": "m"}], "ownerReferences": [{"uid": "u"}]},
        "spec": {"nodeName": "n"}});
    let partial = object(MetaVersion::V1, pod.clone());
    assert_eq!(
        partial,
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": pod["metadata"]})
    );
    let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Success"});
    assert_eq!(object(MetaVersion::V1, status.clone()), status);
    assert_eq!(
        object(MetaVersion::V1beta1, json!({}))["apiVersion"],
        "meta.k8s.io/v1beta1"
    );
}

#[test]
fn a_list_keeps_its_list_metadata() {
    let meta = json!({"resourceVersion": "9", "continue": "c", "remainingItemCount": 3});
    let items = vec![json!({"kind": "Pod", "metadata": {"name": "a"}, "spec": {}})];
    assert_eq!(
        list(MetaVersion::V1, items, meta.clone()),
        json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "items": [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {"name": "a"}}]})
    );
    assert_eq!(
        list(MetaVersion::V1, Vec::new(), json!({}))["items"],
        json!([])
    );
}

#[test]
fn the_wrong_shape_is_406_naming_the_go_type() {
    let e = wrong_shape(built_in("pods", ""), true);
    assert_eq!((e.code, e.reason), (406, "NotAcceptable"));
    assert_eq!(
        e.message,
        "you requested PartialObjectMetadataList, but the requested object is not a list (*core.Pod)"
    );
    let e = wrong_shape(built_in("deployments", "apps"), false);
    assert_eq!(
        e.message,
        "you requested PartialObjectMetadata, but the requested object is a list (*apps.DeploymentList)"
    );
}

#[test]
fn watch_lines_carry_the_metadata_bytes() {
    let object = br#"{"kind":"Pod","metadata":{"name":"p","uid":"u"},"spec":{"containers":[]}}"#;
    let metadata = metadata_json(object);
    assert_eq!(&metadata[..], br#"{"name":"p","uid":"u"}"#);
    assert_eq!(&metadata_json(b"null")[..], b"{}");
    assert_eq!(&metadata_json(br#"{"spec":{}}"#)[..], b"{}");
    let line = watch_line("ADDED", MetaVersion::V1, &metadata);
    assert_eq!(
        &line[..],
        b"{\"type\":\"ADDED\",\"object\":{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{\"name\":\"p\",\"uid\":\"u\"}}}\n"
    );
    let parsed: Value = serde_json::from_slice(&line).expect("JSON");
    assert_eq!(parsed["object"]["metadata"]["uid"], "u");
}
