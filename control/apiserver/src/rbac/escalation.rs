//! Escalation prevention (Kubernetes' `pkg/registry/rbac` policy-based storage): a Role or
//! ClusterRole may be written only by someone who holds every right it grants, or who may
//! `escalate` it; a binding only by someone who holds the rights of the role it names, or who
//! may `bind` that role. Only `system:masters` may write an `aggregationRule`. Writes the
//! server makes itself, and those of the admin and this process's components, pass.

use serde_json::Value;
use skiff_api::rbac::{
    self, Attributes, Policy, PolicyRule, ResourceAttributes, RoleRef, Target, UserInfo, covers,
    not_held_message,
};
use skiff_api::resources::ResourceInfo;
use skiff_api::status::ApiError;

use skiff_replica::ops::Consistency;

use super::REQUESTER;
use super::cache::read_policy;
use crate::ApiServer;
use crate::auth::Identity;

/// `roles.rbac.authorization.k8s.io "x" is forbidden: <why>`.
fn refused(info: &ResourceInfo, name: &str, why: String) -> ApiError {
    let mut e = ApiError::forbidden(format!(
        "{} {name:?} is forbidden: {why}",
        info.group_resource()
    ));
    e.kind = Some(info.plural.to_owned());
    e.name = Some(name.to_owned());
    e
}

/// `verb` on RBAC resource `plural` named `name` in `namespace`.
fn special_verb(
    user: &UserInfo,
    verb: &str,
    plural: &str,
    namespace: &str,
    name: &str,
) -> Attributes {
    Attributes {
        user: user.clone(),
        verb: verb.to_owned(),
        target: Target::Resource(ResourceAttributes {
            namespace: namespace.to_owned(),
            api_group: rbac::GROUP.to_owned(),
            resource: plural.to_owned(),
            subresource: String::new(),
            name: name.to_owned(),
        }),
    }
}

/// Who writes the object: the user RBAC sees, or `None` for a write that is never checked.
fn requester() -> Option<UserInfo> {
    let identity = REQUESTER.try_with(Identity::clone).ok()?;
    match identity {
        Identity::Admin => None,
        other => Some(other.user_info()),
    }
}

/// A Role or ClusterRole: its rules must be held (or `escalate` granted).
fn admit_role(
    policy: &Policy,
    user: &UserInfo,
    info: &ResourceInfo,
    obj: &Value,
) -> Result<(), ApiError> {
    let namespace = obj["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let held = policy.rules_for(user, namespace);
    if obj.get("aggregationRule").is_some_and(|a| !a.is_null())
        && covers(&held, &rbac::everything()).is_err()
    {
        let why = "must have cluster-admin privileges to use the aggregationRule";
        return Err(refused(info, name, why.into()));
    }
    let may_escalate = special_verb(user, "escalate", info.plural, namespace, name);
    if policy.authorize(&may_escalate).allowed {
        return Ok(());
    }
    let wanted: Vec<PolicyRule> = serde_json::from_value(obj["rules"].clone()).unwrap_or_default();
    covers(&held, &wanted).map_err(|missing| refused(info, name, not_held_message(user, &missing)))
}

/// A RoleBinding or ClusterRoleBinding: the role's rules must be held (or `bind` granted).
fn admit_binding(
    policy: &Policy,
    user: &UserInfo,
    info: &ResourceInfo,
    obj: &Value,
) -> Result<(), ApiError> {
    let namespace = obj["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    // Validation has already refused a binding without a well-formed roleRef.
    let Ok(role_ref) = serde_json::from_value::<RoleRef>(obj["roleRef"].clone()) else {
        return Ok(());
    };
    let role_plural = match role_ref.kind.as_str() {
        "Role" => "roles",
        _ => "clusterroles",
    };
    // Kubernetes asks for `bind` on the role in the binding's namespace (`""` cluster-wide).
    let may_bind = special_verb(user, "bind", role_plural, namespace, &role_ref.name);
    if policy.authorize(&may_bind).allowed {
        return Ok(());
    }
    let Some(granted) = policy.role_rules(&role_ref, namespace) else {
        let group_resource = format!("{role_plural}.{}", rbac::GROUP);
        return Err(ApiError::not_found(&group_resource, &role_ref.name));
    };
    let held = policy.rules_for(user, namespace);
    covers(&held, granted).map_err(|missing| refused(info, name, not_held_message(user, &missing)))
}

impl ApiServer {
    /// Checks a Role, ClusterRole, RoleBinding or ClusterRoleBinding about to be stored
    /// (created, replaced or patched) against the rights of whoever asked for it.
    pub(crate) async fn admit_rbac_write(
        &self,
        info: &ResourceInfo,
        obj: &Value,
    ) -> Result<(), ApiError> {
        if info.group != rbac::GROUP {
            return Ok(());
        }
        let Some(user) = requester() else {
            return Ok(());
        };
        let policy = read_policy(&self.objects.replica, Consistency::Linearizable).await?;
        match info.kind {
            "Role" | "ClusterRole" => admit_role(&policy, &user, info, obj),
            _ => admit_binding(&policy, &user, info, obj),
        }
    }
}
