//! `POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token`: a TokenRequest in, the same
//! TokenRequest out with `status.token` and `status.expirationTimestamp` (kube-apiserver's
//! `TokenREST`). Audiences default to the API server's; the lifetime to an hour, at least ten
//! minutes and at most 2^32 seconds; `boundObjectRef` may name a Pod of the account.

use serde_json::{Value, json};
use skiff_api::status::{ApiError, FieldError};
use skiff_replica::ops::Consistency;

use super::jwt::{self, Claims, KubernetesClaim, ObjectRef};
use super::now;
use crate::ApiServer;
use crate::request::ResourceRequest;

const DEFAULT_SECONDS: i64 = 3600;
const MIN_SECONDS: i64 = 600;
const MAX_SECONDS: i64 = 1 << 32;

fn invalid(name: &str, field: &str, message: String) -> ApiError {
    let cause = FieldError::invalid(field, message);
    ApiError::invalid("TokenRequest", "authentication.k8s.io", name, vec![cause])
}

/// The requested lifetime, checked as Kubernetes' validation does.
fn lifetime(spec: &Value, name: &str) -> Result<i64, ApiError> {
    let Some(seconds) = spec.get("expirationSeconds").filter(|v| !v.is_null()) else {
        return Ok(DEFAULT_SECONDS);
    };
    let field = "spec.expirationSeconds";
    let seconds = seconds.as_i64().ok_or_else(|| {
        invalid(
            name,
            field,
            format!("Invalid value: {seconds}: must be an integer"),
        )
    })?;
    if seconds < MIN_SECONDS {
        let m =
            format!("Invalid value: {seconds}: may not specify a duration less than 10 minutes");
        return Err(invalid(name, field, m));
    }
    if seconds > MAX_SECONDS {
        let m = format!(
            "Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds"
        );
        return Err(invalid(name, field, m));
    }
    Ok(seconds)
}

/// The requested audiences, or the API server's own.
fn audiences(spec: &Value) -> Vec<String> {
    let mut audiences: Vec<String> = spec["audiences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect();
    if audiences.is_empty() {
        audiences.push(jwt::ISSUER.to_owned());
    }
    audiences
}

impl ApiServer {
    /// The pod `boundObjectRef` names, as a claim; it must run as `account`.
    async fn bound_pod(
        &self,
        namespace: &str,
        account: &str,
        reference: &Value,
    ) -> Result<Option<ObjectRef>, ApiError> {
        if reference.is_null() {
            return Ok(None);
        }
        let kind = reference["kind"].as_str().unwrap_or_default();
        if kind != "Pod" {
            return Err(ApiError::bad_request(format!(
                "cannot bind token for serviceaccount {account:?} to object of kind {kind:?}: \
                 only Pod is supported"
            )));
        }
        let name = reference["name"].as_str().unwrap_or_default();
        let pod = self
            .objects
            .pod_facts(namespace, name, Consistency::Linearizable)
            .await?
            .ok_or_else(|| ApiError::not_found("pods", name))?;
        if pod.service_account() != account {
            return Err(ApiError::bad_request(format!(
                "cannot bind token for serviceaccount {account:?} to pod running with different serviceaccount name."
            )));
        }
        let uid = pod.metadata.uid.unwrap_or_default();
        if let Some(wanted) = reference["uid"].as_str().filter(|u| !u.is_empty())
            && wanted != uid
        {
            return Err(ApiError::conflict("Pod", name));
        }
        Ok(Some(ObjectRef {
            name: name.to_owned(),
            uid,
        }))
    }

    /// Issues a token for the ServiceAccount `request` names.
    pub(crate) async fn token_request(
        &self,
        request: &ResourceRequest,
        body: Option<Value>,
    ) -> Result<Value, ApiError> {
        let namespace = request.namespace.clone().unwrap_or_default();
        let name = request.name.clone().unwrap_or_default();
        let account = self
            .objects
            .must_get(request.info, Some(&namespace), &name)
            .await?;
        let mut review = body.filter(Value::is_object).unwrap_or_else(|| json!({}));
        let spec = review.get("spec").cloned().unwrap_or_else(|| json!({}));
        let seconds = lifetime(&spec, &name)?;
        let audiences = audiences(&spec);
        let pod = self
            .bound_pod(&namespace, &name, &spec["boundObjectRef"])
            .await?;
        let now = now();
        let claims = Claims {
            aud: audiences.clone(),
            exp: now + seconds,
            iat: now,
            nbf: now,
            iss: jwt::ISSUER.to_owned(),
            jti: skiff_pki::generate_bearer_token(),
            sub: format!("system:serviceaccount:{namespace}:{name}"),
            kubernetes: KubernetesClaim {
                namespace: namespace.clone(),
                serviceaccount: ObjectRef {
                    name: name.clone(),
                    uid: account["metadata"]["uid"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                },
                pod,
            },
        };
        let signer = self
            .signer(true)
            .await?
            .ok_or_else(|| ApiError::internal("no service-account signing key"))?;
        let token = signer
            .issue(&claims)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        review["apiVersion"] = json!("authentication.k8s.io/v1");
        review["kind"] = json!("TokenRequest");
        review["metadata"] = json!({"name": name, "namespace": namespace,
            "creationTimestamp": crate::meta::format_rfc3339(now)});
        review["spec"]["audiences"] = json!(audiences);
        review["spec"]["expirationSeconds"] = json!(seconds);
        review["status"] = json!({"token": token,
            "expirationTimestamp": crate::meta::format_rfc3339(now + seconds)});
        Ok(review)
    }
}
