//! The TokenRequest API (`POST .../serviceaccounts/<name>/token`, `kubectl create token`) and
//! the authentication of the tokens it issues: signed, expiring, audience-bound JWTs, bound to
//! the ServiceAccount's uid and, when `boundObjectRef` names a pod, to that pod's uid, so the
//! token stops working when either is deleted (or re-created under the same name).
//!
//! The ES256 signing key is shared by every replica through the store: a Secret in
//! `kube-system` made by the first replica that needs it (as the CA is shared through join).
//!
//! # Layout
//! - `jwt`: claims, signing and verification.
//! - `request`: the TokenRequest handler.

mod jwt;
mod request;

use std::sync::Arc;

use base64::Engine;
use serde_json::{Value, json};
use skiff_api::status::ApiError;
use skiff_replica::ops::Consistency;

use super::ApiServer;
use super::auth::Identity;

use jwt::Claims;
pub(crate) use jwt::Signer;
pub(crate) use jwt::{ISSUER, looks_like_jwt};

/// Where the signing key lives.
const KEY_NAMESPACE: &str = "kube-system";
const KEY_SECRET: &str = "skiff-service-account-signing-key";
const KEY_TYPE: &str = "skiff.io/signing-key";
const KEY_FIELD: &str = "key.der";

fn secrets() -> Result<&'static skiff_api::resources::ResourceInfo, ApiError> {
    skiff_api::resources::find("", "v1", "secrets")
        .ok_or_else(|| ApiError::internal("secrets are not served"))
}

/// The key a stored Secret carries.
fn signer_of(secret: &Value) -> Result<Signer, ApiError> {
    let der = secret["data"][KEY_FIELD]
        .as_str()
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .ok_or_else(|| ApiError::internal("the service-account signing key Secret has no key"))?;
    Signer::from_pkcs8(&der).map_err(|e| ApiError::internal(e.to_string()))
}

/// The current time in Unix seconds.
fn now() -> i64 {
    super::meta::now_unix()
}

impl ApiServer {
    /// The signing key: loaded once from the store; made and stored if `create` and there is
    /// none yet (`Ok(None)` if there is none and `create` is false).
    async fn signer(&self, create: bool) -> Result<Option<Arc<Signer>>, ApiError> {
        if let Some(signer) = self.signer.get() {
            return Ok(Some(signer.clone()));
        }
        let info = secrets()?;
        let stored = self
            .objects
            .get(
                info,
                Some(KEY_NAMESPACE),
                KEY_SECRET,
                Consistency::Linearizable,
            )
            .await?;
        let secret = match stored {
            Some(secret) => secret,
            None if !create => return Ok(None),
            None => {
                let der =
                    Signer::generate_pkcs8().map_err(|e| ApiError::internal(e.to_string()))?;
                let secret = json!({
                    "apiVersion": "v1", "kind": "Secret", "type": KEY_TYPE,
                    "metadata": {"name": KEY_SECRET, "namespace": KEY_NAMESPACE},
                    "data": {KEY_FIELD: base64::engine::general_purpose::STANDARD.encode(der)},
                });
                match self.objects.create(info, secret.clone(), Vec::new()).await {
                    Ok(stored) => stored,
                    // Another replica made it first: use theirs.
                    Err(e) if e.reason == "AlreadyExists" => {
                        self.objects
                            .must_get(info, Some(KEY_NAMESPACE), KEY_SECRET)
                            .await?
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let signer = Arc::new(signer_of(&secret)?);
        Ok(Some(self.signer.get_or_init(|| signer).clone()))
    }

    /// The identity of a TokenRequest token, or `None` (401) if it is not one this cluster
    /// signed for the API server, has expired, or names an account or pod that is gone.
    pub(crate) async fn authenticate_jwt(
        &self,
        token: &[u8],
    ) -> Result<Option<Identity>, ApiError> {
        self.authenticate_jwt_for(token, &[jwt::ISSUER]).await
    }

    /// The identity of a TokenRequest token issued for one of `audiences` (TokenReview asks
    /// for other audiences than the API server's own).
    pub(crate) async fn authenticate_jwt_for(
        &self,
        token: &[u8],
        audiences: &[&str],
    ) -> Result<Option<Identity>, ApiError> {
        let Ok(token) = std::str::from_utf8(token) else {
            return Ok(None);
        };
        let Some(signer) = self.signer(false).await? else {
            return Ok(None);
        };
        let Ok(claims) = signer.verify(token, audiences) else {
            return Ok(None);
        };
        if !self.bound_objects_live(&claims).await? {
            return Ok(None);
        }
        let k = claims.kubernetes;
        Ok(Some(Identity::ServiceAccount {
            namespace: k.namespace,
            name: k.serviceaccount.name,
        }))
    }

    /// The token's account (and pod) still exist with the uids it was issued for.
    async fn bound_objects_live(&self, claims: &Claims) -> Result<bool, ApiError> {
        let k = &claims.kubernetes;
        let mut bound = vec![("serviceaccounts", &k.serviceaccount)];
        bound.extend(k.pod.iter().map(|pod| ("pods", pod)));
        for (plural, object) in bound {
            let info = skiff_api::resources::find("", "v1", plural)
                .ok_or_else(|| ApiError::internal(format!("{plural} are not served")))?;
            let live = self
                .objects
                .get(
                    info,
                    Some(&k.namespace),
                    &object.name,
                    Consistency::Serializable,
                )
                .await?;
            let uid = live.as_ref().and_then(|o| o["metadata"]["uid"].as_str());
            if uid != Some(object.uid.as_str()) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
