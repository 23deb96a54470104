//! Reconciling stored default roles and bindings, by table: what is added, what is kept, what
//! is left alone.

use serde_json::{Value, json};

use super::bootstrap;
use super::reconcile::{Reconciled, reconcile_default};

fn role(annotations: Value, labels: Value, rules: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "r", "labels": labels, "annotations": annotations,
            "resourceVersion": "7", "uid": "u-1"},
        "rules": rules})
}

fn binding(role_ref: &str, subjects: Value) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "b", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
            "resourceVersion": "9"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_ref},
        "subjects": subjects})
}

fn auto() -> Value {
    json!({"rbac.authorization.kubernetes.io/autoupdate": "true"})
}

fn boot() -> Value {
    json!({"kubernetes.io/bootstrapping": "rbac-defaults"})
}

fn get_pods() -> Value {
    json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]})
}

fn get_nodes() -> Value {
    json!({"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]})
}

#[test]
fn roles_table() {
    let expected = role(auto(), boot(), json!([get_pods(), get_nodes()]));
    let user = json!({"user": "x"});
    let both_labels = json!({"kubernetes.io/bootstrapping": "rbac-defaults", "team": "a"});
    // (existing, what should happen)
    let table = [
        // Same rules, stored metadata: nothing to do.
        (
            role(auto(), boot(), json!([get_pods(), get_nodes()])),
            Reconciled::Unchanged,
        ),
        // Broader stored rules cover the default.
        (
            role(
                auto(),
                boot(),
                json!([{"apiGroups": [""], "resources": ["*"], "verbs": ["*"]}]),
            ),
            Reconciled::Unchanged,
        ),
        // A rule missing (an older version's default): added, the extra one kept.
        (
            role(auto(), boot(), json!([get_pods(), user.clone()])),
            Reconciled::Update(role(
                auto(),
                boot(),
                json!([get_pods(), user.clone(), get_nodes()]),
            )),
        ),
        // autoupdate "false": left as it is, whatever it lacks.
        (
            role(
                json!({"rbac.authorization.kubernetes.io/autoupdate": "false"}),
                json!({}),
                json!([]),
            ),
            Reconciled::Protected,
        ),
        // A missing label is added; a stored label is kept.
        (
            role(
                auto(),
                json!({"team": "a"}),
                json!([get_pods(), get_nodes()]),
            ),
            Reconciled::Update(role(auto(), both_labels, json!([get_pods(), get_nodes()]))),
        ),
        // No annotation at all: reconciled (kube treats only "false" as protected), and given it.
        (
            role(json!({}), boot(), json!([get_pods(), get_nodes()])),
            Reconciled::Update(role(auto(), boot(), json!([get_pods(), get_nodes()]))),
        ),
    ];
    for (i, (existing, want)) in table.into_iter().enumerate() {
        assert_eq!(reconcile_default(&expected, &existing), want, "row {i}");
    }
}

#[test]
fn aggregation_selectors_are_added_and_unexpected_ones_dropped() {
    let selector = |label: &str| json!({"matchLabels": {label: "true"}});
    let mut expected = role(auto(), boot(), json!([]));
    expected["aggregationRule"] = json!({"clusterRoleSelectors": [selector("a"), selector("b")]});
    let mut existing = role(auto(), boot(), json!([get_pods()]));
    existing["aggregationRule"] = json!({"clusterRoleSelectors": [selector("a"), selector("c")]});
    let mut want = existing.clone();
    want["aggregationRule"] =
        json!({"clusterRoleSelectors": [selector("a"), selector("c"), selector("b")]});
    assert_eq!(
        reconcile_default(&expected, &existing),
        Reconciled::Update(want),
        "aggregated rules are the aggregation controller's: kept"
    );
    let plain = role(auto(), boot(), json!([get_pods()]));
    assert_eq!(
        reconcile_default(&plain, &existing),
        Reconciled::Update(role(auto(), boot(), json!([get_pods()])))
    );
}

#[test]
fn bindings_table() {
    let alice = json!({"kind": "User", "name": "alice"});
    let alice_stored =
        json!({"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"});
    let bob = json!({"kind": "User", "name": "bob"});
    let sa = json!({"kind": "ServiceAccount", "name": "alice", "namespace": "kube-system"});
    let expected = binding("view", json!([alice.clone(), sa.clone()]));
    let mut recreated = binding("view", json!([alice_stored.clone(), sa.clone()]));
    recreated["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("resourceVersion");
    let table = [
        (
            binding("view", json!([alice_stored.clone(), sa.clone()])),
            Reconciled::Unchanged,
        ),
        (
            binding("view", json!([bob.clone()])),
            Reconciled::Update(binding(
                "view",
                json!([bob.clone(), alice.clone(), sa.clone()]),
            )),
        ),
        // Same name, another kind: a different subject.
        (
            binding("view", json!([alice_stored.clone()])),
            Reconciled::Update(binding("view", json!([alice_stored.clone(), sa.clone()]))),
        ),
        (
            binding("edit", json!([alice_stored.clone(), sa.clone()])),
            Reconciled::Recreate(recreated),
        ),
    ];
    for (i, (existing, want)) in table.into_iter().enumerate() {
        assert_eq!(reconcile_default(&expected, &existing), want, "row {i}");
    }
}

#[test]
fn every_default_is_unchanged_against_itself() {
    for (_, obj) in bootstrap::objects() {
        assert_eq!(
            reconcile_default(&obj, &obj),
            Reconciled::Unchanged,
            "{}",
            obj["metadata"]["name"]
        );
    }
}
