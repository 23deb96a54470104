//! The roles of the controller manager, as Kubernetes' bootstrap policy writes them
//! (`plugin/pkg/auth/authorizer/rbac/bootstrappolicy`, `policy.go` and
//! `controller_policy.go`), for the controllers skiff runs and the resources it serves:
//! `system:kube-controller-manager` (leader election, the shared informers' reads, service
//! accounts and their token Secrets) and one `system:controller:<name>` role per controller.
//!
//! Difference: Kubernetes binds each controller role to the controller's own service account
//! (`kube-system/<name>`, `--use-service-account-credentials`); skiff runs every controller on
//! one client, so every binding names the user `system:kube-controller-manager`. What that user
//! may do is the union of the roles: read everything, update, patch and delete everything (the
//! garbage collector's role), create only what controllers make; no RBAC writes, no
//! impersonation, no non-resource URLs, no registry.

use serde_json::{Value, json};

use super::bootstrap::rule;

/// The controller manager's user name (and its component token's).
pub const CONTROLLER_MANAGER: &str = "system:kube-controller-manager";

const READ: &[&str] = &["get", "list", "watch"];

fn named(verbs: &[&str], group: &str, resources: &[&str], names: &[&str]) -> Value {
    let mut rule = rule(verbs, group, resources);
    rule["resourceNames"] = json!(names);
    rule
}

/// Kubernetes' `eventsRule()`: both event groups.
fn events() -> Vec<Value> {
    let verbs = &["create", "update", "patch"];
    vec![
        rule(verbs, "", &["events"]),
        rule(verbs, "events.k8s.io", &["events"]),
    ]
}

/// `system:kube-controller-manager`'s rules.
#[rustfmt::skip] // A data table: one rule a line reads best.
pub(super) fn controller_manager_rules() -> Vec<Value> {
    let mut rules = events();
    rules.extend([
        rule(&["create"], "coordination.k8s.io", &["leases"]),
        named(&["get", "update"], "coordination.k8s.io", &["leases"], &["kube-controller-manager"]),
        rule(&["create"], "", &["secrets", "serviceaccounts"]),
        rule(&["delete"], "", &["secrets"]),
        rule(&["get"], "", &["configmaps", "namespaces", "secrets", "serviceaccounts"]),
        rule(&["update"], "", &["secrets", "serviceaccounts"]),
        rule(&["create"], "authentication.k8s.io", &["tokenreviews"]),
        rule(&["create"], "authorization.k8s.io", &["subjectaccessreviews"]),
        rule(&["list", "watch"], "*", &["*"]),
        rule(&["create"], "", &["serviceaccounts/token"]),
    ]);
    rules
}

/// `(controller, its rules)` for each controller skiff's controller manager runs; the role is
/// `system:controller:<controller>`.
#[rustfmt::skip] // A data table: one rule a line reads best.
fn controllers() -> Vec<(&'static str, Vec<Value>)> {
    let pods_owned = &["list", "watch", "create", "delete", "patch"];
    let all = &["get", "list", "watch", "create", "update", "patch", "delete"];
    vec![
        ("cronjob-controller", vec![
            rule(&["get", "list", "watch", "update"], "batch", &["cronjobs"]),
            rule(all, "batch", &["jobs"]),
            rule(&["update"], "batch", &["cronjobs/status", "cronjobs/finalizers"]),
            rule(&["list", "watch", "delete"], "", &["pods"]),
        ]),
        ("daemon-set-controller", vec![
            rule(READ, "apps", &["daemonsets"]),
            rule(&["update"], "apps", &["daemonsets/status", "daemonsets/finalizers"]),
            rule(&["list", "watch"], "", &["nodes"]),
            rule(pods_owned, "", &["pods"]),
            rule(&["create"], "", &["pods/binding"]),
            rule(all, "apps", &["controllerrevisions"]),
        ]),
        ("deployment-controller", vec![
            rule(&["get", "list", "watch", "update"], "apps", &["deployments"]),
            rule(&["update"], "apps", &["deployments/status", "deployments/finalizers"]),
            rule(all, "apps", &["replicasets"]),
            rule(&["get", "list", "watch", "update"], "", &["pods"]),
        ]),
        ("disruption-controller", vec![
            rule(READ, "apps", &["deployments", "replicasets", "statefulsets"]),
            rule(READ, "", &["replicationcontrollers"]),
            rule(READ, "policy", &["poddisruptionbudgets"]),
            rule(&["update"], "policy", &["poddisruptionbudgets/status"]),
            rule(&["patch", "update"], "", &["pods/status"]),
            rule(&["get"], "*", &["*/scale"]),
        ]),
        ("endpoint-controller", vec![
            rule(READ, "", &["services", "pods"]),
            rule(&["get", "list", "watch", "create", "update", "delete"], "", &["endpoints"]),
            rule(&["create"], "", &["endpoints/restricted"]),
        ]),
        ("endpointslice-controller", vec![
            rule(READ, "", &["services", "pods", "nodes"]),
            rule(&["update"], "", &["services/finalizers"]),
            rule(&["get", "list", "watch", "create", "update", "delete"], "discovery.k8s.io", &["endpointslices"]),
        ]),
        ("generic-garbage-collector", vec![
            rule(&["get", "list", "watch", "patch", "update", "delete"], "*", &["*"]),
        ]),
        ("horizontal-pod-autoscaler", vec![
            rule(READ, "autoscaling", &["horizontalpodautoscalers"]),
            rule(&["update"], "autoscaling", &["horizontalpodautoscalers/status"]),
            rule(&["get", "update"], "*", &["*/scale"]),
            rule(&["list", "watch"], "", &["pods"]),
            rule(&["list", "watch"], "metrics.k8s.io", &["pods"]),
        ]),
        ("job-controller", vec![
            rule(&["get", "list", "watch", "update", "patch"], "batch", &["jobs"]),
            rule(&["update"], "batch", &["jobs/status", "jobs/finalizers"]),
            rule(pods_owned, "", &["pods"]),
        ]),
        ("node-controller", vec![
            rule(&["get", "list", "watch", "update", "delete", "patch"], "", &["nodes"]),
            rule(&["patch", "update"], "", &["nodes/status", "pods/status"]),
            rule(&["list", "watch", "get", "delete"], "", &["pods"]),
        ]),
        ("replicaset-controller", vec![
            rule(&["get", "list", "watch", "update"], "apps", &["replicasets"]),
            rule(&["update"], "apps", &["replicasets/status", "replicasets/finalizers"]),
            rule(pods_owned, "", &["pods"]),
        ]),
        ("replication-controller", vec![
            rule(&["get", "list", "watch", "update"], "", &["replicationcontrollers"]),
            rule(&["update"], "", &["replicationcontrollers/status", "replicationcontrollers/finalizers"]),
            rule(pods_owned, "", &["pods"]),
        ]),
        ("root-ca-cert-publisher", vec![rule(&["create", "update"], "", &["configmaps"])]),
        ("service-account-controller", vec![rule(&["create"], "", &["serviceaccounts"])]),
        // skiff's own (`skiff.io/scale-to-zero-idle`): marks the Service, scales the Deployment.
        ("skiff-scale-to-zero", vec![
            rule(READ, "apps", &["deployments"]),
            rule(&["get", "patch", "update"], "apps", &["deployments/scale"]),
            rule(READ, "", &["services", "endpoints", "nodes"]),
            rule(&["patch"], "", &["services"]),
        ]),
    ]
}

/// The controller roles, each with Kubernetes' events rule.
pub(super) fn roles() -> Vec<(String, Vec<Value>)> {
    controllers()
        .into_iter()
        .map(|(name, mut rules)| {
            rules.extend(events());
            (format!("system:controller:{name}"), rules)
        })
        .collect()
}
