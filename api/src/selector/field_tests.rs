//! Tests of field selectors: parse/print/match tables, escapes, `single_value`, errors, and a
//! property test that no input panics.

use proptest::prelude::*;
use serde_json::json;

use super::*;

#[test]
fn field_selectors_parse_print_and_match() {
    let pod = json!({
        "metadata": {"name": "web-1", "namespace": "default"},
        "spec": {"nodeName": "n1", "replicas": 3, "paused": false},
        "status": {"phase": "Running"},
        "involvedObject": {"uid": "u-1", "kind": "Pod"},
        "type": "Normal",
    });
    let cases = [
        ("empty", "", "", true),
        ("name", "metadata.name=web-1", "metadata.name=web-1", true),
        (
            "double equals",
            "metadata.name==web-1",
            "metadata.name=web-1",
            true,
        ),
        (
            "not equals",
            "status.phase!=Running",
            "status.phase!=Running",
            false,
        ),
        (
            "and",
            "spec.nodeName=n1,metadata.namespace=default",
            "spec.nodeName=n1,metadata.namespace=default",
            true,
        ),
        (
            "missing field is empty",
            "spec.missing=",
            "spec.missing=",
            true,
        ),
        (
            "missing field differs",
            "spec.missing!=",
            "spec.missing!=",
            false,
        ),
        ("number", "spec.replicas=3", "spec.replicas=3", true),
        ("bool", "spec.paused=false", "spec.paused=false", true),
        (
            "events",
            "involvedObject.uid=u-1,involvedObject.kind=Pod,type=Normal",
            "involvedObject.uid=u-1,involvedObject.kind=Pod,type=Normal",
            true,
        ),
        (
            "escaped comma",
            r"metadata.name=a\,b",
            r"metadata.name=a\,b",
            false,
        ),
        (
            "escaped equals",
            r"metadata.name=a\=b",
            r"metadata.name=a\=b",
            false,
        ),
        (
            "spaces",
            " metadata.name = web-1 ",
            "metadata.name=web-1",
            true,
        ),
    ];
    for (name, text, printed, matches) in cases {
        let s = FieldSelector::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.to_string(), printed, "{name}: printed");
        assert_eq!(s.matches(&pod), matches, "{name}: matches");
        assert_eq!(
            FieldSelector::parse(&s.to_string()).as_ref(),
            Ok(&s),
            "{name}: reparse"
        );
    }
    let escaped = FieldSelector::parse(r"metadata.name=a\,b\=c\\d").expect("valid");
    assert_eq!(escaped.single_value("metadata.name"), Some(r"a,b=c\d"));
}

#[test]
fn field_selector_single_value_and_errors() {
    let s = FieldSelector::parse("metadata.namespace!=x,metadata.name=web").expect("valid");
    assert_eq!(s.single_value("metadata.name"), Some("web"));
    assert_eq!(s.single_value("metadata.namespace"), None);
    assert_eq!(s.single_value("spec.nodeName"), None);
    for (name, text) in [
        ("no operator", "metadata.name"),
        ("no field", "=x"),
        ("bad escape", r"metadata.name=a\b"),
        ("empty term", "a=b,,c=d"),
        ("trailing comma", "a=b,"),
        ("field with an operator character", "a!\u{b}=x"),
        ("field with spaces inside", "meta data=x"),
    ] {
        assert!(
            matches!(FieldSelector::parse(text), Err(SelectorError::Syntax(_))),
            "{name}"
        );
    }
}

proptest! {
    #[test]
    fn field_parser_never_panics(text in r"[a-z.=!,\\ ]{0,40}|.{0,60}") {
        if let Ok(s) = FieldSelector::parse(&text) {
            let again = FieldSelector::parse(&s.to_string());
            prop_assert_eq!(again.as_ref(), Ok(&s));
            let _ = s.matches(&json!({"a": {"b": 1}}));
        }
    }
}
