//! Property test: no validation, defaulting or schema function panics on arbitrary JSON, for
//! any served kind, and arbitrary values grafted into realistic objects.

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::{deployment, pod, service};
use crate::resources::RESOURCES;
use crate::validate::{
    apply_defaults, apply_job_selector, check_schema, validate_create, validate_update,
};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-zA-Z0-9./%:@ _-]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "spec",
            "containers",
            "metadata",
            "name",
            "ports",
            "selector",
            "Always",
            "25%",
            "100m"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "apiVersion",
            "kind",
            "metadata",
            "name",
            "labels",
            "spec",
            "containers",
            "image",
            "ports",
            "port",
            "containerPort",
            "resources",
            "limits",
            "requests",
            "selector",
            "matchLabels",
            "template",
            "volumes",
            "volumeMounts",
            "restartPolicy",
            "strategy",
            "rollingUpdate",
            "maxSurge",
            "type",
            "data",
            "clusterIP",
            "nodePort",
            "targetPort",
            "replicas",
            "status",
        ])
        .prop_map(str::to_owned),
        "[a-z]{1,6}",
    ]
}

fn exercise(obj: &Value) {
    for info in RESOURCES {
        let _ = check_schema(info, obj);
        let mut defaulted = obj.clone();
        apply_defaults(info, &mut defaulted);
        apply_job_selector(&mut defaulted, "uid");
        let _ = validate_create(info, &defaulted);
        let _ = validate_update(info, obj, &defaulted);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics(v in json_value()) {
        exercise(&v);
    }

    #[test]
    fn grafted_values_never_panic(v in json_value(), which in 0usize..3, at in prop::sample::select(vec![
        "/spec", "/metadata", "/spec/containers/0", "/spec/template", "/spec/selector", "/spec/ports/0", "/spec/template/spec/containers",
    ])) {
        let base = [pod(), deployment(), service()][which].clone();
        let mut obj = base;
        if let Some(slot) = obj.pointer_mut(at) {
            *slot = v;
        }
        exercise(&obj);
    }
}
