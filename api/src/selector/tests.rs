//! Tests of `selector`: parse/print/match tables for label and field selectors, the errors
//! Kubernetes gives, `LabelSelector` from specs, and property tests that no input panics.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use proptest::prelude::*;
use serde_json::json;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn label_selectors_parse_print_and_match() {
    let web = labels(&[("app", "web"), ("tier", "front"), ("n", "5")]);
    let none = labels(&[]);
    // (name, selector, printed form, matches web, matches no labels)
    let cases = [
        ("empty", "", "", true, true),
        ("blank", "  ", "", true, true),
        ("equals", "app=web", "app=web", true, false),
        ("double equals", "app==web", "app=web", true, false),
        ("not equals", "app!=web", "app!=web", false, true),
        ("not equals other", "app!=db", "app!=db", true, true),
        (
            "in",
            "tier in (front,back)",
            "tier in (back,front)",
            true,
            false,
        ),
        (
            "notin",
            "tier notin (back)",
            "tier notin (back)",
            true,
            true,
        ),
        (
            "notin hit",
            "tier notin (front)",
            "tier notin (front)",
            false,
            true,
        ),
        ("exists", "app", "app", true, false),
        ("does not exist", "!canary", "!canary", true, true),
        ("does not exist hit", "!app", "!app", false, true),
        (
            "and, sorted by key",
            "tier=front, app=web",
            "app=web,tier=front",
            true,
            false,
        ),
        (
            "whitespace",
            "  app = web ,tier in ( front , back ) ",
            "app=web,tier in (back,front)",
            true,
            false,
        ),
        ("empty value", "app=", "app=", false, false),
        ("empty value matches empty label", "x!=", "x!=", true, true),
        (
            "prefixed key",
            "example.com/role=db",
            "example.com/role=db",
            false,
            false,
        ),
        ("greater than", "n>4", "n>4", true, false),
        ("less than", "n<5", "n<5", false, false),
        (
            "in with empty set is the empty value",
            "app in ()",
            "app in ()",
            false,
            false,
        ),
        (
            "mixed",
            "app,!canary,tier notin (x)",
            "app,!canary,tier notin (x)",
            true,
            false,
        ),
    ];
    for (name, text, printed, m_web, m_none) in cases {
        let s = LabelSelector::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.to_string(), printed, "{name}: printed");
        assert_eq!(s.matches(&web), m_web, "{name}: matches web");
        assert_eq!(s.matches(&none), m_none, "{name}: matches none");
        assert_eq!(
            LabelSelector::parse(&s.to_string()).as_ref(),
            Ok(&s),
            "{name}: reparse"
        );
    }
}

#[test]
fn bad_label_selectors_are_refused_with_reasons() {
    let cases = [
        ("trailing comma", "app=web,", "identifier after ','"),
        ("leading comma", ",app", "expected: identifier"),
        ("no key", "=web", "expected: identifier"),
        ("in without parens", "app in web", "expected: '('"),
        ("unclosed set", "app in (a,b", "')'"),
        ("two values", "app=a b", "',' or end of string"),
        ("triple equals", "app===b", "expected: identifier"),
        ("bad key chars", "ap$p=web", "invalid label key"),
        (
            "key too long",
            &format!("{}=x", "k".repeat(64)),
            "no more than 63",
        ),
        ("bad prefix", "Example.com/role=db", "prefix part"),
        (
            "empty name after prefix",
            "example.com/=db",
            "name part must be non-empty",
        ),
        ("bad value", "app=-web", "invalid label value"),
        (
            "value too long",
            &format!("app={}", "v".repeat(64)),
            "no more than 63",
        ),
        ("gt needs integer", "n>x", "integer"),
        ("bang alone", "!", "expected: identifier"),
        ("operator without key", "in (a)", "expected: identifier"),
    ];
    for (name, text, want) in cases {
        let err = LabelSelector::parse(text).expect_err(name).to_string();
        assert!(
            err.contains(want),
            "{name}: {err:?} should mention {want:?}"
        );
        assert_eq!(
            SelectorError::Syntax(String::new()).to_api_error().code,
            400
        );
    }
}

#[test]
fn label_selectors_from_specs() {
    let spec = meta::LabelSelector {
        match_labels: Some(BTreeMap::from([("app".to_string(), "web".to_string())])),
        match_expressions: Some(vec![
            meta::LabelSelectorRequirement {
                key: "tier".into(),
                operator: "In".into(),
                values: Some(vec!["front".into(), "back".into()]),
            },
            meta::LabelSelectorRequirement {
                key: "canary".into(),
                operator: "DoesNotExist".into(),
                values: None,
            },
        ]),
    };
    let s = LabelSelector::from_k8s(&spec).expect("valid");
    assert_eq!(s.to_string(), "app=web,!canary,tier in (back,front)");
    assert!(s.matches(&labels(&[("app", "web"), ("tier", "back")])));
    assert!(!s.matches(&labels(&[
        ("app", "web"),
        ("tier", "back"),
        ("canary", "1")
    ])));
    assert!(
        LabelSelector::from_k8s(&meta::LabelSelector::default())
            .expect("empty")
            .is_empty()
    );

    let bad = |operator: &str, values: Option<Vec<String>>| meta::LabelSelector {
        match_labels: None,
        match_expressions: Some(vec![meta::LabelSelectorRequirement {
            key: "k".into(),
            operator: operator.into(),
            values,
        }]),
    };
    for (name, sel) in [
        ("unknown operator", bad("Gt", Some(vec!["1".into()]))),
        ("In without values", bad("In", None)),
        ("Exists with values", bad("Exists", Some(vec!["x".into()]))),
    ] {
        assert!(
            matches!(
                LabelSelector::from_k8s(&sel),
                Err(SelectorError::InvalidRequirement { .. })
            ),
            "{name}"
        );
    }
    let from_map = LabelSelector::from_labels(&labels(&[("app", "web")])).expect("valid");
    assert!(from_map.matches_object(&json!({"metadata": {"labels": {"app": "web", "x": "y"}}})));
    assert!(!from_map.matches_object(&json!({"metadata": {"name": "unlabelled"}})));
}

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
    ] {
        assert!(
            matches!(FieldSelector::parse(text), Err(SelectorError::Syntax(_))),
            "{name}"
        );
    }
}

proptest! {
    #[test]
    fn label_parser_never_panics(text in ".{0,80}") {
        if let Ok(s) = LabelSelector::parse(&text) {
            let again = LabelSelector::parse(&s.to_string());
            prop_assert_eq!(again.as_ref(), Ok(&s));
            let _ = s.matches(&BTreeMap::new());
        }
    }

    #[test]
    fn label_parser_never_panics_on_selector_like_text(text in "[a-z!=(), <>/.in-]{0,40}") {
        let _ = LabelSelector::parse(&text).map(|s| s.to_string());
    }

    #[test]
    fn field_parser_never_panics(text in r"[a-z.=!,\\ ]{0,40}|.{0,60}") {
        if let Ok(s) = FieldSelector::parse(&text) {
            let again = FieldSelector::parse(&s.to_string());
            prop_assert_eq!(again.as_ref(), Ok(&s));
            let _ = s.matches(&json!({"a": {"b": 1}}));
        }
    }
}
