//! The default policy kube-apiserver bootstraps (`pkg/apis/rbac/bootstrappolicy`): the
//! user-facing ClusterRoles (cluster-admin, and admin, edit and view, which aggregate the
//! `system:aggregate-to-*` roles through the `rbac.authorization.k8s.io/aggregate-to-*`
//! labels), the discovery roles every authenticated user is bound to, and the roles of the
//! scheduler, the controller manager and nodes. The API server creates each object that is
//! missing at start; existing ones are left as an administrator edited them.

use serde_json::{Value, json};

use super::controller_roles;

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];
const READ_WRITE: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

pub(super) fn rule(verbs: &[&str], group: &str, resources: &[&str]) -> Value {
    json!({"apiGroups": [group], "resources": resources, "verbs": verbs})
}

fn urls(verbs: &[&str], urls: &[&str]) -> Value {
    json!({"nonResourceURLs": urls, "verbs": verbs})
}

fn metadata(name: &str, labels: &[(&str, &str)]) -> Value {
    let mut all = serde_json::Map::new();
    all.insert("kubernetes.io/bootstrapping".into(), json!("rbac-defaults"));
    for (k, v) in labels {
        all.insert((*k).into(), json!(v));
    }
    json!({
        "name": name,
        "labels": all,
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
    })
}

fn cluster_role(name: &str, labels: &[(&str, &str)], rules: Vec<Value>) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": metadata(name, labels), "rules": rules,
    })
}

/// A ClusterRole whose rules are those of the ClusterRoles labelled `label: "true"`.
fn aggregated(name: &str, labels: &[(&str, &str)], label: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": metadata(name, labels),
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {label: "true"}}]},
        "rules": [],
    })
}

fn binding(name: &str, role: &str, subjects: &[(&str, &str)]) -> Value {
    let subjects: Vec<Value> = subjects
        .iter()
        .map(|(kind, who)| json!({"apiGroup": super::GROUP, "kind": kind, "name": who}))
        .collect();
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": metadata(name, &[]),
        "roleRef": {"apiGroup": super::GROUP, "kind": "ClusterRole", "name": role},
        "subjects": subjects,
    })
}

/// The built-in registry's RBAC pseudo-resource, `repositories.registry.skiff.io`: verbs
/// `pull`, `push`, `delete`; a repository `<ns>/<name>` is in namespace `<ns>`.
const REGISTRY_GROUP: &str = "registry.skiff.io";
const REPOSITORIES: &str = "repositories";

const TO_ADMIN: &str = "rbac.authorization.k8s.io/aggregate-to-admin";
const TO_EDIT: &str = "rbac.authorization.k8s.io/aggregate-to-edit";
const TO_VIEW: &str = "rbac.authorization.k8s.io/aggregate-to-view";

#[rustfmt::skip] // A data table: one rule a line reads best.
fn view_rules() -> Vec<Value> {
    vec![
        rule(READ, "", &[
            "pods", "pods/log", "pods/status", "replicationcontrollers",
            "replicationcontrollers/scale", "replicationcontrollers/status", "serviceaccounts",
            "services", "services/status", "endpoints", "configmaps", "events", "namespaces",
            "namespaces/status", "bindings", "limitranges", "resourcequotas",
            "persistentvolumeclaims",
        ]),
        rule(READ, "apps", &[
            "controllerrevisions", "daemonsets", "daemonsets/status", "deployments",
            "deployments/scale", "deployments/status", "replicasets", "replicasets/scale",
            "replicasets/status", "statefulsets",
        ]),
        rule(READ, "autoscaling", &["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
        rule(READ, "batch", &["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
        rule(READ, "policy", &["poddisruptionbudgets", "poddisruptionbudgets/status"]),
        rule(READ, "discovery.k8s.io", &["endpointslices"]),
        rule(READ, "networking.k8s.io", &["networkpolicies"]),
        // The built-in registry (issue 17): `view` pulls.
        rule(&["pull"], REGISTRY_GROUP, &[REPOSITORIES]),
    ]
}

#[rustfmt::skip] // A data table: one rule a line reads best.
fn edit_rules() -> Vec<Value> {
    vec![
        rule(&["impersonate"], "", &["serviceaccounts"]),
        rule(WRITE, "", &[
            "pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward",
        ]),
        rule(&["create"], "", &["pods/eviction", "serviceaccounts/token"]),
        rule(READ_WRITE, "", &["secrets"]),
        rule(WRITE, "", &[
            "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
            "services", "services/proxy", "persistentvolumeclaims", "configmaps", "events",
            "endpoints",
        ]),
        rule(WRITE, "apps", &[
            "daemonsets", "deployments", "deployments/scale", "deployments/rollback",
            "replicasets", "replicasets/scale", "statefulsets",
        ]),
        rule(WRITE, "autoscaling", &["horizontalpodautoscalers"]),
        rule(WRITE, "batch", &["cronjobs", "jobs"]),
        rule(WRITE, "policy", &["poddisruptionbudgets"]),
        rule(WRITE, "discovery.k8s.io", &["endpointslices"]),
        rule(WRITE, "networking.k8s.io", &["networkpolicies"]),
        // `edit` (and `admin`, which aggregates it) pushes to the built-in registry.
        rule(&["pull", "push"], REGISTRY_GROUP, &[REPOSITORIES]),
    ]
}

fn admin_rules() -> Vec<Value> {
    vec![
        rule(READ_WRITE, super::GROUP, &["roles", "rolebindings"]),
        rule(
            &["create"],
            "authorization.k8s.io",
            &["localsubjectaccessreviews"],
        ),
        // Deleting a tag or manifest can break other namespaces' pods: `admin` only.
        rule(&["delete"], REGISTRY_GROUP, &[REPOSITORIES]),
    ]
}

/// What `system:kube-scheduler` reads and writes (Kubernetes' role, for the resources skiff
/// serves).
#[rustfmt::skip] // A data table: one rule a line reads best.
fn scheduler_rules() -> Vec<Value> {
    vec![
        rule(&["create", "patch", "update"], "", &["events"]),
        rule(&["create", "patch", "update"], "events.k8s.io", &["events"]),
        rule(&["create"], "coordination.k8s.io", &["leases"]),
        rule(&["get", "update"], "coordination.k8s.io", &["leases"]),
        rule(&["delete", "get", "list", "watch"], "", &["pods"]),
        rule(&["create"], "", &["bindings", "pods/binding"]),
        rule(&["patch", "update"], "", &["pods/status"]),
        rule(READ, "", &["nodes", "namespaces", "services", "replicationcontrollers"]),
        rule(READ, "apps", &["replicasets", "statefulsets"]),
        rule(READ, "policy", &["poddisruptionbudgets"]),
        rule(&["create"], "authentication.k8s.io", &["tokenreviews"]),
        rule(&["create"], "authorization.k8s.io", &["subjectaccessreviews"]),
    ]
}

/// What a node agent needs (Kubernetes' unbound `system:node` role; nodes are authorised by
/// the node rules first).
#[rustfmt::skip] // A data table: one rule a line reads best.
fn node_rules() -> Vec<Value> {
    vec![
        rule(&["create", "get", "list", "watch", "patch", "update"], "", &["nodes"]),
        rule(&["patch", "update"], "", &["nodes/status", "pods/status"]),
        rule(READ, "", &["pods", "services", "endpoints", "namespaces"]),
        rule(&["get"], "", &["configmaps", "secrets"]),
        rule(&["create", "patch", "update"], "", &["events"]),
        rule(&["create", "delete", "get", "patch", "update"], "coordination.k8s.io", &["leases"]),
        rule(READ, "discovery.k8s.io", &["endpointslices"]),
        // The overlay enforces NetworkPolicy (`node/overlay`).
        rule(READ, "networking.k8s.io", &["networkpolicies"]),
    ]
}

/// The default ClusterRoles, the ones others aggregate before the aggregating ones.
#[rustfmt::skip] // A data table: one role a line reads best.
fn cluster_roles() -> Vec<Value> {
    let discovery_urls = [
        "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
        "/readyz", "/version", "/version/",
    ];
    let public_urls = ["/healthz", "/livez", "/readyz", "/version", "/version/"];
    let self_reviews = vec![
        rule(&["create"], "authorization.k8s.io", &["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
        rule(&["create"], "authentication.k8s.io", &["selfsubjectreviews"]),
    ];
    vec![
        cluster_role("cluster-admin", &[], vec![rule(&["*"], "*", &["*"]), urls(&["*"], &["*"])]),
        aggregated("admin", &[], TO_ADMIN),
        aggregated("edit", &[(TO_ADMIN, "true")], TO_EDIT),
        aggregated("view", &[(TO_EDIT, "true")], TO_VIEW),
        cluster_role("system:aggregate-to-admin", &[(TO_ADMIN, "true")], admin_rules()),
        cluster_role("system:aggregate-to-edit", &[(TO_EDIT, "true")], edit_rules()),
        cluster_role("system:aggregate-to-view", &[(TO_VIEW, "true")], view_rules()),
        cluster_role(
            "system:aggregated-metrics-reader",
            &[(TO_VIEW, "true"), (TO_EDIT, "true"), (TO_ADMIN, "true")],
            vec![rule(READ, "metrics.k8s.io", &["pods", "nodes"])],
        ),
        cluster_role("system:discovery", &[], vec![urls(&["get"], &discovery_urls)]),
        cluster_role("system:public-info-viewer", &[], vec![urls(&["get"], &public_urls)]),
        cluster_role("system:basic-user", &[], self_reviews),
        cluster_role("system:auth-delegator", &[], vec![
            rule(&["create"], "authentication.k8s.io", &["tokenreviews"]),
            rule(&["create"], "authorization.k8s.io", &["subjectaccessreviews"]),
        ]),
        cluster_role("system:kube-scheduler", &[], scheduler_rules()),
        cluster_role("system:kube-controller-manager", &[], controller_roles::controller_manager_rules()),
        cluster_role("system:node", &[], node_rules()),
    ]
    .into_iter()
    .chain(controller_roles::roles().into_iter().map(|(name, rules)| cluster_role(&name, &[], rules)))
    .collect()
}

/// The default ClusterRoleBindings.
#[rustfmt::skip] // A data table: one binding a line reads best.
fn cluster_role_bindings() -> Vec<Value> {
    let authenticated = [("Group", super::AUTHENTICATED)];
    vec![
        binding("cluster-admin", "cluster-admin", &[("Group", super::SYSTEM_MASTERS)]),
        binding("system:discovery", "system:discovery", &authenticated),
        binding("system:basic-user", "system:basic-user", &authenticated),
        binding("system:public-info-viewer", "system:public-info-viewer",
            &[("Group", super::AUTHENTICATED), ("Group", "system:unauthenticated")]),
        binding("system:kube-scheduler", "system:kube-scheduler", &[("User", "system:kube-scheduler")]),
        binding("system:kube-controller-manager", "system:kube-controller-manager",
            &[("User", controller_roles::CONTROLLER_MANAGER)]),
    ]
    .into_iter()
    .chain(controller_roles::roles().into_iter().map(|(name, _)| {
        binding(&name, &name, &[("User", controller_roles::CONTROLLER_MANAGER)])
    }))
    .collect()
}

/// Every default object as `(resource plural, object)`, roles before the bindings that name
/// them.
pub fn objects() -> Vec<(&'static str, Value)> {
    let roles = cluster_roles().into_iter().map(|r| ("clusterroles", r));
    let bindings = cluster_role_bindings()
        .into_iter()
        .map(|b| ("clusterrolebindings", b));
    roles.chain(bindings).collect()
}
