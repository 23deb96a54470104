//! Tables of RBAC decisions: (subject, verb, resource, namespace) -> allow or deny against one
//! policy; rule matching edge cases; escalation coverage; aggregation.

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use serde_json::{Value, json};

use super::*;

fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

fn policy() -> Policy {
    let mut p = Policy::default();
    for (plural, obj) in bootstrap::objects() {
        p.insert(plural, &obj);
    }
    let objects = [
        (
            "roles",
            json!({"metadata": {"name": "pod-reader", "namespace": "dev"},
            "rules": [rule(&["get", "list", "watch"], &[""], &["pods"])]}),
        ),
        (
            "roles",
            json!({"metadata": {"name": "one-cm", "namespace": "dev"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["app"],
                       "verbs": ["get", "update"]}]}),
        ),
        (
            "roles",
            json!({"metadata": {"name": "logs", "namespace": "dev"},
            "rules": [rule(&["get"], &[""], &["*/log"]), rule(&["*"], &["apps"], &["deployments/scale"])]}),
        ),
        (
            "clusterroles",
            json!({"metadata": {"name": "node-viewer"},
            "rules": [rule(&["get", "list"], &[""], &["nodes"]),
                      {"nonResourceURLs": ["/logs/*", "/metrics"], "verbs": ["get"]}]}),
        ),
        (
            "rolebindings",
            json!({"metadata": {"name": "ci-reads", "namespace": "dev"},
            "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "pod-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "ci"}]}),
        ),
        (
            "rolebindings",
            json!({"metadata": {"name": "alice-cm", "namespace": "dev"},
            "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "one-cm"},
            "subjects": [{"apiGroup": GROUP, "kind": "User", "name": "alice"}]}),
        ),
        (
            "rolebindings",
            json!({"metadata": {"name": "ops-logs", "namespace": "dev"},
            "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "logs"},
            "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": "ops"}]}),
        ),
        (
            "rolebindings",
            json!({"metadata": {"name": "missing-role", "namespace": "dev"},
            "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "nope"},
            "subjects": [{"apiGroup": GROUP, "kind": "User", "name": "bob"}]}),
        ),
        (
            "rolebindings",
            json!({"metadata": {"name": "view", "namespace": "prod"},
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "node-viewer"},
            "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "dev"}]}),
        ),
        (
            "clusterrolebindings",
            json!({"metadata": {"name": "nodes"},
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "node-viewer"},
            "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": "ops"}]}),
        ),
    ];
    for (plural, obj) in objects {
        p.insert(plural, &obj);
    }
    p
}

/// A resource request by `user`: `path` is `group/resource[/subresource]` (`/pods` for core).
pub(super) fn resource(
    user: &UserInfo,
    verb: &str,
    path: &str,
    ns: &str,
    name: &str,
) -> Attributes {
    let (group, rest) = path.split_once('/').unwrap_or(("", path));
    let (resource, subresource) = rest.split_once('/').unwrap_or((rest, ""));
    Attributes {
        user: user.clone(),
        verb: verb.into(),
        target: Target::Resource(ResourceAttributes {
            namespace: ns.into(),
            api_group: group.into(),
            resource: resource.into(),
            subresource: subresource.into(),
            name: name.into(),
        }),
    }
}

#[test]
fn decisions_by_subject_verb_resource_and_namespace() {
    let p = policy();
    let ci = UserInfo::service_account("dev", "ci");
    let other_ci = UserInfo::service_account("prod", "ci");
    let alice = UserInfo::new("alice", &[AUTHENTICATED]);
    let carol = UserInfo::new("carol", &["ops", AUTHENTICATED]);
    let bob = UserInfo::new("bob", &[AUTHENTICATED]);
    let admin = UserInfo::new("root", &[SYSTEM_MASTERS]);
    // (who, verb, group/resource[/sub], namespace, name, allowed)
    let table: &[DecisionRow] = &[
        (&ci, "list", "/pods", "dev", "", true),
        (&ci, "watch", "/pods", "dev", "", true),
        (&ci, "get", "/pods", "dev", "web", true),
        (&ci, "delete", "/pods", "dev", "web", false),
        (&ci, "list", "/pods", "prod", "", false),
        (&ci, "list", "/pods", "", "", false),
        (&ci, "list", "/secrets", "dev", "", false),
        (&ci, "get", "/pods/log", "dev", "web", false),
        (&ci, "list", "/nodes", "prod", "", true),
        (&other_ci, "list", "/pods", "dev", "", false),
        (&alice, "get", "/configmaps", "dev", "app", true),
        (&alice, "update", "/configmaps", "dev", "app", true),
        (&alice, "get", "/configmaps", "dev", "other", false),
        (&alice, "list", "/configmaps", "dev", "", false),
        (&alice, "get", "/configmaps", "prod", "app", false),
        (
            &alice,
            "create",
            "authorization.k8s.io/selfsubjectaccessreviews",
            "",
            "",
            true,
        ),
        (&carol, "get", "/pods/log", "dev", "web", true),
        (&carol, "get", "/services/log", "dev", "x", true),
        (&carol, "get", "/pods", "dev", "web", false),
        (&carol, "patch", "apps/deployments/scale", "dev", "d", true),
        (&carol, "patch", "apps/deployments", "dev", "d", false),
        (&carol, "patch", "/deployments/scale", "dev", "d", false),
        (&carol, "list", "/nodes", "", "", true),
        (&carol, "delete", "/nodes", "", "n1", false),
        (&bob, "get", "/pods", "dev", "x", false),
        (&admin, "delete", "/nodes", "", "n1", true),
        (
            &admin,
            "escalate",
            "rbac.authorization.k8s.io/roles",
            "dev",
            "x",
            true,
        ),
    ];
    assert_decisions(&p, table);
}

/// (who, verb, group/resource[/sub], namespace, name, allowed)
pub(super) type DecisionRow<'a> = (&'a UserInfo, &'a str, &'a str, &'a str, &'a str, bool);

/// Asks `p` every row's question and checks its answer.
pub(super) fn assert_decisions(p: &Policy, table: &[DecisionRow]) {
    for (who, verb, path, ns, name, allowed) in table {
        let decision = p.authorize(&resource(who, verb, path, ns, name));
        assert_eq!(
            decision.allowed, *allowed,
            "{} {verb} {path} in {ns:?} name {name:?}: {decision:?}",
            who.name
        );
    }
}

#[test]
fn non_resource_urls_and_reasons() {
    let p = policy();
    let carol = UserInfo::new("carol", &["ops", AUTHENTICATED]);
    let get = |path: &str| Attributes {
        user: carol.clone(),
        verb: "get".into(),
        target: Target::NonResource { path: path.into() },
    };
    for (path, allowed) in [
        ("/metrics", true),
        ("/logs/a/b", true),
        ("/logs", false),
        ("/healthz", true),
        ("/apis/apps", true),
        ("/secret-place", false),
    ] {
        assert_eq!(p.authorize(&get(path)).allowed, allowed, "{path}");
    }
    let ci = UserInfo::service_account("dev", "ci");
    let decision = p.authorize(&resource(&ci, "list", "/pods", "dev", ""));
    assert_eq!(
        decision.reason,
        r#"RBAC: allowed by RoleBinding "ci-reads/dev" of Role "pod-reader" to ServiceAccount "ci/dev""#
    );
    let denied = resource(&ci, "list", "/pods", "prod", "");
    assert_eq!(
        denied.forbidden_message(),
        r#"User "system:serviceaccount:dev:ci" cannot list resource "pods" in API group "" in the namespace "prod""#
    );
    assert_eq!(
        get("/x").forbidden_message(),
        r#"User "carol" cannot get path "/x""#
    );
}

fn rules(values: Value) -> Vec<PolicyRule> {
    serde_json::from_value(values).unwrap()
}

#[test]
fn coverage_for_escalation() {
    let owner = rules(json!([
        {"apiGroups": [""], "resources": ["pods", "*/status"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"], "verbs": ["*"]},
        {"nonResourceURLs": ["/logs/*"], "verbs": ["get"]},
    ]));
    let covered = [
        json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]),
        json!([{"apiGroups": [""], "resources": ["pods/status"], "verbs": ["list"]}]),
        json!([{"apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"], "verbs": ["get"]}]),
        json!([{"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"], "verbs": ["delete"]}]),
        json!([{"nonResourceURLs": ["/logs/x"], "verbs": ["get"]}]),
    ];
    for wanted in covered {
        assert_eq!(covers(&owner, &rules(wanted.clone())), Ok(()), "{wanted}");
    }
    let uncovered = [
        (
            json!([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "delete", "update"]}]),
            r#"{APIGroups:[""], Resources:["pods"], Verbs:["delete" "update"]}"#,
        ),
        (
            json!([{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}]),
            r#"{APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}"#,
        ),
        (
            json!([{"apiGroups": ["*"], "resources": ["pods"], "verbs": ["get"]}]),
            r#"{APIGroups:["*"], Resources:["pods"], Verbs:["get"]}"#,
        ),
        (
            json!([{"nonResourceURLs": ["/logs*"], "verbs": ["get"]}]),
            r#"{NonResourceURLs:["/logs*"], Verbs:["get"]}"#,
        ),
    ];
    for (wanted, missing) in uncovered {
        let got = covers(&owner, &rules(wanted.clone())).unwrap_err();
        let described: Vec<String> = got.iter().map(describe_rule).collect();
        assert_eq!(described, [missing], "{wanted}");
    }
    let everything = super::everything();
    assert_eq!(covers(&everything, &owner), Ok(()));
}

#[test]
fn aggregation_follows_labels() {
    let p = policy();
    let all: &BTreeMap<String, ClusterRole> = p.cluster_roles();
    let view = aggregated_rules(&all["view"], all).unwrap();
    assert_eq!(
        view.len(),
        9,
        "system:aggregate-to-view (with the registry's pull) and the metrics reader"
    );
    let edit = aggregated_rules(&all["edit"], all).unwrap();
    assert!(edit.len() >= 10, "edit: {edit:?}");
    assert!(aggregated_rules(&all["cluster-admin"], all).is_none());
    // admin aggregates edit only once edit holds rules: before that, its own role's.
    let admin = aggregated_rules(&all["admin"], all).unwrap();
    assert_eq!(admin.len(), 4, "{admin:?}");
}
