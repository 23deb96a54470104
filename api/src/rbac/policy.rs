//! The RBAC policy in force: Roles, ClusterRoles and their bindings, and Kubernetes' decision
//! over them (`VisitRulesFor`: ClusterRoleBindings first, then the RoleBindings of the
//! request's namespace; the first rule that allows wins). Members of `system:masters` may do
//! everything, as kube-apiserver's privileged-group authorizer says before RBAC is asked.

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use serde_json::Value;

use super::rules::rule_allows;
use super::{ALL, Attributes, SERVICE_ACCOUNT_PREFIX, SYSTEM_MASTERS, UserInfo};

/// An allow, with the binding that allowed it (`RBAC: allowed by ClusterRoleBinding ...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reason: String,
}

/// Roles and bindings, by kind.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// `(namespace, name)` -> rules.
    roles: BTreeMap<(String, String), Vec<PolicyRule>>,
    cluster_roles: BTreeMap<String, ClusterRole>,
    /// By namespace.
    role_bindings: BTreeMap<String, Vec<RoleBinding>>,
    cluster_role_bindings: Vec<ClusterRoleBinding>,
}

impl Policy {
    /// Adds one stored object of resource `plural` (`roles`, `clusterroles`, `rolebindings`,
    /// `clusterrolebindings`). An object that does not decode is left out (stored objects were
    /// validated; a bad one grants nothing).
    pub fn insert(&mut self, plural: &str, obj: &Value) {
        let obj = obj.clone();
        match plural {
            "roles" => {
                if let Ok(role) = serde_json::from_value::<Role>(obj) {
                    let key = (
                        role.metadata.namespace.unwrap_or_default(),
                        role.metadata.name.unwrap_or_default(),
                    );
                    self.roles.insert(key, role.rules.unwrap_or_default());
                }
            }
            "clusterroles" => {
                if let Ok(role) = serde_json::from_value::<ClusterRole>(obj) {
                    let name = role.metadata.name.clone().unwrap_or_default();
                    self.cluster_roles.insert(name, role);
                }
            }
            "rolebindings" => {
                if let Ok(binding) = serde_json::from_value::<RoleBinding>(obj) {
                    let ns = binding.metadata.namespace.clone().unwrap_or_default();
                    self.role_bindings.entry(ns).or_default().push(binding);
                }
            }
            "clusterrolebindings" => {
                if let Ok(binding) = serde_json::from_value::<ClusterRoleBinding>(obj) {
                    self.cluster_role_bindings.push(binding);
                }
            }
            _ => {}
        }
    }

    /// The ClusterRoles, by name (aggregation reads them).
    pub fn cluster_roles(&self) -> &BTreeMap<String, ClusterRole> {
        &self.cluster_roles
    }

    /// The rules a role reference names, seen from `namespace` (a RoleBinding's `Role` is in
    /// the binding's namespace). `None` if the role does not exist.
    pub fn role_rules(&self, role_ref: &RoleRef, namespace: &str) -> Option<&[PolicyRule]> {
        match role_ref.kind.as_str() {
            "Role" => self
                .roles
                .get(&(namespace.to_owned(), role_ref.name.clone()))
                .map(Vec::as_slice),
            "ClusterRole" => self
                .cluster_roles
                .get(&role_ref.name)
                .map(|r| r.rules.as_deref().unwrap_or_default()),
            _ => None,
        }
    }

    /// Calls `visit(source, rule)` for every rule granted to `user` in `namespace` (`""`: only
    /// cluster-wide bindings) until it returns false.
    fn visit_rules_for(
        &self,
        user: &UserInfo,
        namespace: &str,
        visit: &mut dyn FnMut(&dyn Fn() -> String, &PolicyRule) -> bool,
    ) {
        for binding in &self.cluster_role_bindings {
            let subjects = binding.subjects.as_deref().unwrap_or_default();
            let Some(subject) = subjects.iter().find(|s| applies_to(user, s, "")) else {
                continue;
            };
            let Some(rules) = self.role_rules(&binding.role_ref, "") else {
                continue;
            };
            let source = || {
                format!(
                    "ClusterRoleBinding {:?} of {} {:?} to {}",
                    binding.metadata.name.as_deref().unwrap_or_default(),
                    binding.role_ref.kind,
                    binding.role_ref.name,
                    describe_subject(subject, "")
                )
            };
            for rule in rules {
                if !visit(&source, rule) {
                    return;
                }
            }
        }
        if namespace.is_empty() {
            return;
        }
        for binding in self.role_bindings.get(namespace).into_iter().flatten() {
            let subjects = binding.subjects.as_deref().unwrap_or_default();
            let Some(subject) = subjects.iter().find(|s| applies_to(user, s, namespace)) else {
                continue;
            };
            let Some(rules) = self.role_rules(&binding.role_ref, namespace) else {
                continue;
            };
            let source = || {
                format!(
                    "RoleBinding {:?} of {} {:?} to {}",
                    format!(
                        "{}/{namespace}",
                        binding.metadata.name.as_deref().unwrap_or_default()
                    ),
                    binding.role_ref.kind,
                    binding.role_ref.name,
                    describe_subject(subject, namespace)
                )
            };
            for rule in rules {
                if !visit(&source, rule) {
                    return;
                }
            }
        }
    }

    /// Whether the policy allows the request.
    pub fn authorize(&self, attributes: &Attributes) -> Decision {
        if attributes.user.in_group(SYSTEM_MASTERS) {
            return Decision {
                allowed: true,
                reason: String::new(),
            };
        }
        let mut reason = None;
        self.visit_rules_for(
            &attributes.user,
            attributes.namespace(),
            &mut |source, rule| {
                if rule_allows(attributes, rule) {
                    reason = Some(format!("RBAC: allowed by {}", source()));
                    return false;
                }
                true
            },
        );
        Decision {
            allowed: reason.is_some(),
            reason: reason.unwrap_or_default(),
        }
    }

    /// Every rule `user` holds in `namespace` (cluster-wide ones included): what
    /// SelfSubjectRulesReview lists and what escalation checks compare against. A member of
    /// `system:masters` holds `*` on everything.
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> Vec<PolicyRule> {
        if user.in_group(SYSTEM_MASTERS) {
            return everything();
        }
        let mut rules = Vec::new();
        self.visit_rules_for(user, namespace, &mut |_, rule| {
            rules.push(rule.clone());
            true
        });
        rules
    }
}

/// `*` on every resource and every non-resource URL: what cluster-admin holds.
pub fn everything() -> Vec<PolicyRule> {
    let all = || Some(vec![ALL.to_owned()]);
    vec![
        PolicyRule {
            api_groups: all(),
            resources: all(),
            verbs: vec![ALL.to_owned()],
            ..PolicyRule::default()
        },
        PolicyRule {
            non_resource_urls: all(),
            verbs: vec![ALL.to_owned()],
            ..PolicyRule::default()
        },
    ]
}

/// Whether a binding's subject names `user`. A ServiceAccount subject without a namespace
/// means the binding's own namespace.
pub(crate) fn applies_to(user: &UserInfo, subject: &Subject, binding_namespace: &str) -> bool {
    match subject.kind.as_str() {
        "User" => user.name == subject.name,
        "Group" => user.in_group(&subject.name),
        "ServiceAccount" => {
            let namespace = subject
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(binding_namespace);
            !namespace.is_empty()
                && user.name == format!("{SERVICE_ACCOUNT_PREFIX}{namespace}:{}", subject.name)
        }
        _ => false,
    }
}

/// `User "alice"`, `Group "dev"`, `ServiceAccount "builder/ci"` (name/namespace, as Kubernetes
/// spells it in reasons).
fn describe_subject(subject: &Subject, binding_namespace: &str) -> String {
    match subject.kind.as_str() {
        "ServiceAccount" => {
            let namespace = subject
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or(binding_namespace);
            format!(
                "ServiceAccount {:?}",
                format!("{}/{namespace}", subject.name)
            )
        }
        kind => format!("{kind} {:?}", subject.name),
    }
}
