//! The codec against hand-built wire bytes, every served kind round-tripped, Kubernetes' JSON
//! rules for the special types, and bad bodies refused without a panic.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

mod fixtures;
mod lookups;
mod oracle;
mod reflect;
mod schema;
mod transcode;
use crate::resources::RESOURCES;

/// What kube-apiserver sends for `ConfigMap{metadata: {name: a}, data: {k: v}}`, byte by
/// byte: the magic, then `Unknown{typeMeta: {apiVersion: v1, kind: ConfigMap}, raw, "", ""}`.
#[test]
fn a_config_map_is_the_bytes_kube_apiserver_writes() {
    let raw: &[u8] = &[
        0x0a, 0x03, 0x0a, 0x01, b'a', // metadata (1) { name (1): "a" }
        0x12, 0x06, 0x0a, 0x01, b'k', 0x12, 0x01, b'v', // data (2) { key: "k", value: "v" }
    ];
    let mut want = b"k8s\0".to_vec();
    want.extend_from_slice(&[0x0a, 0x0f, 0x0a, 0x02, b'v', b'1', 0x12, 0x09]);
    want.extend_from_slice(b"ConfigMap");
    want.extend_from_slice(&[0x12, raw.len() as u8]);
    want.extend_from_slice(raw);
    want.extend_from_slice(&[0x1a, 0x00, 0x22, 0x00]);
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}});
    assert_eq!(encode_object(&object).expect("encodes"), want);
    assert_eq!(decode_object(&want).expect("decodes"), object);
}

pub(super) fn fixture(api_version: &str, kind: &str) -> Value {
    let mut object = json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {
            "name": "x", "namespace": "ns", "uid": "0b7c", "resourceVersion": "42", "generation": 3,
            "labels": {"app": "web", "empty": ""},
            "annotations": {"note": "a \"quoted\" value"},
            "creationTimestamp": "2026-12-05T17:00:01Z",
            "finalizers": ["skiff.dev/x"],
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "r", "uid": "u1", "controller": true}],
            "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                "time": "2026-12-05T17:00:01Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}}],
        },
    });
    let mut body = fixtures::body(kind);
    if api_version == crate::events::API_VERSION {
        // The same Event in the events.k8s.io/v1 shape.
        body = crate::events::to_events_v1(&body);
        if let Value::Object(b) = &mut body {
            b.remove("apiVersion");
            b.remove("kind");
        }
    }
    if let (Value::Object(o), Value::Object(b)) = (&mut object, body) {
        o.extend(b);
    }
    object
}

#[test]
fn every_served_kind_and_its_list_round_trip() {
    for info in RESOURCES {
        let api_version = info.api_version();
        assert!(has_message(&api_version, info.kind), "{}", info.kind);
        let object = fixture(&api_version, info.kind);
        let bytes = encode_object(&object).unwrap_or_else(|e| panic!("{}: {e}", info.kind));
        let back = decode_object(&bytes).unwrap_or_else(|e| panic!("{}: {e}", info.kind));
        assert_eq!(back, object, "{}", info.kind);

        let mut item = object.clone();
        if let Value::Object(o) = &mut item {
            o.remove("apiVersion");
            o.remove("kind");
        }
        let list = json!({"apiVersion": api_version, "kind": info.list_kind(),
            "metadata": {"resourceVersion": "43", "continue": "abc"}, "items": [item]});
        let bytes = encode_object(&list).unwrap_or_else(|e| panic!("{}List: {e}", info.kind));
        assert_eq!(
            decode_object(&bytes).expect("list decodes"),
            list,
            "{}List",
            info.kind
        );
    }
}

#[test]
fn status_delete_options_and_kinds_without_messages() {
    let status = json!({"apiVersion": "v1", "kind": "Status", "status": "Failure", "code": 404,
        "reason": "NotFound", "message": "pods \"x\" not found",
        "details": {"name": "x", "kind": "pods"}, "metadata": {}});
    assert_eq!(
        decode_object(&encode_object(&status).expect("encodes")).expect("decodes"),
        status
    );
    assert!(has_message("apps/v1", "DeleteOptions"));
    assert!(has_message("policy/v1", "Eviction"));
    assert!(has_message("autoscaling/v1", "Scale"));
    assert!(!has_message("meta.k8s.io/v1", "Table"));
    assert!(!has_message("metrics.k8s.io/v1beta1", "PodMetrics"));
    assert!(
        !has_message("apps.example.com/v1", "Deployment"),
        "a custom group is its own"
    );
    let custom =
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
    assert!(matches!(
        encode_object(&custom),
        Err(ProtoError::NoMessage { .. })
    ));
}

/// Go writes every non-pointer field: the empty strings of a decoded message are dropped,
/// the zeros kept (`replicas: 0` must stay 0).
#[test]
fn empty_strings_are_dropped_and_zeros_kept() {
    let object = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "", "generateName": ""},
        "spec": {"replicas": 0, "paused": false, "template": {"spec": {"containers": [{"name": "c", "image": ""}]}}}});
    let back = decode_object(&encode_object(&object).expect("encodes")).expect("decodes");
    assert_eq!(back["metadata"], json!({"name": "d"}));
    assert_eq!(back["spec"]["replicas"], 0);
    assert_eq!(back["spec"]["paused"], false);
    assert_eq!(
        back["spec"]["template"]["spec"]["containers"],
        json!([{"name": "c"}])
    );
}

#[test]
fn special_types_keep_their_json_shapes() {
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"},
        "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40,
            "renewTime": "2026-12-05T17:00:01.123456Z", "acquireTime": "2026-12-05T17:00:00.000000Z"}});
    assert_eq!(
        decode_object(&encode_object(&lease).expect("encodes")).expect("decodes"),
        lease
    );
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "type": "Opaque", "data": {"password": "aHVudGVyMg==", "empty": ""}});
    assert_eq!(
        decode_object(&encode_object(&secret).expect("encodes")).expect("decodes"),
        secret
    );
    let bad = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "%%%"}});
    let err = encode_object(&bad).expect_err("invalid base64");
    assert!(err.to_string().contains("data.k"), "{err}");
    let bad_time = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n", "creationTimestamp": "yesterday"}});
    assert!(
        encode_object(&bad_time)
            .expect_err("bad time")
            .to_string()
            .contains("metadata.creationTimestamp")
    );
}

#[test]
fn watch_frames_carry_enveloped_objects() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
    let mut stream = encode_watch_event("ADDED", &cm).expect("encodes");
    stream.extend(encode_watch_event("DELETED", &cm).expect("encodes"));
    let (kind, object, rest) = decode_watch_frame(&stream).expect("first frame");
    assert_eq!((kind.as_str(), &object), ("ADDED", &cm));
    let (kind, _, rest) = decode_watch_frame(rest).expect("second frame");
    assert_eq!((kind.as_str(), rest.len()), ("DELETED", 0));
    assert!(matches!(
        decode_watch_frame(&stream[..10]),
        Err(ProtoError::Truncated(_))
    ));
}

#[test]
fn bad_bodies_are_errors() {
    let good = encode_object(&fixture("v1", "Pod")).expect("encodes");
    assert!(matches!(decode_object(b""), Err(ProtoError::Empty)));
    assert!(matches!(decode_object(b"k8s\0"), Err(ProtoError::Empty)));
    assert!(matches!(
        decode_object(b"{\"kind\":\"Pod\"}"),
        Err(ProtoError::NoPrefix)
    ));
    for cut in [5, 12, good.len() / 2, good.len() - 1] {
        assert!(decode_object(&good[..cut]).is_err(), "cut at {cut}");
    }
    let no_kind = [b"k8s\0".as_slice(), &[0x0a, 0x04, 0x0a, 0x02, b'v', b'1']].concat();
    assert!(matches!(
        decode_object(&no_kind),
        Err(ProtoError::MissingTypeMeta("kind"))
    ));
}

proptest! {
    #[test]
    fn garbage_after_the_prefix_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..256)) {
        let body = [b"k8s\0".as_slice(), &tail].concat();
        let _ = decode_object(&body);
        let _ = decode_watch_frame(&tail);
    }

    #[test]
    fn flipped_bytes_in_a_real_pod_never_panic(at in 4usize..200, to in any::<u8>()) {
        let mut body = encode_object(&fixture("v1", "Pod")).unwrap_or_default();
        let at = at % body.len().max(1);
        body[at] = to;
        let _ = decode_object(&body);
    }
}

/// `/openapi/v2` decodes as gnostic's Document: every served kind's definition is tagged with
/// its group/version/kind, `$ref`s point at `#/definitions/`, and the lists the server merges
/// carry their patch strategy.
#[test]
fn openapi_v2_is_a_gnostic_document() {
    let desc = super::descriptors::named("openapi.v2.Document").expect("gnostic compiled in");
    let doc = crate::openapi::v2();
    let msg =
        prost_reflect::DynamicMessage::decode(desc, doc.protobuf.as_slice()).expect("decodes");
    let doc = reflect::to_json(&msg).expect("reads");
    let plans = super::plan::plans();
    let plan = plans.find("openapi.v2.Document").expect("planned");
    let direct = super::decode::message(plans, plan, &prost::Message::encode_to_vec(&msg));
    assert_eq!(
        direct.expect("reads"),
        doc,
        "the codec reads what reflection reads"
    );
    assert_eq!(doc["swagger"], "2.0");
    let definitions = doc["definitions"]["additional_properties"]
        .as_array()
        .expect("definitions");
    let find = |name: &str| {
        definitions
            .iter()
            .find(|d| d["name"] == name)
            .map(|d| d["value"].clone())
            .unwrap_or_else(|| panic!("no definition {name}"))
    };
    for info in RESOURCES {
        let group = if info.group.is_empty() {
            "core"
        } else {
            info.group.split('.').next().unwrap_or_default()
        };
        let name = format!("io.k8s.api.{group}.{}.{}", info.version, info.kind);
        let schema = find(&name);
        let gvk = schema["vendor_extension"][0]["value"]["yaml"]
            .as_str()
            .unwrap_or_default();
        assert!(
            gvk.contains(&format!("kind: {}", info.kind)),
            "{name}: {gvk}"
        );
    }
    let property = |definition: &str, field: &str| {
        find(definition)["properties"]["additional_properties"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["name"] == field))
            .map(|p| p["value"].clone())
            .unwrap_or_else(|| panic!("no {definition}.{field}"))
    };
    let containers = property("io.k8s.api.core.v1.PodSpec", "containers");
    assert_eq!(
        containers["items"]["schema"][0]["_ref"],
        "#/definitions/io.k8s.api.core.v1.Container"
    );
    let extensions: Vec<(String, String)> = containers["vendor_extension"]
        .as_array()
        .expect("extensions")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or_default().to_owned(),
                e["value"]["yaml"]
                    .as_str()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            )
        })
        .collect();
    assert!(
        extensions.contains(&("x-kubernetes-patch-merge-key".into(), "name".into())),
        "{extensions:?}"
    );
    assert!(
        extensions.contains(&("x-kubernetes-patch-strategy".into(), "merge".into())),
        "{extensions:?}"
    );
    let spec = property("io.k8s.api.apps.v1.Deployment", "spec");
    assert_eq!(
        spec["_ref"], "#/definitions/io.k8s.api.apps.v1.DeploymentSpec",
        "{spec}"
    );
}
