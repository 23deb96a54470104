//! Tests of label selectors: parse/print/match tables, the errors Kubernetes gives,
//! `LabelSelector` from specs, and property tests that no input panics.

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

}
