//! TokenReview: who a bearer token is, for services that accept the cluster's tokens.

use serde_json::{Value, json};
use skiff_api::status::ApiError;

use crate::ApiServer;
use crate::auth::{self, Identity};
use crate::sa_tokens::{ISSUER, looks_like_jwt};

impl ApiServer {
    /// A TokenReview's `status`: a TokenRequest token for one of `spec.audiences` (default: the
    /// API server's), or a token of the API server's own kinds when no other audience is asked.
    pub(super) async fn token_review(&self, spec: &Value) -> Result<Value, ApiError> {
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
pub(super) fn user_info_json(identity: &Identity) -> Value {
    let user = identity.user_info();
    json!({"username": user.name, "groups": user.groups})
}
