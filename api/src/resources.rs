//! The resources skiff serves: for each, its group/version, kind, scope, verbs, short names,
//! categories and subresources. Discovery, routing, storage keys and kubectl's `get all` all
//! read this one table.

/// One served resource (a plural name within a group/version).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group; `""` is the core group served under `/api/v1`.
    pub group: &'static str,
    pub version: &'static str,
    /// Plural, lower case: the path segment (`pods`).
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    /// `["all"]` puts the resource in `kubectl get all`.
    pub categories: &'static [&'static str],
    /// Subresources served under `<name>/<sub>`.
    pub subresources: &'static [&'static str],
    /// The resource has a `spec` whose changes bump `metadata.generation`.
    pub has_spec: bool,
    /// The resource has a `status` that only the `status` subresource may change.
    pub has_status: bool,
}

impl ResourceInfo {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// The verbs discovery advertises.
    pub fn verbs(&self) -> &'static [&'static str] {
        if self.plural == "events" || self.plural == "namespaces" || self.plural == "nodes" {
            &[
                "create", "delete", "get", "list", "patch", "update", "watch",
            ]
        } else {
            &[
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ]
        }
    }

    /// Group (for `group/resource` spelling): `deployments.apps`, or `pods` for core.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Storage key prefix of this resource: `/registry/<group-or-core>/<plural>/`.
    pub fn key_prefix(&self) -> String {
        let group = if self.group.is_empty() {
            "core"
        } else {
            self.group
        };
        format!("/registry/{group}/{}/", self.plural)
    }

    /// Storage key of one object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}{ns}/{name}", self.key_prefix()),
            _ => format!("{}{name}", self.key_prefix()),
        }
    }

    /// Storage prefix of one namespace's objects (or all, for `None`).
    pub fn namespace_prefix(&self, namespace: Option<&str>) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}{ns}/", self.key_prefix()),
            _ => self.key_prefix(),
        }
    }
}

macro_rules! resource {
    ($group:literal, $version:literal, $plural:literal, $singular:literal, $kind:literal, ns = $ns:literal,
     short = [$($short:literal),*], cat = [$($cat:literal),*], sub = [$($sub:literal),*],
     spec = $spec:literal, status = $status:literal) => {
        ResourceInfo {
            group: $group,
            version: $version,
            plural: $plural,
            singular: $singular,
            kind: $kind,
            namespaced: $ns,
            short_names: &[$($short),*],
            categories: &[$($cat),*],
            subresources: &[$($sub),*],
            has_spec: $spec,
            has_status: $status,
        }
    };
}

/// Every resource skiff serves, in discovery order.
pub static RESOURCES: &[ResourceInfo] = &[
    resource!(
        "",
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        ns = false,
        short = ["ns"],
        cat = [],
        sub = ["status", "finalize"],
        spec = true,
        status = true
    ),
    resource!(
        "",
        "v1",
        "nodes",
        "node",
        "Node",
        ns = false,
        short = ["no"],
        cat = [],
        sub = ["status", "proxy"],
        spec = true,
        status = true
    ),
    resource!(
        "",
        "v1",
        "pods",
        "pod",
        "Pod",
        ns = true,
        short = ["po"],
        cat = ["all"],
        sub = [
            "status",
            "binding",
            "log",
            "eviction",
            "exec",
            "attach",
            "portforward"
        ],
        spec = true,
        status = true
    ),
    resource!(
        "",
        "v1",
        "services",
        "service",
        "Service",
        ns = true,
        short = ["svc"],
        cat = ["all"],
        sub = ["status"],
        spec = true,
        status = true
    ),
    resource!(
        "",
        "v1",
        "endpoints",
        "endpoints",
        "Endpoints",
        ns = true,
        short = ["ep"],
        cat = [],
        sub = [],
        spec = false,
        status = false
    ),
    resource!(
        "",
        "v1",
        "configmaps",
        "configmap",
        "ConfigMap",
        ns = true,
        short = ["cm"],
        cat = [],
        sub = [],
        spec = false,
        status = false
    ),
    resource!(
        "",
        "v1",
        "secrets",
        "secret",
        "Secret",
        ns = true,
        short = [],
        cat = [],
        sub = [],
        spec = false,
        status = false
    ),
    resource!(
        "",
        "v1",
        "events",
        "event",
        "Event",
        ns = true,
        short = ["ev"],
        cat = [],
        sub = [],
        spec = false,
        status = false
    ),
    resource!(
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        ns = true,
        short = ["sa"],
        cat = [],
        sub = ["token"],
        spec = false,
        status = false
    ),
    resource!(
        "",
        "v1",
        "replicationcontrollers",
        "replicationcontroller",
        "ReplicationController",
        ns = true,
        short = ["rc"],
        cat = ["all"],
        sub = ["status", "scale"],
        spec = true,
        status = true
    ),
    resource!(
        "apps",
        "v1",
        "deployments",
        "deployment",
        "Deployment",
        ns = true,
        short = ["deploy"],
        cat = ["all"],
        sub = ["status", "scale"],
        spec = true,
        status = true
    ),
    resource!(
        "apps",
        "v1",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        ns = true,
        short = ["rs"],
        cat = ["all"],
        sub = ["status", "scale"],
        spec = true,
        status = true
    ),
    resource!(
        "apps",
        "v1",
        "daemonsets",
        "daemonset",
        "DaemonSet",
        ns = true,
        short = ["ds"],
        cat = ["all"],
        sub = ["status"],
        spec = true,
        status = true
    ),
    resource!(
        "apps",
        "v1",
        "controllerrevisions",
        "controllerrevision",
        "ControllerRevision",
        ns = true,
        short = [],
        cat = [],
        sub = [],
        spec = false,
        status = false
    ),
    resource!(
        "batch",
        "v1",
        "jobs",
        "job",
        "Job",
        ns = true,
        short = [],
        cat = ["all"],
        sub = ["status"],
        spec = true,
        status = true
    ),
    resource!(
        "batch",
        "v1",
        "cronjobs",
        "cronjob",
        "CronJob",
        ns = true,
        short = ["cj"],
        cat = ["all"],
        sub = ["status"],
        spec = true,
        status = true
    ),
    resource!(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        "HorizontalPodAutoscaler",
        ns = true,
        short = ["hpa"],
        cat = ["all"],
        sub = ["status"],
        spec = true,
        status = true
    ),
    resource!(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        "PodDisruptionBudget",
        ns = true,
        short = ["pdb"],
        cat = [],
        sub = ["status"],
        spec = true,
        status = true
    ),
    resource!(
        "coordination.k8s.io",
        "v1",
        "leases",
        "lease",
        "Lease",
        ns = true,
        short = [],
        cat = [],
        sub = [],
        spec = true,
        status = false
    ),
    resource!(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "networkpolicy",
        "NetworkPolicy",
        ns = true,
        short = ["netpol"],
        cat = [],
        sub = [],
        spec = true,
        status = false
    ),
    resource!(
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "endpointslice",
        "EndpointSlice",
        ns = true,
        short = [],
        cat = [],
        sub = [],
        spec = false,
        status = false
    ),
    resource!(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        ns = false,
        short = [],
        cat = [],
        sub = [],
        spec = false,
        status = false
    ),
    resource!(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "clusterrole",
        "ClusterRole",
        ns = false,
        short = [],
        cat = [],
        sub = [],
        spec = false,
        status = false
    ),
    resource!(
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "rolebinding",
        "RoleBinding",
        ns = true,
        short = [],
        cat = [],
        sub = [],
        spec = false,
        status = false
    ),
    resource!(
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "role",
        "Role",
        ns = true,
        short = [],
        cat = [],
        sub = [],
        spec = false,
        status = false
    ),
    // The same objects as core/v1 Events in another shape (`crate::events`); the API server
    // serves this group from the core Events' storage.
    resource!(
        "events.k8s.io",
        "v1",
        "events",
        "event",
        "Event",
        ns = true,
        short = [],
        cat = [],
        sub = [],
        spec = false,
        status = false
    ),
];

/// The resource at `group/version/plural`.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource of a kind in a group/version (`apiVersion` + `kind` of an object).
pub fn find_kind(api_version: &str, kind: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.api_version() == api_version && r.kind == kind)
}

/// The groups skiff serves besides core, each with its one version, in discovery order.
pub fn groups() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for r in RESOURCES.iter().filter(|r| !r.group.is_empty()) {
        if !out.iter().any(|(g, _)| *g == r.group) {
            out.push((r.group, r.version));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_and_keys() {
        let pods = find("", "v1", "pods").unwrap();
        assert_eq!(
            pods.key(Some("default"), "web"),
            "/registry/core/pods/default/web"
        );
        assert_eq!(pods.namespace_prefix(None), "/registry/core/pods/");
        let deploy = find_kind("apps/v1", "Deployment").unwrap();
        assert_eq!(
            (deploy.plural, deploy.group_resource()),
            ("deployments", "deployments.apps".to_owned())
        );
        let ns = find("", "v1", "namespaces").unwrap();
        assert_eq!(
            ns.key(Some("ignored"), "kube-system"),
            "/registry/core/namespaces/kube-system"
        );
        assert_eq!(groups().first(), Some(&("apps", "v1")));
        assert!(find("apps", "v1", "pods").is_none());
    }

    #[test]
    fn names_are_unique_per_group() {
        for (i, a) in RESOURCES.iter().enumerate() {
            for b in &RESOURCES[i + 1..] {
                assert!(
                    !(a.group == b.group && a.plural == b.plural),
                    "{} twice",
                    a.plural
                );
                for s in a.short_names {
                    assert!(!b.short_names.contains(s), "short name {s} twice");
                }
            }
        }
    }
}
