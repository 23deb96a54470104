//! A node's SelfSubjectAccessReview is answered as its requests are authorised: the node rules
//! first (Kubernetes' node authorizer), then RBAC. The review's attributes become the request
//! the node rules judge; what needs a request body (a Node's or Lease's create, a
//! TokenRequest's bound pod) has none, so the node rules leave those to RBAC.

use skiff_api::rbac::{Attributes, Target};
use skiff_api::status::ApiError;

use crate::ApiServer;
use crate::auth::Identity;
use crate::request::{Query, ResourceRequest, Verb};

/// The request a review's resource attributes describe; `None` when skiff serves no such
/// resource or verb (the node rules then have no opinion).
pub(super) fn as_request(attributes: &Attributes) -> Option<ResourceRequest> {
    let Target::Resource(r) = &attributes.target else {
        return None;
    };
    let version = match r.api_group.as_str() {
        "" => "v1",
        group => skiff_api::resources::groups()
            .into_iter()
            .find(|(g, _)| *g == group)
            .map(|(_, version)| version)?,
    };
    let info = skiff_api::resources::find(&r.api_group, version, &r.resource)?;
    let verb = match attributes.verb.as_str() {
        "get" => Verb::Get,
        "list" => Verb::List,
        "watch" => Verb::Watch,
        "create" => Verb::Create,
        "update" => Verb::Update,
        "patch" => Verb::Patch,
        "delete" => Verb::Delete,
        "deletecollection" => Verb::DeleteCollection,
        _ => return None,
    };
    let some = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
    Some(ResourceRequest {
        verb,
        info,
        namespace: some(&r.namespace),
        name: some(&r.name),
        subresource: some(&r.subresource),
        query: Query::default(),
    })
}

impl ApiServer {
    /// Whether the node rules allow what `attributes` ask, for a node `identity`.
    pub(super) async fn node_rules_allow(
        &self,
        identity: &Identity,
        attributes: &Attributes,
    ) -> Result<bool, ApiError> {
        if !matches!(identity, Identity::Node(_)) {
            return Ok(false);
        }
        let Some(request) = as_request(attributes) else {
            return Ok(false);
        };
        match self.authorize_node(identity, &request, None).await {
            Ok(()) => Ok(true),
            Err(e) if e.code == 403 => Ok(false),
            Err(e) => Err(e),
        }
    }
}
