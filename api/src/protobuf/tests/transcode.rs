//! The transcoder against the `Value` path: for every served kind, its list and the JSON
//! corners (nulls, unknown keys, numbers for quantities, escapes, a stored resourceVersion),
//! `encode_stored_object`/`encode_stored_list` must write exactly the bytes `encode_object`
//! writes for the parsed object with its resourceVersion set, and refuse what it refuses.

use serde_json::{Value, json};

use super::*;
use crate::resources::RESOURCES;

/// The object as the API server stores it: compact JSON without `metadata.resourceVersion`.
fn stored(object: &Value) -> Vec<u8> {
    let mut copy = object.clone();
    if let Some(meta) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    serde_json::to_vec(&copy).expect("serialises")
}

/// What the API server answered before: parse, set the resourceVersion, encode.
fn parsed(json: &[u8], revision: u64) -> Value {
    let mut object: Value = serde_json::from_slice(json).expect("JSON");
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), json!(revision.to_string()));
    }
    object
}

fn via_value(json: &[u8], revision: u64) -> Result<Vec<u8>, ProtoError> {
    encode_object(&parsed(json, revision))
}

#[test]
fn every_served_kind_and_its_list_are_the_bytes_of_the_value_path() {
    for info in RESOURCES {
        let (api_version, kind) = (info.api_version(), info.kind);
        let json = stored(&super::fixture(&api_version, kind));
        let want = via_value(&json, 7).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let got = encode_stored_object(&api_version, kind, &json, 7)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(got, want, "{kind}");

        let list_meta = json!({"resourceVersion": "12", "continue": "abc"});
        let list = json!({"apiVersion": api_version, "kind": info.list_kind(),
            "metadata": list_meta, "items": [parsed(&json, 7), parsed(&json, 9)]});
        let want = encode_object(&list).unwrap_or_else(|e| panic!("{kind}List: {e}"));
        let items = [(json.as_slice(), 7), (json.as_slice(), 9)];
        let got = encode_stored_list(&api_version, &info.list_kind(), &list_meta, items)
            .unwrap_or_else(|e| panic!("{kind}List: {e}"));
        assert_eq!(got, want, "{kind}List");
        let empty = json!({"apiVersion": api_version, "kind": info.list_kind(),
            "metadata": list_meta, "items": []});
        let got = encode_stored_list(&api_version, &info.list_kind(), &list_meta, [])
            .expect("an empty list");
        assert_eq!(got, encode_object(&empty).expect("encodes"), "{kind}List");
    }
}

/// JSON text the serialiser of a `Value` would not write (keys out of order, escapes,
/// spaces), nulls, unknown keys, numbers where strings are usual, a stored resourceVersion.
#[test]
fn json_corners_are_the_bytes_of_the_value_path() {
    let pods = [
        r#"{"kind":"Pod","apiVersion":"v1","spec":{"containers":[{"name":"a","args":null,
            "resources":{"limits":{"cpu":2,"memory":0.5},"requests":{"cpu":"1e3"}},
            "ports":[{"containerPort":80,"hostPort":null}],
            "readinessProbe":{"httpGet":{"port":"http"},"periodSeconds":-5},
            "livenessProbe":{"tcpSocket":{"port":8080}}}],
            "nodeName":null,"unknownField":{"deep":[1,{"x":null}]},"priority":-7,
            "activeDeadlineSeconds":9007199254740993},
          "metadata":{"uid":"u","name":"p\u00e9\"q","resourceVersion":"99","labels":null,
            "annotations":{"a\\b":"\ud83d\ude00","b":""},"deletionTimestamp":null,
            "creationTimestamp":"2026-12-05T17:00:01Z","generation":0},
          "status":{"phase":"Pending","startTime":null,"podIPs":[{"ip":"10.0.0.1"}]},
          "extra":[null,true]}"#,
        r#" { "apiVersion" : "v1" , "kind" : "Pod" , "metadata" : { } } "#,
        r#"{"apiVersion":"v1","kind":"Pod"}"#,
        r#"{"apiVersion":"v1","kind":"Pod","metadata":null,"spec":{}}"#,
    ];
    for pod in pods {
        let want = via_value(pod.as_bytes(), 31).expect("the value path encodes it");
        let got = encode_stored_object("v1", "Pod", pod.as_bytes(), 31).expect("transcodes");
        assert_eq!(got, want, "{pod}");
    }
    let secret = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},
        "data":{"empty":"","password":"aHVudGVyMg=="},"type":"Opaque","immutable":true}"#;
    let got = encode_stored_object("v1", "Secret", secret.as_bytes(), 1).expect("transcodes");
    assert_eq!(got, via_value(secret.as_bytes(), 1).expect("encodes"));
}

/// What the `Value` path refuses is refused here too; what only a `Value` would fix up (map
/// keys out of order, a key twice) or another kind is refused, so the caller takes that path.
#[test]
fn what_cannot_be_transcoded_is_an_error() {
    let refused_by_both = [
        r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"k":"%%%"}}"#,
        r#"{"apiVersion":"v1","kind":"Secret","metadata":{"creationTimestamp":"yesterday"}}"#,
        r#"{"apiVersion":"v1","kind":"Secret","metadata":{"generation":"1"}}"#,
        r#"{"apiVersion":"v1","kind":"Secret","metadata":{"finalizers":["a",null]}}"#,
        r#"{"apiVersion":"v1","kind":"Secret","metadata":{"labels":{"a":null}}}"#,
        r#"{"apiVersion":"v1","kind":"Secret","metadata":{"generation":1.5}}"#,
        r#"{"apiVersion":"v1","kind":"Secret","metadata":"m"}"#,
        r#"{"kind":"Secret","metadata":{}}"#,
        r#"[1]"#,
    ];
    for json in refused_by_both {
        assert!(via_value(json.as_bytes(), 1).is_err(), "{json}");
        let got = encode_stored_object("v1", "Secret", json.as_bytes(), 1);
        assert!(got.is_err(), "{json}");
    }
    let only_a_value_fixes = [
        r#"{"apiVersion":"v1","kind":"Secret","data":{"b":"","a":""}}"#,
        r#"{"apiVersion":"v1","kind":"Secret","type":"a","type":"b"}"#,
        r#"{"apiVersion":"v1","kind":"ConfigMap"}"#,
        r#"{"apiVersion":"v2","kind":"Secret"}"#,
    ];
    for json in only_a_value_fixes {
        let got = encode_stored_object("v1", "Secret", json.as_bytes(), 1);
        assert!(got.is_err(), "{json}");
    }
    for broken in ["", "{", r#"{"apiVersion":"v1","kind":"Secret"} x"#, "null"] {
        assert!(encode_stored_object("v1", "Secret", broken.as_bytes(), 1).is_err());
    }
    let no_message = encode_stored_object("example.com/v1", "Widget", b"{}", 1);
    assert!(matches!(no_message, Err(ProtoError::NoMessage { .. })));
    let list = encode_stored_list("v1", "SecretList", &json!({}), [(b"[]".as_slice(), 1)]);
    assert!(list.is_err());
}
