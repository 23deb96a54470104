//! The table-driven validation harness, and the metadata cases: each case names a rule, starts
//! from a good object, breaks one thing and expects an error with its field path and message.

use serde_json::{Value, json};

use super::{info, pod, with, without};
use crate::validate::{apply_defaults, validate_create};

/// A case: kind, object, and `None` (valid) or the expected field and a part of its message.
pub(super) struct Case {
    pub name: &'static str,
    pub kind: &'static str,
    pub obj: Value,
    pub want: Option<(&'static str, &'static str)>,
}

pub(super) fn case(
    name: &'static str,
    kind: &'static str,
    obj: Value,
    want: Option<(&'static str, &'static str)>,
) -> Case {
    Case {
        name,
        kind,
        obj,
        want,
    }
}

/// Runs every case (after defaulting) and reports all failures at once.
pub(super) fn run(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in cases {
        let mut obj = c.obj;
        apply_defaults(info(c.kind), &mut obj);
        let got = validate_create(info(c.kind), &obj);
        match (c.want, &got) {
            (None, Ok(())) => {}
            (Some((field, msg)), Err(errs))
                if errs
                    .iter()
                    .any(|e| e.field == field && e.message.contains(msg)) => {}
            _ => failures.push(format!("{}: want {:?}, got {:#?}", c.name, c.want, got)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn metadata_rules() {
    let p = pod;
    run(vec![
        case("good pod", "Pod", p(), None),
        case(
            "name required",
            "Pod",
            without(p(), "/metadata/name"),
            Some(("metadata.name", "Required value")),
        ),
        case(
            "generateName instead of name",
            "Pod",
            with(
                without(p(), "/metadata/name"),
                "/metadata/generateName",
                json!("web-"),
            ),
            None,
        ),
        case(
            "bad generateName",
            "Pod",
            with(
                without(p(), "/metadata/name"),
                "/metadata/generateName",
                json!("Web-"),
            ),
            Some(("metadata.generateName", "RFC 1123 subdomain")),
        ),
        case(
            "name not a subdomain",
            "Pod",
            with(p(), "/metadata/name", json!("Web")),
            Some((
                "metadata.name",
                "Invalid value: \"Web\": a lowercase RFC 1123 subdomain must consist of",
            )),
        ),
        case(
            "name too long",
            "Pod",
            with(p(), "/metadata/name", json!("a".repeat(254))),
            Some(("metadata.name", "must be no more than 253 characters")),
        ),
        case(
            "bad namespace",
            "Pod",
            with(p(), "/metadata/namespace", json!("Bad_NS")),
            Some(("metadata.namespace", "RFC 1123 label")),
        ),
        case(
            "label key",
            "Pod",
            with(p(), "/metadata/labels/-x", json!("v")),
            Some((
                "metadata.labels",
                "name part must consist of alphanumeric characters",
            )),
        ),
        case(
            "label key prefix",
            "Pod",
            with(p(), "/metadata/labels/Example.com~1x", json!("v")),
            Some((
                "metadata.labels",
                "prefix part a lowercase RFC 1123 subdomain",
            )),
        ),
        case(
            "prefixed label ok",
            "Pod",
            with(
                p(),
                "/metadata/labels/app.kubernetes.io~1name",
                json!("web"),
            ),
            None,
        ),
        case(
            "label value too long",
            "Pod",
            with(p(), "/metadata/labels/app", json!("v".repeat(64))),
            Some(("metadata.labels[app]", "must be no more than 63 characters")),
        ),
        case(
            "label value chars",
            "Pod",
            with(p(), "/metadata/labels/app", json!("a b")),
            Some((
                "metadata.labels[app]",
                "a valid label must be an empty string",
            )),
        ),
        case(
            "annotation key",
            "Pod",
            with(p(), "/metadata/annotations/a~1b~1c", json!("v")),
            Some(("metadata.annotations", "a qualified name must consist of")),
        ),
        case(
            "annotations too big",
            "Pod",
            with(
                p(),
                "/metadata/annotations/big",
                json!("x".repeat(300 * 1024)),
            ),
            Some((
                "metadata.annotations",
                "Too long: must have at most 262144 bytes",
            )),
        ),
        case(
            "owner reference uid",
            "Pod",
            with(
                p(),
                "/metadata/ownerReferences",
                json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1"}]),
            ),
            Some(("metadata.ownerReferences[0].uid", "Required value")),
        ),
    ]);
}
