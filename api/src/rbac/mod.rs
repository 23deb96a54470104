//! Role-based access control as Kubernetes' RBAC authorizer evaluates it
//! (`plugin/pkg/auth/authorizer/rbac`): who a request comes from ([`UserInfo`]), what it asks
//! ([`Attributes`]), and whether the stored Roles, ClusterRoles and bindings ([`Policy`]) allow
//! it. Pure functions on the objects; the API server feeds them.
//!
//! # Layout
//! - `rules`: one `PolicyRule` against one request (verbs, groups, resources, names, URLs).
//! - `policy`: the bindings that apply to a user, the rules they grant, the decision.
//! - `covers`: whether one set of rules covers another (escalation prevention).
//! - `aggregate`: the rules of an aggregated ClusterRole.
//! - `bootstrap`: the default roles and bindings made at first start; `controller_roles`: the
//!   controller manager's and its controllers' among them.
//! - `reconcile`: a stored default role or binding against this version's (autoupdate).
//! - `discovery`: the discovery documents of the (never stored) review APIs.

mod aggregate;
pub mod bootstrap;
mod controller_roles;
mod covers;
pub mod discovery;
mod policy;
pub mod reconcile;
mod rules;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_reconcile;
#[cfg(test)]
mod tests_system;

pub use aggregate::aggregated_rules;
pub use covers::{covers, describe_rule, not_held_message};
pub use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef, Subject};
pub use policy::{Decision, Policy, everything};
pub use rules::{ALL, rule_allows};

/// The API group of RBAC objects.
pub const GROUP: &str = "rbac.authorization.k8s.io";
/// Members may do everything (Kubernetes' privileged group).
pub const SYSTEM_MASTERS: &str = "system:masters";
/// Every authenticated user is in this group.
pub const AUTHENTICATED: &str = "system:authenticated";
/// Every service account is in this group (and in `system:serviceaccounts:<namespace>`).
pub const SERVICE_ACCOUNTS: &str = "system:serviceaccounts";
/// Every node is in this group.
pub const NODES: &str = "system:nodes";
/// The user-name prefix of service accounts: `system:serviceaccount:<namespace>:<name>`.
pub const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// An authenticated caller: its user name and groups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub groups: Vec<String>,
}

impl UserInfo {
    pub fn new(name: impl Into<String>, groups: &[&str]) -> Self {
        UserInfo {
            name: name.into(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }

    /// A service account's user and groups (`system:serviceaccounts`,
    /// `system:serviceaccounts:<namespace>`, `system:authenticated`).
    pub fn service_account(namespace: &str, name: &str) -> Self {
        UserInfo {
            name: format!("{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"),
            groups: vec![
                SERVICE_ACCOUNTS.to_owned(),
                format!("{SERVICE_ACCOUNTS}:{namespace}"),
                AUTHENTICATED.to_owned(),
            ],
        }
    }

    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// A resource request's coordinates (empty strings where absent, as Kubernetes' attributes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceAttributes {
    pub namespace: String,
    pub api_group: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
}

/// What a request asks for: a resource, or a non-resource path such as `/healthz`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Resource(ResourceAttributes),
    NonResource { path: String },
}

/// One request to authorise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attributes {
    pub user: UserInfo,
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`, or a
    /// special verb (`bind`, `escalate`, `impersonate`); for non-resource paths the lower-case
    /// HTTP method (`get`, `post`, ...).
    pub verb: String,
    pub target: Target,
}

impl Attributes {
    /// The namespace asked about (`""` for cluster scope and non-resource paths).
    pub fn namespace(&self) -> &str {
        match &self.target {
            Target::Resource(r) => &r.namespace,
            Target::NonResource { .. } => "",
        }
    }

    /// Kubernetes' forbidden message: `User "u" cannot list resource "pods" in API group ""
    /// in the namespace "ns"`, or `User "u" cannot get path "/x"`.
    pub fn forbidden_message(&self) -> String {
        let user = &self.user.name;
        let verb = &self.verb;
        match &self.target {
            Target::NonResource { path } => format!("User {user:?} cannot {verb} path {path:?}"),
            Target::Resource(r) => {
                let resource = if r.subresource.is_empty() {
                    r.resource.clone()
                } else {
                    format!("{}/{}", r.resource, r.subresource)
                };
                let group = &r.api_group;
                let scope = if r.namespace.is_empty() {
                    "at the cluster scope".to_owned()
                } else {
                    format!("in the namespace {:?}", r.namespace)
                };
                format!(
                    "User {user:?} cannot {verb} resource {resource:?} in API group {group:?} {scope}"
                )
            }
        }
    }
}
