//! Validation cases for Roles, ClusterRoles and their bindings, worded as kube-apiserver words
//! them.

use serde_json::{Value, json};

use super::rules::{case, run};
use super::{info, with, without};
use crate::validate::validate_update;

fn role() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "pod-reader", "namespace": "dev"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    })
}

fn binding() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "system:ops"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "dev"},
                     {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "ops"}]
    })
}

#[test]
fn role_rules() {
    let urls = json!([{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]);
    run(vec![
        case("good role", "Role", role(), None),
        case(
            "colon in a name",
            "Role",
            with(role(), "/metadata/name", json!("system:x")),
            None,
        ),
        case(
            "slash in a name",
            "Role",
            with(role(), "/metadata/name", json!("a/b")),
            Some(("metadata.name", "may not contain '/'")),
        ),
        case(
            "no verbs",
            "Role",
            with(role(), "/rules/0/verbs", json!([])),
            Some(("rules[0].verbs", "verbs must contain at least one value")),
        ),
        case(
            "no groups",
            "Role",
            without(role(), "/rules/0/apiGroups"),
            Some((
                "rules[0].apiGroups",
                "resource rules must supply at least one api group",
            )),
        ),
        case(
            "no resources",
            "Role",
            with(role(), "/rules/0/resources", json!([])),
            Some((
                "rules[0].resources",
                "resource rules must supply at least one resource",
            )),
        ),
        case(
            "URLs in a Role",
            "Role",
            with(role(), "/rules", urls.clone()),
            Some((
                "rules[0].nonResourceURLs",
                "namespaced rules cannot apply to non-resource URLs",
            )),
        ),
        case(
            "URLs in a ClusterRole",
            "ClusterRole",
            with(
                without(
                    with(role(), "/kind", json!("ClusterRole")),
                    "/metadata/namespace",
                ),
                "/rules",
                urls,
            ),
            None,
        ),
        case(
            "URLs and resources",
            "ClusterRole",
            with(
                without(
                    with(role(), "/kind", json!("ClusterRole")),
                    "/metadata/namespace",
                ),
                "/rules/0/nonResourceURLs",
                json!(["/x"]),
            ),
            Some((
                "rules[0].nonResourceURLs",
                "rules cannot apply to both regular resources and non-resource URLs",
            )),
        ),
    ]);
}

#[test]
fn binding_rules() {
    let rb = with(
        with(binding(), "/kind", json!("RoleBinding")),
        "/metadata/namespace",
        json!("dev"),
    );
    run(vec![
        case("good binding", "ClusterRoleBinding", binding(), None),
        case(
            "role binding to a Role",
            "RoleBinding",
            with(rb.clone(), "/roleRef/kind", json!("Role")),
            None,
        ),
        case(
            "cluster binding to a Role",
            "ClusterRoleBinding",
            with(binding(), "/roleRef/kind", json!("Role")),
            Some(("roleRef.kind", "supported values: \"ClusterRole\"")),
        ),
        case(
            "foreign roleRef group",
            "ClusterRoleBinding",
            with(binding(), "/roleRef/apiGroup", json!("x")),
            Some(("roleRef.apiGroup", "Unsupported value: \"x\"")),
        ),
        case(
            "no roleRef name",
            "ClusterRoleBinding",
            with(binding(), "/roleRef/name", json!("")),
            Some(("roleRef.name", "Required value")),
        ),
        case(
            "account without namespace",
            "ClusterRoleBinding",
            without(binding(), "/subjects/0/namespace"),
            Some(("subjects[0].namespace", "Required value")),
        ),
        case(
            "account without namespace in a RoleBinding",
            "RoleBinding",
            without(rb, "/subjects/0/namespace"),
            None,
        ),
        case(
            "unknown subject kind",
            "ClusterRoleBinding",
            with(binding(), "/subjects/1/kind", json!("Robot")),
            Some(("subjects[1].kind", "Unsupported value: \"Robot\"")),
        ),
        case(
            "group without the RBAC group",
            "ClusterRoleBinding",
            without(binding(), "/subjects/1/apiGroup"),
            Some(("subjects[1].apiGroup", "Unsupported value")),
        ),
    ]);
    let changed = with(binding(), "/roleRef/name", json!("edit"));
    let errs = validate_update(info("ClusterRoleBinding"), &binding(), &changed).unwrap_err();
    assert!(
        errs.iter()
            .any(|e| e.field == "roleRef" && e.message.contains("cannot change roleRef")),
        "{errs:?}"
    );
}
