//! Property tests: `apply_patch` returns Ok or Err, never panics, for every patch type on
//! arbitrary JSON objects and bodies (arbitrary bytes, arbitrary JSON, and patch-shaped JSON
//! full of directives), and what it returns is always an object.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::patch::{ApplyOptions, PatchType, apply_patch};

const TYPES: [PatchType; 4] = [
    PatchType::Json,
    PatchType::Merge,
    PatchType::StrategicMerge,
    PatchType::Apply,
];
const KINDS: [&str; 4] = ["Deployment", "Pod", "Service", "Widget"];

/// Keys that hit the merge-key table and every directive.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("spec".to_owned()),
        Just("template".to_owned()),
        Just("containers".to_owned()),
        Just("name".to_owned()),
        Just("image".to_owned()),
        Just("ports".to_owned()),
        Just("port".to_owned()),
        Just("metadata".to_owned()),
        Just("finalizers".to_owned()),
        Just("apiVersion".to_owned()),
        Just("kind".to_owned()),
        Just("$patch".to_owned()),
        Just("$retainKeys".to_owned()),
        Just("$setElementOrder/containers".to_owned()),
        Just("$deleteFromPrimitiveList/finalizers".to_owned()),
        Just("op".to_owned()),
        Just("path".to_owned()),
        Just("from".to_owned()),
        Just("value".to_owned()),
        "[a-z$/]{0,6}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("replace"),
            Just("delete"),
            Just("merge"),
            Just("add"),
            Just("remove"),
            Just("copy"),
            Just("move"),
            Just("test"),
            Just(""),
            Just("/spec"),
            Just("/spec/containers/0"),
            Just("/spec/-"),
            Just("Deployment"),
            Just("apps/v1"),
            Just("app"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
        ".{0,8}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(Map::from_iter(kv))),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    prop::collection::vec((key(), json_value()), 0..6)
        .prop_map(|kv| Value::Object(Map::from_iter(kv)))
}

fn run(
    kind: &str,
    original: Option<&Value>,
    body: &[u8],
    force: bool,
) -> Result<(), TestCaseError> {
    for t in TYPES {
        let opts = ApplyOptions {
            field_manager: Some("m".into()),
            force,
        };
        if let Ok(v) = apply_patch(kind, original, body, t, &opts) {
            prop_assert!(v.is_object(), "{t:?} returned {v}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256), original in object(), k in 0..4usize) {
        run(KINDS[k], Some(&original), &body, false)?;
        run(KINDS[k], None, &body, false)?;
    }

    #[test]
    fn arbitrary_json_never_panics(body in json_value(), original in object(), k in 0..4usize, force in any::<bool>()) {
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        run(KINDS[k], Some(&original), &bytes, force)?;
        run(KINDS[k], None, &bytes, force)?;
    }

    #[test]
    fn repeated_applies_by_two_managers_never_panic(a in object(), b in object(), force in any::<bool>()) {
        let stamp = |mut v: Value| {
            if let Some(m) = v.as_object_mut() {
                m.insert("apiVersion".into(), json!("apps/v1"));
                m.insert("kind".into(), json!("Deployment"));
            }
            serde_json::to_vec(&v).unwrap_or_default()
        };
        let opts = |m: &str| ApplyOptions { field_manager: Some(m.into()), force };
        let Ok(first) = apply_patch("Deployment", None, &stamp(a.clone()), PatchType::Apply, &opts("one")) else {
            return Ok(());
        };
        let second = apply_patch("Deployment", Some(&first), &stamp(b), PatchType::Apply, &opts("two"));
        if let Ok(second) = second {
            let again = apply_patch("Deployment", Some(&second), &stamp(a), PatchType::Apply, &opts("one"));
            prop_assert!(again.is_ok() || !force, "a forced apply failed: {again:?}");
        }
    }
}

#[test]
fn deeply_nested_bodies_are_refused_not_overflowed() {
    let opts = ApplyOptions {
        field_manager: Some("m".into()),
        force: false,
    };
    let depth = 100_000;
    let json_body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let yaml_body = format!("{}x", "- ".repeat(depth));
    let flow_yaml = format!("{}{}", "{a: ".repeat(depth), "}".repeat(depth));
    for body in [json_body, yaml_body, flow_yaml] {
        for t in TYPES {
            let got = apply_patch("Pod", Some(&json!({})), body.as_bytes(), t, &opts);
            assert!(got.is_err(), "{t:?}");
        }
    }
}

#[test]
fn big_keyed_lists_merge_quickly() {
    let n = 20_000;
    let live: Vec<Value> = (0..n)
        .map(|i| json!({"name": format!("c{i}"), "image": "a"}))
        .collect();
    let patch: Vec<Value> = (0..n)
        .rev()
        .map(|i| json!({"name": format!("c{i}"), "image": "b"}))
        .collect();
    let order: Vec<Value> = (0..n).map(|i| json!({"name": format!("c{i}")})).collect();
    let original = json!({"spec": {"containers": live}});
    let body = json!({"spec": {"$setElementOrder/containers": order.clone(), "containers": patch.iter().rev().collect::<Vec<_>>()}});
    let started = std::time::Instant::now();
    let got = apply_patch(
        "Pod",
        Some(&original),
        &serde_json::to_vec(&body).unwrap_or_default(),
        PatchType::StrategicMerge,
        &ApplyOptions::default(),
    )
    .expect("applies");
    assert_eq!(
        got["spec"]["containers"][n - 1],
        json!({"name": format!("c{}", n - 1), "image": "b"})
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}
