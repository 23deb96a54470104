//! The merge-key table: for each kind, which lists strategic merge patch and server-side
//! apply merge by key (and by which key), which primitive lists merge as sets, and which
//! lists are atomic (replaced whole). Taken from the `patchStrategy`/`patchMergeKey` tags of
//! the Kubernetes API types, for the fields kubectl patches.
//!
//! The table is a small graph of struct types ([`Shape`]) so that a Pod spec gets the same
//! keys whether it is a Pod's `spec`, a Deployment's `spec.template.spec` or a CronJob's
//! `spec.jobTemplate.spec.template.spec`.

/// How a list field is merged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListStrategy {
    /// Atomic: a patch or apply replaces the whole list.
    Replace,
    /// A list of objects merged element by element, matched on this key (`name`, `port`...).
    MergeByKey(&'static str),
    /// A list of scalars merged as a set (`metadata.finalizers`).
    MergeSet,
}

/// A struct type of the Kubernetes API, as far as merging needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Nothing known: every list below is atomic.
    Unknown,
    /// The top level of an object of this kind.
    Root(RootKind),
    ObjectMeta,
    PodTemplateSpec,
    PodSpec,
    Container,
    PodStatus,
    /// A `spec` whose `template` is a PodTemplateSpec (Deployment, ReplicaSet, ...).
    TemplateOwnerSpec,
    CronJobSpec,
    JobTemplateSpec,
    ServiceSpec,
    NodeSpec,
    NodeStatus,
    /// A `status` with `conditions` keyed by `type` (every other kind).
    Status,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RootKind {
    Pod,
    TemplateOwner,
    CronJob,
    PodTemplate,
    Service,
    Node,
    Other,
}

impl Shape {
    /// The node for the top level of `kind`.
    pub(crate) fn root(kind: &str) -> Shape {
        Shape::Root(match kind {
            "Pod" => RootKind::Pod,
            "Deployment"
            | "ReplicaSet"
            | "StatefulSet"
            | "DaemonSet"
            | "Job"
            | "ReplicationController" => RootKind::TemplateOwner,
            "CronJob" => RootKind::CronJob,
            "PodTemplate" => RootKind::PodTemplate,
            "Service" => RootKind::Service,
            "Node" => RootKind::Node,
            _ => RootKind::Other,
        })
    }

    /// The node of field `name` of this node, and how to merge it if it is a list.
    pub(crate) fn field(self, name: &str) -> (Shape, ListStrategy) {
        use ListStrategy::{MergeByKey, MergeSet};
        use Shape as N;
        let node = |n: Shape| (n, ListStrategy::Replace);
        let keyed = |n: Shape, key: &'static str| (n, MergeByKey(key));
        match (self, name) {
            (N::Root(_), "metadata") => node(N::ObjectMeta),
            (N::Root(RootKind::Pod), "spec") => node(N::PodSpec),
            (N::Root(RootKind::Pod), "status") => node(N::PodStatus),
            (N::Root(RootKind::TemplateOwner), "spec") => node(N::TemplateOwnerSpec),
            (N::Root(RootKind::CronJob), "spec") => node(N::CronJobSpec),
            (N::Root(RootKind::PodTemplate), "template") => node(N::PodTemplateSpec),
            (N::Root(RootKind::Service), "spec") => node(N::ServiceSpec),
            (N::Root(RootKind::Node), "spec") => node(N::NodeSpec),
            (N::Root(RootKind::Node), "status") => node(N::NodeStatus),
            (N::Root(_), "status") => node(N::Status),
            (N::ObjectMeta, "finalizers") => (N::Unknown, MergeSet),
            (N::ObjectMeta, "ownerReferences") => keyed(N::Unknown, "uid"),
            (N::TemplateOwnerSpec, "template") => node(N::PodTemplateSpec),
            (N::CronJobSpec, "jobTemplate") => node(N::JobTemplateSpec),
            (N::JobTemplateSpec, "metadata") | (N::PodTemplateSpec, "metadata") => {
                node(N::ObjectMeta)
            }
            (N::JobTemplateSpec, "spec") => node(N::TemplateOwnerSpec),
            (N::PodTemplateSpec, "spec") => node(N::PodSpec),
            (N::PodSpec, "containers" | "initContainers" | "ephemeralContainers") => {
                keyed(N::Container, "name")
            }
            (N::PodSpec, "volumes" | "imagePullSecrets" | "resourceClaims" | "schedulingGates") => {
                keyed(N::Unknown, "name")
            }
            (N::PodSpec, "hostAliases") => keyed(N::Unknown, "ip"),
            (N::PodSpec, "topologySpreadConstraints") => keyed(N::Unknown, "topologyKey"),
            (N::Container, "ports") => keyed(N::Unknown, "containerPort"),
            (N::Container, "env") => keyed(N::Unknown, "name"),
            (N::Container, "volumeMounts") => keyed(N::Unknown, "mountPath"),
            (N::Container, "volumeDevices") => keyed(N::Unknown, "devicePath"),
            (N::PodStatus | N::NodeStatus | N::Status, "conditions") => keyed(N::Unknown, "type"),
            (N::PodStatus, "podIPs" | "hostIPs") => keyed(N::Unknown, "ip"),
            (N::PodStatus, "resourceClaimStatuses") => keyed(N::Unknown, "name"),
            (N::NodeStatus, "addresses") => keyed(N::Unknown, "type"),
            (N::NodeSpec, "podCIDRs") => (N::Unknown, MergeSet),
            (N::ServiceSpec, "ports") => keyed(N::Unknown, "port"),
            _ => node(N::Unknown),
        }
    }
}

/// How the list at `path` (field names from the top of a `kind` object; list elements add
/// no segment) is merged: `list_strategy("Deployment", &["spec", "template", "spec",
/// "containers"])` is `MergeByKey("name")`.
pub fn list_strategy(kind: &str, path: &[&str]) -> ListStrategy {
    let mut node = Shape::root(kind);
    let mut strategy = ListStrategy::Replace;
    for name in path {
        (node, strategy) = node.field(name);
    }
    strategy
}

#[cfg(test)]
mod tests {
    use super::*;
    use ListStrategy::*;

    #[test]
    fn merge_keys_by_kind_and_path() {
        let cases: &[(&str, &str, ListStrategy)] = &[
            ("Pod", "spec.containers", MergeByKey("name")),
            ("Pod", "spec.initContainers", MergeByKey("name")),
            ("Pod", "spec.containers.ports", MergeByKey("containerPort")),
            ("Pod", "spec.containers.env", MergeByKey("name")),
            ("Pod", "spec.containers.envFrom", Replace),
            (
                "Pod",
                "spec.containers.volumeMounts",
                MergeByKey("mountPath"),
            ),
            ("Pod", "spec.containers.args", Replace),
            ("Pod", "spec.volumes", MergeByKey("name")),
            ("Pod", "spec.tolerations", Replace),
            ("Pod", "spec.hostAliases", MergeByKey("ip")),
            ("Pod", "status.conditions", MergeByKey("type")),
            ("Pod", "status.containerStatuses", Replace),
            (
                "Deployment",
                "spec.template.spec.containers",
                MergeByKey("name"),
            ),
            ("Deployment", "spec.template.metadata.finalizers", MergeSet),
            (
                "StatefulSet",
                "spec.template.spec.volumes",
                MergeByKey("name"),
            ),
            ("StatefulSet", "spec.volumeClaimTemplates", Replace),
            (
                "Job",
                "spec.template.spec.containers.env",
                MergeByKey("name"),
            ),
            (
                "CronJob",
                "spec.jobTemplate.spec.template.spec.containers",
                MergeByKey("name"),
            ),
            (
                "PodTemplate",
                "template.spec.containers",
                MergeByKey("name"),
            ),
            ("Service", "spec.ports", MergeByKey("port")),
            ("Service", "spec.externalIPs", Replace),
            ("Node", "status.addresses", MergeByKey("type")),
            ("ConfigMap", "metadata.finalizers", MergeSet),
            ("Anything", "metadata.ownerReferences", MergeByKey("uid")),
            ("Anything", "status.conditions", MergeByKey("type")),
            ("Anything", "spec.containers", Replace),
        ];
        for (kind, path, want) in cases {
            let path: Vec<&str> = path.split('.').collect();
            assert_eq!(list_strategy(kind, &path), *want, "{kind} {path:?}");
        }
    }
}
