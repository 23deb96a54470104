//! ServiceAccount tokens for a pod's projected volumes, as the kubelet's token manager gets
//! them: one TokenRequest per (audience, lifetime) the pod's `serviceAccountToken` sources ask
//! for, bound to the pod (`boundObjectRef` kind Pod with its uid), so the API server stops
//! accepting it once the pod is gone. A token is asked for again at 80% of its life; one that
//! cannot be renewed is kept (still valid) and asked for again soon.

use crate::api::bounded;
use crate::translate::{IssuedToken, token_key};
use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use kube::api::PostParams;
use kube::{Api, Client};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// What one `serviceAccountToken` source asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAsk {
    pub audience: Option<String>,
    pub seconds: i64,
}

/// The tokens `pod`'s projected volumes ask for, by [`token_key`].
pub fn asked(pod: &Pod) -> BTreeMap<String, TokenAsk> {
    let volumes = pod.spec.iter().flat_map(|s| s.volumes.iter().flatten());
    let sources = volumes.flat_map(|v| v.projected.iter().flat_map(|p| p.sources.iter().flatten()));
    sources
        .filter_map(|s| s.service_account_token.as_ref())
        .map(|t| {
            let audience = t.audience.clone().filter(|a| !a.is_empty());
            let seconds = t.expiration_seconds.unwrap_or(3600);
            (
                token_key(audience.as_deref(), Some(seconds)),
                TokenAsk { audience, seconds },
            )
        })
        .collect()
}

/// When a token of `seconds` obtained `now` is renewed: at 80% of its life.
pub fn renewal(now: Instant, seconds: i64) -> Instant {
    let life = Duration::from_secs(u64::try_from(seconds).unwrap_or(0));
    now + life.mul_f64(0.8)
}

/// Every token `pod` asks for: `previous` ones not yet due, new ones for the rest. The flag
/// says whether one could not be obtained (so the caller looks again soon).
pub async fn fetch(
    client: &Client,
    pod: &Pod,
    previous: &BTreeMap<String, IssuedToken>,
) -> (BTreeMap<String, IssuedToken>, bool) {
    let mut out = BTreeMap::new();
    let mut incomplete = false;
    let now = Instant::now();
    for (key, ask) in asked(pod) {
        if let Some(old) = previous.get(&key).filter(|t| t.refresh_at > now) {
            out.insert(key, old.clone());
            continue;
        }
        match request(client, pod, &ask).await {
            Ok(token) => {
                let refresh_at = renewal(now, ask.seconds);
                out.insert(key, IssuedToken { token, refresh_at });
            }
            Err(e) => {
                tracing::warn!(pod = ?pod.metadata.name, error = %e, "TokenRequest failed; retrying");
                incomplete = true;
                if let Some(old) = previous.get(&key) {
                    out.insert(key, old.clone());
                }
            }
        }
    }
    (out, incomplete)
}

/// One TokenRequest for the pod's ServiceAccount, bound to the pod.
async fn request(
    client: &Client,
    pod: &Pod,
    ask: &TokenAsk,
) -> Result<String, crate::api::CallError> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let account = pod
        .spec
        .as_ref()
        .and_then(|s| s.service_account_name.clone())
        .unwrap_or_else(|| "default".to_owned());
    let review = TokenRequest {
        spec: TokenRequestSpec {
            audiences: ask.audience.iter().cloned().collect(),
            expiration_seconds: Some(ask.seconds),
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: pod.metadata.name.clone(),
                uid: pod.metadata.uid.clone(),
            }),
        },
        ..TokenRequest::default()
    };
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    let issued =
        bounded(accounts.create_token_request(&account, &PostParams::default(), &review)).await?;
    Ok(issued.status.map(|s| s.token).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn asks_once_per_audience_and_lifetime() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [], "volumes": [
                {"name": "a", "projected": {"sources": [
                    {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
                    {"configMap": {"name": "kube-root-ca.crt"}}]}},
                {"name": "b", "projected": {"sources": [
                    {"serviceAccountToken": {"path": "t", "expirationSeconds": 3607}},
                    {"serviceAccountToken": {"path": "v", "audience": "vault"}}]}},
                {"name": "c", "emptyDir": {}}
            ]}
        }))
        .expect("a pod");
        let got = asked(&pod);
        let want = BTreeMap::from([
            (
                "|3607".to_owned(),
                TokenAsk {
                    audience: None,
                    seconds: 3607,
                },
            ),
            (
                "vault|3600".to_owned(),
                TokenAsk {
                    audience: Some("vault".into()),
                    seconds: 3600,
                },
            ),
        ]);
        assert_eq!(got, want);
        assert!(asked(&Pod::default()).is_empty());
    }

    #[test]
    fn renews_at_four_fifths_of_the_life() {
        let now = Instant::now();
        assert_eq!(renewal(now, 3600), now + Duration::from_secs(2880));
        assert_eq!(renewal(now, 10), now + Duration::from_secs(8));
        assert_eq!(renewal(now, -5), now);
    }
}
