//! The plan-driven codec against the reflective conversion it replaced (`reflect`), and the
//! field numbers `special` relies on against the vendored protos.

use serde_json::json;

use super::super::{decode, descriptors, encode, message_for, plan};
use super::fixture;
use super::reflect;
use crate::resources::RESOURCES;

/// The plan-driven codec against the reflective one it replaced (`reflect`): for every served
/// kind, each reads what the other writes as the same JSON object, and for objects without
/// multi-entry maps (whose order prost-reflect does not keep) writes the same bytes.
#[test]
fn the_codec_agrees_with_reflection_on_every_served_kind() {
    let plans = plan::plans();
    for info in RESOURCES {
        let api_version = info.api_version();
        let object = fixture(&api_version, info.kind);
        let desc = message_for(&api_version, info.kind).expect("a message");
        let plan = plans.find(desc.full_name()).expect("planned");
        let mut direct = Vec::new();
        encode::message(plans, plan, &object, &mut direct).expect("encodes");
        let reflected =
            prost::Message::encode_to_vec(&reflect::from_json(&desc, &object).expect("reflects"));
        let read_back = |bytes: &[u8]| {
            let mut json = decode::message(plans, plan, bytes).expect("decodes");
            json["apiVersion"] = json!(api_version);
            json["kind"] = json!(info.kind);
            json
        };
        assert_eq!(
            read_back(&reflected),
            object,
            "{} written by reflection",
            info.kind
        );
        let msg = prost_reflect::DynamicMessage::decode(desc.clone(), direct.as_slice())
            .expect("reflection reads the codec's bytes");
        let mut by_reflection = reflect::to_json(&msg).expect("to json");
        by_reflection["apiVersion"] = json!(api_version);
        by_reflection["kind"] = json!(info.kind);
        assert_eq!(by_reflection, object, "{} read by reflection", info.kind);
    }
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a",
        "labels": {"one": "1"}, "creationTimestamp": "2026-12-05T17:00:01Z"}, "data": {"k": "v"}});
    let desc = message_for("v1", "ConfigMap").expect("a message");
    let reflected =
        prost::Message::encode_to_vec(&reflect::from_json(&desc, &config_map).expect("reflects"));
    let mut direct = Vec::new();
    let plan = plans.find(desc.full_name()).expect("planned");
    encode::message(plans, plan, &config_map, &mut direct).expect("encodes");
    assert_eq!(direct, reflected, "the same bytes");
}

/// The field numbers `special` writes and reads are the vendored protos' own.
#[test]
fn special_field_numbers_are_the_protos() {
    let cases = [
        (
            "k8s.io.apimachinery.pkg.apis.meta.v1.Time",
            &["seconds", "nanos"][..],
        ),
        (
            "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime",
            &["seconds", "nanos"],
        ),
        (
            "k8s.io.apimachinery.pkg.apis.meta.v1.Duration",
            &["duration"],
        ),
        ("k8s.io.apimachinery.pkg.api.resource.Quantity", &["string"]),
        (
            "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
            &["type", "intVal", "strVal"],
        ),
        ("k8s.io.apimachinery.pkg.runtime.RawExtension", &["raw"]),
        ("k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1", &["Raw"]),
        ("k8s.io.apimachinery.pkg.apis.meta.v1.Verbs", &["items"]),
        ("k8s.io.api.authentication.v1.ExtraValue", &["items"]),
    ];
    for (message, fields) in cases {
        let desc = descriptors::named(message).expect(message);
        for (i, name) in fields.iter().enumerate() {
            let field = desc.get_field_by_name(name).expect(name);
            assert_eq!(field.number() as usize, i + 1, "{message}.{name}");
        }
    }
}
