//! RBAC in the API server: the policy cache, the authorisation chain (node rules first, then
//! RBAC, as kube-apiserver's `--authorization-mode=Node,RBAC`), escalation checks on writes of
//! roles and bindings, ClusterRole aggregation and the default policy made at start.
//!
//! # Layout
//! - `cache`: the policy in memory, fed by a watch on this replica's store.
//! - `escalation`: no one grants rights they do not hold (or may `escalate` / `bind`).
//! - `aggregation`: fills aggregated ClusterRoles' rules.
//! - `defaults`: the default policy at start, created or reconciled (autoupdate).
//! - `impersonation`: `kubectl --as`, allowed by the `impersonate` verb.

mod aggregation;
pub(crate) mod cache;
mod defaults;
mod escalation;
mod impersonation;

use skiff_api::rbac::{Attributes, Decision, ResourceAttributes, Target};
use skiff_api::status::ApiError;

use super::ApiServer;
use super::auth::{self, Identity};
use super::request::{ResourceRequest, Verb};

pub(crate) use aggregation::run_aggregation;

tokio::task_local! {
    /// Who the request being served comes from, for checks deep in the write path (escalation).
    /// Writes the server makes itself (bootstrap, aggregation) run outside any scope.
    pub(crate) static REQUESTER: Identity;
}

/// Kubernetes' verb of a request (`deletecollection` for a collection delete).
pub(crate) fn verb_name(verb: &Verb) -> &'static str {
    match verb {
        Verb::Get => "get",
        Verb::List => "list",
        Verb::Watch => "watch",
        Verb::Create => "create",
        Verb::Update => "update",
        Verb::Patch => "patch",
        Verb::Delete => "delete",
        Verb::DeleteCollection => "deletecollection",
    }
}

/// The authorisation attributes of a parsed resource request.
pub(crate) fn attributes_of(identity: &Identity, request: &ResourceRequest) -> Attributes {
    Attributes {
        user: identity.user_info(),
        verb: verb_name(&request.verb).to_owned(),
        target: Target::Resource(ResourceAttributes {
            namespace: request.namespace.clone().unwrap_or_default(),
            api_group: request.info.group.to_owned(),
            resource: request.info.plural.to_owned(),
            subresource: request.subresource.clone().unwrap_or_default(),
            name: request.name.clone().unwrap_or_default(),
        }),
    }
}

impl ApiServer {
    /// The RBAC decision on `attributes` (members of `system:masters` are always allowed).
    pub(crate) async fn rbac_decision(
        &self,
        attributes: &Attributes,
    ) -> Result<Decision, ApiError> {
        let policy = self.rbac.policy(&self.objects.replica).await?;
        Ok(policy.authorize(attributes))
    }

    /// Allows `request` if RBAC does; otherwise Kubernetes' 403 for it.
    pub(crate) async fn authorize_by_rbac(
        &self,
        identity: &Identity,
        request: &ResourceRequest,
    ) -> Result<(), ApiError> {
        let attributes = attributes_of(identity, request);
        if self.rbac_decision(&attributes).await?.allowed {
            Ok(())
        } else {
            Err(auth::forbidden(identity, request))
        }
    }
}
