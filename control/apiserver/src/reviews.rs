//! The review APIs, answered and never stored: SelfSubjectAccessReview, SubjectAccessReview
//! and LocalSubjectAccessReview (`kubectl auth can-i`), SelfSubjectRulesReview (`kubectl auth
//! can-i --list`) of `authorization.k8s.io/v1`, and SelfSubjectReview of
//! `authentication.k8s.io/v1` (`kubectl auth whoami`), and TokenReview (who a bearer token is,
//! for services that accept the cluster's service-account tokens). Each is itself authorised by RBAC
//! (`create` on the review resource; every authenticated user may make the self reviews).

use http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::{Value, json};
use skiff_api::rbac::{Attributes, ResourceAttributes, Target, UserInfo};
use skiff_api::status::{ApiError, FieldError};
use skiff_respond::{Body, read_body};

use super::ApiServer;
use super::auth::{self, Identity};
use super::sa_tokens::{ISSUER, looks_like_jwt};
use super::writes;

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

fn invalid(kind: &str, group: &str, field: &str, message: &str) -> ApiError {
    ApiError::invalid(kind, group, "", vec![FieldError::invalid(field, message)])
}

/// The attributes a SubjectAccessReview's `spec` asks about, for `user`.
pub(crate) fn spec_attributes(
    spec: &Value,
    user: UserInfo,
    kind: &str,
) -> Result<Attributes, ApiError> {
    let text = |v: &Value, f: &str| v[f].as_str().unwrap_or_default().to_owned();
    let resource = spec.get("resourceAttributes").filter(|v| v.is_object());
    let non_resource = spec.get("nonResourceAttributes").filter(|v| v.is_object());
    let (verb, target) = match (resource, non_resource) {
        (Some(r), None) => (
            text(r, "verb"),
            Target::Resource(ResourceAttributes {
                namespace: text(r, "namespace"),
                api_group: text(r, "group"),
                resource: text(r, "resource"),
                subresource: text(r, "subresource"),
                name: text(r, "name"),
            }),
        ),
        (None, Some(n)) => (
            text(n, "verb"),
            Target::NonResource {
                path: text(n, "path"),
            },
        ),
        _ => {
            return Err(invalid(
                kind,
                AUTHORIZATION,
                "spec.resourceAttributes",
                "exactly one of nonResourceAttributes or resourceAttributes must be specified",
            ));
        }
    };
    Ok(Attributes { user, verb, target })
}

/// The user a SubjectAccessReview names (`spec.user`, `spec.groups`).
fn spec_user(spec: &Value) -> Result<UserInfo, ApiError> {
    let name = spec["user"].as_str().unwrap_or_default().to_owned();
    let groups: Vec<String> = spec["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_str().map(str::to_owned))
        .collect();
    if name.is_empty() && groups.is_empty() {
        return Err(invalid(
            "SubjectAccessReview",
            AUTHORIZATION,
            "spec.user",
            "at least one of user or group must be specified",
        ));
    }
    Ok(UserInfo { name, groups })
}

/// A SelfSubjectRulesReview's `status` for `rules`.
fn rules_status(rules: &[skiff_api::rbac::PolicyRule]) -> Value {
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    for rule in rules {
        if rule
            .non_resource_urls
            .as_ref()
            .is_some_and(|u| !u.is_empty())
        {
            non_resource_rules.push(json!({"verbs": rule.verbs,
                "nonResourceURLs": rule.non_resource_urls}));
        } else {
            let mut r = json!({"verbs": rule.verbs, "apiGroups": rule.api_groups.clone().unwrap_or_default(),
                "resources": rule.resources.clone().unwrap_or_default()});
            if let Some(names) = rule.resource_names.as_ref().filter(|n| !n.is_empty()) {
                r["resourceNames"] = json!(names);
            }
            resource_rules.push(r);
        }
    }
    json!({"resourceRules": resource_rules, "nonResourceRules": non_resource_rules,
        "incomplete": false})
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
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_owned();
        let body = read_body(request.into_body(), writes::MAX_BODY)
            .await
            .map_err(|e| match e {
                skiff_respond::BodyError::TooLarge { limit } => ApiError::too_large(limit),
                other => ApiError::bad_request(other.to_string()),
            })?;
        let mut object = writes::decode_body(&body, &content_type)?;
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
        if matches!(identity, Identity::Admin | Identity::Component(_)) {
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
                let rules = match identity {
                    Identity::Component(_) => skiff_api::rbac::everything(),
                    _ => policy.rules_for(&identity.user_info(), namespace),
                };
                return Ok(rules_status(&rules));
            }
            Review::SelfAccess => spec_attributes(spec, identity.user_info(), kind)?,
            Review::Access => spec_attributes(spec, spec_user(spec)?, kind)?,
            Review::LocalAccess(ns) => {
                let mut attributes = spec_attributes(spec, spec_user(spec)?, kind)?;
                if let Target::Resource(r) = &mut attributes.target {
                    r.namespace = ns.clone();
                }
                attributes
            }
        };
        let decision =
            if matches!(review, Review::SelfAccess) && matches!(identity, Identity::Component(_)) {
                skiff_api::rbac::Decision {
                    allowed: true,
                    reason: String::new(),
                }
            } else {
                self.rbac_decision(&attributes).await?
            };
        let mut status = json!({"allowed": decision.allowed});
        if !decision.reason.is_empty() {
            status["reason"] = json!(decision.reason);
        }
        Ok(status)
    }
}

impl ApiServer {
    /// A TokenReview's `status`: a TokenRequest token for one of `spec.audiences` (default: the
    /// API server's), or a token of the API server's own kinds when no other audience is asked.
    async fn token_review(&self, spec: &Value) -> Result<Value, ApiError> {
        let token = spec["token"].as_str().unwrap_or_default().as_bytes();
        let asked: Vec<&str> = spec["audiences"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let audiences = if asked.is_empty() {
            vec![ISSUER]
        } else {
            asked
        };
        let identity = if looks_like_jwt(token) {
            self.authenticate_jwt_for(token, &audiences).await?
        } else if audiences.contains(&ISSUER) && !token.is_empty() {
            auth::authenticate(token, &self.fixed_tokens, &self.tokens, &self.objects).await?
        } else {
            None
        };
        Ok(match identity {
            Some(identity) => json!({"authenticated": true, "user": user_info_json(&identity),
                "audiences": audiences}),
            None => json!({"authenticated": false, "user": {}}),
        })
    }
}

/// `status.userInfo` of a SelfSubjectReview.
fn user_info_json(identity: &Identity) -> Value {
    let user = identity.user_info();
    json!({"username": user.name, "groups": user.groups})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_paths() {
        let post = Method::POST;
        let table = [
            (
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                Some(Review::SelfAccess),
            ),
            (
                "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                Some(Review::Access),
            ),
            (
                "/apis/authorization.k8s.io/v1/namespaces/dev/localsubjectaccessreviews",
                Some(Review::LocalAccess("dev".into())),
            ),
            (
                "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
                Some(Review::SelfRules),
            ),
            (
                "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                Some(Review::SelfSubject),
            ),
            (
                "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews",
                None,
            ),
            ("/api/v1/namespaces/dev/pods", None),
        ];
        for (path, want) in table {
            assert_eq!(Review::of(&post, path), want, "{path}");
        }
        let get = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
        assert_eq!(Review::of(&Method::GET, get), None);
    }

    #[test]
    fn spec_attributes_need_exactly_one_kind() {
        let user = UserInfo::new("u", &[]);
        let resource = json!({"resourceAttributes": {"verb": "list", "resource": "pods",
            "namespace": "dev", "group": "", "subresource": "log", "name": "web"}});
        let got = spec_attributes(&resource, user.clone(), "SelfSubjectAccessReview").unwrap();
        assert_eq!(
            got.target,
            Target::Resource(ResourceAttributes {
                namespace: "dev".into(),
                api_group: String::new(),
                resource: "pods".into(),
                subresource: "log".into(),
                name: "web".into(),
            })
        );
        let path = json!({"nonResourceAttributes": {"verb": "get", "path": "/healthz"}});
        let got = spec_attributes(&path, user.clone(), "SubjectAccessReview").unwrap();
        assert_eq!(
            (got.verb.as_str(), got.target),
            (
                "get",
                Target::NonResource {
                    path: "/healthz".into()
                }
            )
        );
        for bad in [
            json!({}),
            json!({"resourceAttributes": {}, "nonResourceAttributes": {}}),
        ] {
            let e = spec_attributes(&bad, user.clone(), "SubjectAccessReview").unwrap_err();
            assert_eq!(e.code, 422, "{bad}");
        }
        assert_eq!(spec_user(&json!({})).unwrap_err().code, 422);
    }
}
