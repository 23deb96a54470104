//! Projected volumes: ConfigMap, Secret, downward API and ServiceAccount token sources merged
//! into one directory, as the kubelet's projected volume plugin does. The token is one the
//! node obtained for the pod through TokenRequest (`pods::tokens`), found by [`token_key`];
//! until it is there the pod's volumes wait, as for a missing ConfigMap.

use super::errors::{ConfigError, PlanError};
use super::volumes::{config_map_entries, downward_item, missing, secret_entries, select_items};
use super::{PodFacts, References};
use skiff_api::k8s_openapi::api::core::v1::{Pod, ProjectedVolumeSource, VolumeProjection};

/// The key of the token a `serviceAccountToken` source asks for: its audience (empty for the
/// API server's own) and lifetime in seconds (kube's default: an hour).
pub fn token_key(audience: Option<&str>, expiration_seconds: Option<i64>) -> String {
    format!(
        "{}|{}",
        audience.unwrap_or_default(),
        expiration_seconds.unwrap_or(3600)
    )
}

/// (relative path, contents) of every file of a projected volume.
pub(super) fn entries(
    pod: &Pod,
    src: &ProjectedVolumeSource,
    refs: &References,
    facts: &PodFacts,
) -> Result<Vec<(String, Vec<u8>)>, PlanError> {
    let mut out = Vec::new();
    for source in src.sources.iter().flatten() {
        out.extend(source_entries(pod, source, refs, facts)?);
    }
    Ok(out)
}

fn source_entries(
    pod: &Pod,
    source: &VolumeProjection,
    refs: &References,
    facts: &PodFacts,
) -> Result<Vec<(String, Vec<u8>)>, PlanError> {
    if let Some(cm) = &source.config_map {
        let Some(found) = refs.config_maps.get(&cm.name) else {
            let name = cm.name.clone();
            return missing(cm.optional, ConfigError::ConfigMapNotFound { name });
        };
        let key_missing = |key: &str| ConfigError::ConfigMapKeyNotFound {
            namespace: facts.namespace.clone(),
            name: cm.name.clone(),
            key: key.to_owned(),
        };
        let entries = config_map_entries(found);
        return select_items(entries, cm.items.as_deref(), cm.optional, key_missing);
    }
    if let Some(secret) = &source.secret {
        let Some(found) = refs.secrets.get(&secret.name) else {
            let name = secret.name.clone();
            return missing(secret.optional, ConfigError::SecretNotFound { name });
        };
        let key_missing = |key: &str| ConfigError::SecretKeyNotFound {
            namespace: facts.namespace.clone(),
            name: secret.name.clone(),
            key: key.to_owned(),
        };
        let entries = secret_entries(found);
        return select_items(
            entries,
            secret.items.as_deref(),
            secret.optional,
            key_missing,
        );
    }
    if let Some(downward) = &source.downward_api {
        let items = downward.items.iter().flatten();
        return items
            .filter_map(|item| downward_item(pod, item, facts).transpose())
            .collect();
    }
    if let Some(token) = &source.service_account_token {
        let key = token_key(token.audience.as_deref(), token.expiration_seconds);
        let Some(issued) = refs.tokens.get(&key) else {
            let account = pod
                .spec
                .as_ref()
                .and_then(|s| s.service_account_name.clone())
                .unwrap_or_else(|| "default".to_owned());
            return Err(ConfigError::TokenNotIssued { account }.into());
        };
        return Ok(vec![(
            token.path.clone(),
            issued.token.clone().into_bytes(),
        )]);
    }
    Ok(Vec::new())
}
