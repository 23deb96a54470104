//! The codec's remembered lookups give what a fresh lookup gives: every field of every
//! message by its name (hashed), the plan of an apiVersion/kind (remembered after the first
//! request), and a message written twice on the wire merged as before.

use serde_json::json;

use super::super::descriptors::message_for;
use super::super::envelope::plan_of;
use super::super::plan::plans;
use super::*;

#[test]
fn every_field_of_every_message_is_found_by_its_name() {
    let plans = plans();
    let mut fields = 0;
    for plan in &plans.messages {
        for field in &plan.fields {
            let found = plan.by_name(&field.name).expect("a field by its own name");
            assert_eq!(found.number, field.number, "{}", field.name);
            fields += 1;
        }
        assert!(plan.by_name("noSuchField").is_none());
        assert!(plan.by_name("").is_none());
    }
    assert!(fields > 1000, "only {fields} fields planned");
}

#[test]
fn a_remembered_plan_is_the_plan_looked_up() {
    for info in RESOURCES {
        let api_version = info.api_version();
        for kind in [info.kind.to_owned(), info.list_kind()] {
            let fresh = message_for(&api_version, &kind)
                .and_then(|desc| plans().find(desc.full_name()))
                .unwrap_or_else(|| panic!("{api_version} {kind}: no message"));
            for _ in 0..2 {
                assert_eq!(
                    plan_of(&api_version, &kind).expect("a plan"),
                    fresh,
                    "{kind}"
                );
            }
        }
    }
    for _ in 0..2 {
        assert!(matches!(
            plan_of("example.com/v1", "Widget"),
            Err(ProtoError::NoMessage { .. })
        ));
        assert!(matches!(
            plan_of("v1", "NoSuchKind"),
            Err(ProtoError::NoMessage { .. })
        ));
    }
}

/// `metadata` (field 1 of a Pod) written twice: the second one's fields are merged into the
/// first's, a field in both taking the second's value.
#[test]
fn a_message_written_twice_is_merged() {
    let meta = |fields: &[(u8, &str)]| {
        let mut raw = vec![];
        for (number, text) in fields {
            raw.extend_from_slice(&[(number << 3) | 2, text.len() as u8]);
            raw.extend_from_slice(text.as_bytes());
        }
        let mut out = vec![0x0a, raw.len() as u8];
        out.extend(raw);
        out
    };
    // ObjectMeta: name 1, generateName 2, namespace 3.
    let mut raw = meta(&[(1, "a"), (2, "gen-")]);
    raw.extend(meta(&[(3, "ns"), (1, "b")]));
    let mut body = b"k8s\0".to_vec();
    body.extend_from_slice(&[0x0a, 0x09, 0x0a, 0x02, b'v', b'1', 0x12, 0x03]);
    body.extend_from_slice(b"Pod");
    body.extend_from_slice(&[0x12, raw.len() as u8]);
    body.extend_from_slice(&raw);
    let pod = decode_object(&body).expect("decodes");
    assert_eq!(
        pod,
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "b", "generateName": "gen-", "namespace": "ns"}})
    );
}
