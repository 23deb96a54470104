//! Tables for the shared node-matching rules.

use k8s_openapi::api::core::v1::{Node, NodeSelectorRequirement, NodeSelectorTerm, Taint};
use serde_json::json;

use super::*;

fn node(name: &str, labels: serde_json::Value) -> Node {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).expect("a node")
}

fn toleration(v: serde_json::Value) -> Toleration {
    serde_json::from_value(v).expect("a toleration")
}

#[test]
fn tolerations_match_taints_as_kubernetes_does() {
    let taint = Taint {
        key: "dedicated".into(),
        value: Some("gpu".into()),
        effect: "NoSchedule".into(),
        ..Taint::default()
    };
    let cases = [
        (
            json!({"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}),
            true,
        ),
        (
            json!({"key": "dedicated", "operator": "Equal", "value": "gpu"}),
            true,
        ),
        (json!({"key": "dedicated", "value": "cpu"}), false),
        (json!({"key": "dedicated", "operator": "Exists"}), true),
        (json!({"operator": "Exists"}), true),
        (json!({"operator": "Exists", "effect": "NoExecute"}), false),
        (json!({"key": "other", "operator": "Exists"}), false),
        (json!({"key": "dedicated", "operator": "Bogus"}), false),
    ];
    for (t, want) in cases {
        assert_eq!(tolerates(&toleration(t.clone()), &taint), want, "{t}");
    }
}

fn term(
    expressions: &[(&str, &str, &[&str])],
    fields: &[(&str, &str, &[&str])],
) -> NodeSelectorTerm {
    let req = |(key, op, values): &(&str, &str, &[&str])| NodeSelectorRequirement {
        key: (*key).into(),
        operator: (*op).into(),
        values: Some(values.iter().map(|v| (*v).to_owned()).collect()),
    };
    NodeSelectorTerm {
        match_expressions: Some(expressions.iter().map(req).collect()),
        match_fields: Some(fields.iter().map(req).collect()),
    }
}

#[test]
fn terms_match_labels_and_the_node_name() {
    let n = node("n1", json!({"zone": "a", "cores": "8"}));
    let cases: [(NodeSelectorTerm, bool); 10] = [
        (term(&[("zone", "In", &["a", "b"])], &[]), true),
        (term(&[("zone", "NotIn", &["a"])], &[]), false),
        (term(&[("rack", "NotIn", &["x"])], &[]), true),
        (term(&[("zone", "Exists", &[])], &[]), true),
        (term(&[("zone", "DoesNotExist", &[])], &[]), false),
        (term(&[("cores", "Gt", &["4"])], &[]), true),
        (term(&[("cores", "Lt", &["4"])], &[]), false),
        (term(&[("zone", "Gt", &["4"])], &[]), false),
        (term(&[], &[("metadata.name", "In", &["n1"])]), true),
        (term(&[], &[]), false),
    ];
    for (t, want) in cases {
        assert_eq!(term_matches(&t, &n), want, "{t:?}");
    }
}

#[test]
fn a_spec_needs_its_selector_and_one_required_term() {
    let n = node("n1", json!({"zone": "a"}));
    let spec = |v: serde_json::Value| -> PodSpec { serde_json::from_value(v).expect("a spec") };
    let required = |terms: serde_json::Value| {
        json!({"containers": [], "affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}})
    };
    let cases = [
        (json!({"containers": []}), true),
        (
            json!({"containers": [], "nodeSelector": {"zone": "a"}}),
            true,
        ),
        (
            json!({"containers": [], "nodeSelector": {"zone": "b"}}),
            false,
        ),
        (required(json!([])), false),
        (
            required(json!([
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
                {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}
            ])),
            true,
        ),
    ];
    for (s, want) in cases {
        assert_eq!(spec_selects_node(&spec(s.clone()), &n), want, "{s}");
    }
}
