//! JSON patch and merge patch through `apply_patch`: RFC 6902 operations, failures and the
//! Status each becomes, Content-Type mapping, and a missing object.

use serde_json::json;

use super::patch;
use crate::patch::{ApplyOptions, PatchError, PatchType, apply_patch};

#[test]
fn json_patch_operations() {
    let doc = || json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "spec": {"list": [1, 2, 3], "n": 1}});
    // (name, operations, expected)
    let cases = [
        (
            "add a field",
            json!([{"op": "add", "path": "/spec/m", "value": 2}]),
            json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "spec": {"list": [1, 2, 3], "n": 1, "m": 2}}),
        ),
        (
            "add into a list",
            json!([{"op": "add", "path": "/spec/list/1", "value": 9}]),
            json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "spec": {"list": [1, 9, 2, 3], "n": 1}}),
        ),
        (
            "append with -",
            json!([{"op": "add", "path": "/spec/list/-", "value": 4}]),
            json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "spec": {"list": [1, 2, 3, 4], "n": 1}}),
        ),
        (
            "remove",
            json!([{"op": "remove", "path": "/metadata/labels/a"}]),
            json!({"metadata": {"name": "x", "labels": {}}, "spec": {"list": [1, 2, 3], "n": 1}}),
        ),
        (
            "replace",
            json!([{"op": "replace", "path": "/spec/n", "value": 5}]),
            json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "spec": {"list": [1, 2, 3], "n": 5}}),
        ),
        (
            "move",
            json!([{"op": "move", "from": "/spec/n", "path": "/spec/k"}]),
            json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "spec": {"list": [1, 2, 3], "k": 1}}),
        ),
        (
            "copy",
            json!([{"op": "copy", "from": "/spec/list/0", "path": "/spec/first"}]),
            json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "spec": {"list": [1, 2, 3], "n": 1, "first": 1}}),
        ),
        (
            "test then replace",
            json!([{"op": "test", "path": "/spec/n", "value": 1.0}, {"op": "replace", "path": "/spec/n", "value": 2}]),
            json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "spec": {"list": [1, 2, 3], "n": 2}}),
        ),
        (
            "escaped keys",
            json!([{"op": "add", "path": "/metadata/labels/example.com~1role", "value": "db"}]),
            json!({"metadata": {"name": "x", "labels": {"a": "1", "example.com/role": "db"}}, "spec": {"list": [1, 2, 3], "n": 1}}),
        ),
        ("no operations", json!([]), doc()),
    ];
    for (name, ops, want) in cases {
        let got =
            patch("Pod", &doc(), &ops, PatchType::Json).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn json_patch_failures() {
    let doc = json!({"spec": {"n": 1, "list": [1]}});
    // (name, operations, is a 400; otherwise 422)
    let cases = [
        (
            "test fails",
            json!([{"op": "test", "path": "/spec/n", "value": 2}]),
            false,
        ),
        (
            "remove a missing field",
            json!([{"op": "remove", "path": "/spec/missing"}]),
            false,
        ),
        (
            "replace a missing field",
            json!([{"op": "replace", "path": "/spec/missing", "value": 1}]),
            false,
        ),
        (
            "add below a missing parent",
            json!([{"op": "add", "path": "/a/b/c", "value": 1}]),
            false,
        ),
        (
            "index out of range",
            json!([{"op": "add", "path": "/spec/list/5", "value": 1}]),
            false,
        ),
        (
            "leading zero index",
            json!([{"op": "remove", "path": "/spec/list/01"}]),
            false,
        ),
        (
            "move into own child",
            json!([{"op": "move", "from": "/spec", "path": "/spec/x"}]),
            false,
        ),
        (
            "copy from missing",
            json!([{"op": "copy", "from": "/nope", "path": "/x"}]),
            false,
        ),
        ("not a list", json!({"op": "add"}), true),
        ("unknown op", json!([{"op": "frob", "path": "/a"}]), true),
        ("missing value", json!([{"op": "add", "path": "/a"}]), true),
        ("missing from", json!([{"op": "move", "path": "/a"}]), true),
        (
            "path without a slash",
            json!([{"op": "remove", "path": "spec"}]),
            true,
        ),
        (
            "bad escape",
            json!([{"op": "remove", "path": "/a~2"}]),
            true,
        ),
        (
            "replacing the root with a non-object",
            json!([{"op": "replace", "path": "", "value": 1}]),
            true,
        ),
    ];
    for (name, ops, bad_request) in cases {
        match patch("Pod", &doc, &ops, PatchType::Json) {
            Err(PatchError::BadRequest(_)) if bad_request => {}
            Err(e @ PatchError::Invalid(_)) if !bad_request => {
                let status = e.to_api_error("pods", "p");
                assert_eq!((status.code, status.reason), (422, "Invalid"), "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn copy_bombs_are_stopped() {
    let ops: Vec<_> = (0..64)
        .map(|i| json!({"op": "copy", "from": "", "path": format!("/c{i}")}))
        .collect();
    let got = patch("Pod", &json!({"a": 1}), &json!(ops), PatchType::Json);
    assert!(matches!(got, Err(PatchError::Invalid(m)) if m.contains("copies more")));
}

#[test]
fn merge_patch_through_apply_patch() {
    let got = patch(
        "Deployment",
        &json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 1}}),
        &json!({"metadata": {"labels": {"a": null}}, "spec": {"replicas": 5}}),
        PatchType::Merge,
    );
    assert_eq!(
        got,
        Ok(json!({"metadata": {"labels": {"b": "2"}}, "spec": {"replicas": 5}}))
    );
    let not_object = patch("Pod", &json!({}), &json!([1]), PatchType::Merge);
    assert!(matches!(not_object, Err(PatchError::BadRequest(_))));
}

#[test]
fn content_types_map_to_patch_types() {
    let cases = [
        ("application/json-patch+json", Some(PatchType::Json)),
        ("application/merge-patch+json", Some(PatchType::Merge)),
        (
            "application/strategic-merge-patch+json",
            Some(PatchType::StrategicMerge),
        ),
        ("application/apply-patch+yaml", Some(PatchType::Apply)),
        (
            "Application/Merge-Patch+JSON; charset=utf-8",
            Some(PatchType::Merge),
        ),
        ("application/json", None),
        ("", None),
    ];
    for (ct, want) in cases {
        assert_eq!(PatchType::from_content_type(ct), want, "{ct}");
        if let Some(t) = want {
            assert_eq!(PatchType::from_content_type(t.content_type()), Some(t));
        }
    }
}

#[test]
fn missing_objects_and_bad_bodies() {
    let opts = ApplyOptions::default();
    for t in [PatchType::Json, PatchType::Merge, PatchType::StrategicMerge] {
        let got = apply_patch("Pod", None, b"{}", t, &opts);
        assert_eq!(got, Err(PatchError::NotFound), "{t:?}");
        let bad = apply_patch("Pod", Some(&json!({})), b"{not json", t, &opts);
        assert!(matches!(bad, Err(PatchError::BadRequest(_))), "{t:?}");
    }
    let status = PatchError::NotFound.to_api_error("deployments.apps", "web");
    assert_eq!(status.message, "deployments.apps \"web\" not found");
    assert_eq!(PatchError::bad("x").to_api_error("pods", "p").code, 400);
}

#[test]
fn non_apply_patches_record_the_managers_fields() {
    let original = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
    let opts = ApplyOptions {
        field_manager: Some("kubectl-label".into()),
        force: false,
    };
    let body = br#"{"metadata":{"labels":{"x":"y"}}}"#;
    let got =
        apply_patch("ConfigMap", Some(&original), body, PatchType::Merge, &opts).expect("applies");
    assert_eq!(
        got["metadata"]["managedFields"],
        json!([{"manager": "kubectl-label", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:labels": {"f:x": {}}}}}])
    );
}
