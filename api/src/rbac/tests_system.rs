//! The default policy alone, aggregated as the API server aggregates it: what skiff's own
//! components (scheduler, controller manager) and the default user-facing roles may do,
//! including the built-in registry's `repositories.registry.skiff.io`.

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::ClusterRole;
use serde_json::json;

use super::tests::{DecisionRow, assert_decisions};
use super::*;

/// The bootstrap objects with every aggregated role holding what it gathers.
fn aggregated_policy() -> Policy {
    let mut p = Policy::default();
    for (plural, obj) in bootstrap::objects() {
        p.insert(plural, &obj);
    }
    for _pass in 0..3 {
        let all: BTreeMap<String, ClusterRole> = p.cluster_roles().clone();
        for role in all.values() {
            if let Some(rules) = aggregated_rules(role, &all) {
                let mut role = role.clone();
                role.rules = Some(rules);
                p.insert("clusterroles", &serde_json::to_value(role).unwrap());
            }
        }
    }
    p
}

#[test]
fn components_may_do_their_work_and_nothing_else() {
    let p = aggregated_policy();
    let scheduler = UserInfo::new("system:kube-scheduler", &[AUTHENTICATED]);
    let cm = UserInfo::new("system:kube-controller-manager", &[AUTHENTICATED]);
    // (who, verb, group/resource[/sub], namespace, name, allowed)
    let table: &[DecisionRow] = &[
        (&scheduler, "watch", "/pods", "", "", true),
        (&scheduler, "list", "/nodes", "", "", true),
        (&scheduler, "create", "/pods/binding", "dev", "web", true),
        (&scheduler, "create", "/events", "dev", "", true),
        (
            &scheduler,
            "update",
            "coordination.k8s.io/leases",
            "kube-system",
            "kube-scheduler",
            true,
        ),
        (&scheduler, "delete", "/secrets", "dev", "token", false),
        (&scheduler, "get", "/secrets", "dev", "token", false),
        (&scheduler, "create", "/pods", "dev", "", false),
        (&scheduler, "delete", "/nodes", "", "n1", false),
        (
            &scheduler,
            "create",
            "rbac.authorization.k8s.io/clusterrolebindings",
            "",
            "",
            false,
        ),
        (
            &scheduler,
            "pull",
            "registry.skiff.io/repositories",
            "dev",
            "dev/app",
            false,
        ),
        (&cm, "create", "/pods", "dev", "", true),
        (&cm, "create", "apps/replicasets", "dev", "", true),
        (&cm, "create", "apps/controllerrevisions", "dev", "", true),
        (&cm, "create", "batch/jobs", "dev", "", true),
        (
            &cm,
            "create",
            "discovery.k8s.io/endpointslices",
            "dev",
            "",
            true,
        ),
        (&cm, "create", "/endpoints", "dev", "", true),
        (&cm, "create", "/configmaps", "dev", "", true),
        (&cm, "create", "/serviceaccounts", "dev", "", true),
        (&cm, "create", "/secrets", "dev", "", true),
        (&cm, "patch", "apps/deployments/scale", "dev", "web", true),
        (&cm, "update", "apps/deployments/status", "dev", "web", true),
        (&cm, "patch", "/nodes", "", "n1", true),
        (&cm, "delete", "/pods", "dev", "web", true),
        (&cm, "list", "metrics.k8s.io/pods", "dev", "", true),
        (
            &cm,
            "create",
            "coordination.k8s.io/leases",
            "kube-system",
            "",
            true,
        ),
        (&cm, "create", "/nodes", "", "", false),
        (&cm, "create", "apps/deployments", "dev", "", false),
        (
            &cm,
            "create",
            "rbac.authorization.k8s.io/rolebindings",
            "dev",
            "",
            false,
        ),
        (
            &cm,
            "escalate",
            "rbac.authorization.k8s.io/clusterroles",
            "",
            "admin",
            false,
        ),
        (&cm, "impersonate", "/users", "", "root", false),
        (
            &cm,
            "push",
            "registry.skiff.io/repositories",
            "dev",
            "dev/app",
            false,
        ),
    ];
    assert_decisions(&p, table);
}

/// A RoleBinding of `view` in `dev` pulls `dev/*` and pushes nothing; `edit` pushes too; only
/// `admin` deletes; nothing reaches another namespace's repositories or a cluster-wide one.
#[test]
fn default_roles_pull_and_push_the_built_in_registry() {
    let mut p = aggregated_policy();
    for (name, role) in [
        ("viewers", "view"),
        ("editors", "edit"),
        ("admins", "admin"),
    ] {
        let binding = json!({"metadata": {"name": name, "namespace": "dev"},
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "dev"}]});
        p.insert("rolebindings", &binding);
    }
    let viewer = UserInfo::service_account("dev", "viewers");
    let editor = UserInfo::service_account("dev", "editors");
    let admin = UserInfo::service_account("dev", "admins");
    let repo = "registry.skiff.io/repositories";
    let table: &[DecisionRow] = &[
        (&viewer, "pull", repo, "dev", "dev/app", true),
        (&viewer, "push", repo, "dev", "dev/app", false),
        (&viewer, "pull", repo, "prod", "prod/app", false),
        (&viewer, "pull", repo, "", "app", false),
        (&editor, "pull", repo, "dev", "dev/app", true),
        (&editor, "push", repo, "dev", "dev/app", true),
        (&editor, "delete", repo, "dev", "dev/app", false),
        (&editor, "push", repo, "prod", "prod/app", false),
        (&admin, "push", repo, "dev", "dev/app", true),
        (&admin, "delete", repo, "dev", "dev/app", true),
    ];
    assert_decisions(&p, table);
}
