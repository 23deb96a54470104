//! The review APIs, answered and never stored: SelfSubjectAccessReview, SubjectAccessReview
//! and LocalSubjectAccessReview (`kubectl auth can-i`), SelfSubjectRulesReview (`kubectl auth
//! can-i --list`) of `authorization.k8s.io/v1`, and SelfSubjectReview of
//! `authentication.k8s.io/v1` (`kubectl auth whoami`), and TokenReview (who a bearer token is,
//! for services that accept the cluster's service-account tokens). Each is itself authorised by RBAC
//! (`create` on the review resource; every authenticated user may make the self reviews).
//! `spec`: what a review's `spec` asks about; `token`: TokenReview; `node`: a node's
//! SelfSubjectAccessReview passes the node rules before RBAC, as its requests do.

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Value, json};
use skiff_api::rbac::{Attributes, ResourceAttributes, Target};
use skiff_api::status::ApiError;
use skiff_respond::Body;

use super::ApiServer;
use super::auth::Identity;
use super::body;

mod node;
mod spec;
mod token;

use spec::{rules_status, spec_attributes, spec_user};
use token::user_info_json;

const AUTHORIZATION: &str = "authorization.k8s.io";
const AUTHENTICATION: &str = "authentication.k8s.io";

/// Which review a `POST` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Review {
    SelfAccess,
    Access,
    /// A SubjectAccessReview confined to one namespace.
    LocalAccess(String),
    SelfRules,
    SelfSubject,
    /// TokenReview: who a bearer token is, for one of the given audiences.
    Token,
}

impl Review {
    /// The review a request path names, if any (only `POST` creates one).
    pub(crate) fn of(method: &Method, path: &str) -> Option<Review> {
        if *method != Method::POST {
            return None;
        }
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match segments.as_slice() {
            ["apis", AUTHORIZATION, "v1", "selfsubjectaccessreviews"] => Some(Review::SelfAccess),
            ["apis", AUTHORIZATION, "v1", "subjectaccessreviews"] => Some(Review::Access),
            [
                "apis",
                AUTHORIZATION,
                "v1",
                "namespaces",
                ns,
                "localsubjectaccessreviews",
            ] => Some(Review::LocalAccess((*ns).to_owned())),
            ["apis", AUTHORIZATION, "v1", "selfsubjectrulesreviews"] => Some(Review::SelfRules),
            ["apis", AUTHENTICATION, "v1", "selfsubjectreviews"] => Some(Review::SelfSubject),
            ["apis", AUTHENTICATION, "v1", "tokenreviews"] => Some(Review::Token),
            _ => None,
        }
    }

    /// `(group, resource, kind)` of the review.
    fn resource(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            Review::SelfAccess => (
                AUTHORIZATION,
                "selfsubjectaccessreviews",
                "SelfSubjectAccessReview",
            ),
            Review::Access => (AUTHORIZATION, "subjectaccessreviews", "SubjectAccessReview"),
            Review::LocalAccess(_) => (
                AUTHORIZATION,
                "localsubjectaccessreviews",
                "LocalSubjectAccessReview",
            ),
            Review::SelfRules => (
                AUTHORIZATION,
                "selfsubjectrulesreviews",
                "SelfSubjectRulesReview",
            ),
            Review::SelfSubject => (AUTHENTICATION, "selfsubjectreviews", "SelfSubjectReview"),
            Review::Token => (AUTHENTICATION, "tokenreviews", "TokenReview"),
        }
    }
}

impl ApiServer {
    /// Answers a review `POST`.
    pub(crate) async fn serve_review(
        &self,
        identity: &Identity,
        review: Review,
        request: Request<Incoming>,
    ) -> Result<Response<Body>, ApiError> {
        let (group, resource, kind) = review.resource();
        let namespace = match &review {
            Review::LocalAccess(ns) => ns.clone(),
            _ => String::new(),
        };
        self.authorize_review(identity, group, resource, &namespace)
            .await?;
        let (content_type, body) = super::dispatch::read_write_body(request).await?;
        let mut object = body::decode_body(&body, &content_type)?;
        if !object.is_object() {
            return Err(ApiError::bad_request(format!(
                "a {kind} must be a JSON object"
            )));
        }
        object["apiVersion"] = json!(format!("{group}/v1"));
        object["kind"] = json!(kind);
        object["status"] = self
            .review_status(identity, &review, &object["spec"])
            .await?;
        if object.get("metadata").is_none_or(Value::is_null) {
            object["metadata"] = json!({});
        }
        Ok(skiff_respond::json(StatusCode::CREATED, &object))
    }

    /// The `create` right on the review resource itself.
    async fn authorize_review(
        &self,
        identity: &Identity,
        group: &str,
        resource: &str,
        namespace: &str,
    ) -> Result<(), ApiError> {
        if matches!(identity, Identity::Admin) {
            return Ok(());
        }
        let attributes = Attributes {
            user: identity.user_info(),
            verb: "create".into(),
            target: Target::Resource(ResourceAttributes {
                namespace: namespace.to_owned(),
                api_group: group.to_owned(),
                resource: resource.to_owned(),
                ..ResourceAttributes::default()
            }),
        };
        if self.rbac_decision(&attributes).await?.allowed {
            return Ok(());
        }
        let mut e = ApiError::forbidden(format!(
            "{resource}.{group} is forbidden: {}",
            attributes.forbidden_message()
        ));
        e.kind = Some(resource.to_owned());
        Err(e)
    }

    async fn review_status(
        &self,
        identity: &Identity,
        review: &Review,
        spec: &Value,
    ) -> Result<Value, ApiError> {
        let (_, _, kind) = review.resource();
        let attributes = match review {
            Review::SelfSubject => return Ok(json!({"userInfo": user_info_json(identity)})),
            Review::Token => return self.token_review(spec).await,
            Review::SelfRules => {
                let namespace = spec["namespace"].as_str().unwrap_or_default();
                let policy = self.rbac.policy(&self.objects.replica).await?;
                let rules = policy.rules_for(&identity.user_info(), namespace);
                return Ok(rules_status(&rules));
            }
            Review::SelfAccess => {
                let attributes = spec_attributes(spec, identity.user_info(), kind)?;
                if self.node_rules_allow(identity, &attributes).await? {
                    return Ok(json!({"allowed": true}));
                }
                attributes
            }
            Review::Access => spec_attributes(spec, spec_user(spec)?, kind)?,
            Review::LocalAccess(ns) => {
                let mut attributes = spec_attributes(spec, spec_user(spec)?, kind)?;
                if let Target::Resource(r) = &mut attributes.target {
                    r.namespace = ns.clone();
                }
                attributes
            }
        };
        let decision = self.rbac_decision(&attributes).await?;
        let mut status = json!({"allowed": decision.allowed});
        if !decision.reason.is_empty() {
            status["reason"] = json!(decision.reason);
        }
        Ok(status)
    }
}

#[cfg(test)]
mod tests;
