//! The spliced JSON and the lazily read view against what decoding the whole object gives.

use super::*;
use serde_json::json;

/// The watch cache's JSON before the splice: the stored object decoded whole, its
/// `resourceVersion` set, encoded again.
fn decoded_and_encoded(stored: &[u8], revision: u64) -> Vec<u8> {
    let mut object: Value = serde_json::from_slice(stored).unwrap();
    crate::objects::set_resource_version(&mut object, revision);
    serde_json::to_vec(&object).unwrap()
}

/// The selector view before: the whole object decoded, then lists and nulls dropped.
fn filtered(object: Value) -> Value {
    match object {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .filter(|(_, v)| !matches!(v, Value::Array(_) | Value::Null))
                .map(|(k, v)| (k, filtered(v)))
                .collect(),
        ),
        scalar => scalar,
    }
}

fn stored_objects() -> Vec<Value> {
    vec![
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default", "uid": "u-1",
                "labels": {"app": "web", "tier": "1"}, "ownerReferences": [{"uid": "o"}],
                "annotations": {"\u{e9}t\u{e9}": "line\n\"quoted\"", "a/b": ""},
                "creationTimestamp": "2026-12-07T00:00:00Z", "generation": 3},
            "spec": {"nodeName": "n1", "priority": -7, "x": null, "ratio": 0.25, "big": 18446744073709551615u64,
                "containers": [{"name": "c", "args": ["a", {"nested": [1, 2.5e-3, null]}]}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        }),
        json!({"metadata": {}}),
        json!({"metadata": {"uid": "z", "resourceVersionX": "1", "resourceVersio": "2"}}),
        json!({"kind": "Status", "metadata": "not an object"}),
        json!({"kind": "NoMetadata", "data": {"k": "v"}}),
        json!({"metadata": null, "spec": []}),
    ]
}

#[test]
fn the_splice_is_byte_for_byte_the_decoded_encoding() {
    for object in stored_objects() {
        let stored = crate::objects::encode(&object);
        for revision in [0, 7, 1 << 40, u64::MAX] {
            let spliced = with_resource_version(&stored, revision).unwrap();
            assert_eq!(
                String::from_utf8(spliced).unwrap(),
                String::from_utf8(decoded_and_encoded(&stored, revision)).unwrap(),
                "{object}"
            );
        }
    }
}

#[test]
fn the_view_is_the_decoded_object_without_lists_or_nulls() {
    for object in stored_objects() {
        let stored = crate::objects::encode(&object);
        assert_eq!(
            read_selector_view(&stored).unwrap(),
            filtered(object.clone()),
            "{object}"
        );
    }
}

#[test]
fn bytes_that_are_not_a_json_object_are_refused() {
    for bad in [&b"not json"[..], b"{\"metadata\":", b"", b"[1,2]"] {
        assert_eq!(with_resource_version(bad, 1), None, "{bad:?}");
    }
    assert_eq!(read_selector_view(b"{\"a\":"), None);
}
