//! A container's environment as the kubelet builds it: `envFrom` sources in order (with
//! their prefix), then `env` in order, each `value` expanded with `$(VAR)` against the
//! variables before it, each `valueFrom` resolved from the ConfigMaps, Secrets, the
//! downward API fields and the container's resources.

use super::errors::ConfigError;
use super::expand::expand;
use super::fields::{field_value, resource_value};
use super::{PodFacts, References};
use skiff_api::k8s_openapi::api::core::v1::{
    ConfigMapKeySelector, Container, EnvFromSource, EnvVarSource, Pod, SecretKeySelector,
};
use std::collections::BTreeMap;

/// The resolved environment of `container`.
pub fn container_env(
    pod: &Pod,
    container: &Container,
    refs: &References,
    facts: &PodFacts,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut env = BTreeMap::new();
    for source in container.env_from.iter().flatten() {
        env_from(source, refs, &mut env)?;
    }
    for var in container.env.iter().flatten() {
        let value = match &var.value_from {
            Some(from) => value_from(pod, &container.name, from, refs, facts)?,
            None => {
                let raw = var.value.as_deref().unwrap_or_default();
                Some(expand(raw, |name| env.get(name).cloned()))
            }
        };
        if let Some(value) = value {
            env.insert(var.name.clone(), value);
        }
    }
    Ok(env)
}

/// A valid C identifier-ish name; the kubelet skips other keys of an `envFrom` source.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '-' || c == '.')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

fn env_from(
    source: &EnvFromSource,
    refs: &References,
    env: &mut BTreeMap<String, String>,
) -> Result<(), ConfigError> {
    let prefix = source.prefix.as_deref().unwrap_or_default();
    let values = if let Some(cm) = &source.config_map_ref {
        match refs.config_maps.get(&cm.name) {
            Some(found) => super::volumes::config_map_entries(found),
            None if cm.optional == Some(true) => return Ok(()),
            None => {
                return Err(ConfigError::ConfigMapNotFound {
                    name: cm.name.clone(),
                });
            }
        }
    } else if let Some(s) = &source.secret_ref {
        match refs.secrets.get(&s.name) {
            Some(found) => super::volumes::secret_entries(found),
            None if s.optional == Some(true) => return Ok(()),
            None => {
                return Err(ConfigError::SecretNotFound {
                    name: s.name.clone(),
                });
            }
        }
    } else {
        return Ok(());
    };
    for (key, bytes) in values {
        let name = format!("{prefix}{key}");
        if is_env_name(&name) {
            env.insert(name, String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    Ok(())
}

/// The value of a `valueFrom`; `None` for an optional reference that does not resolve.
fn value_from(
    pod: &Pod,
    container_name: &str,
    from: &EnvVarSource,
    refs: &References,
    facts: &PodFacts,
) -> Result<Option<String>, ConfigError> {
    if let Some(sel) = &from.config_map_key_ref {
        return config_map_key(sel, refs, &facts.namespace);
    }
    if let Some(sel) = &from.secret_key_ref {
        return secret_key(sel, refs, &facts.namespace);
    }
    if let Some(field) = &from.field_ref {
        return field_value(pod, &field.field_path, facts).map(Some);
    }
    if let Some(res) = &from.resource_field_ref {
        let name = res.container_name.as_deref().unwrap_or(container_name);
        return resource_value(pod, name, res, facts).map(Some);
    }
    Ok(None)
}

fn config_map_key(
    sel: &ConfigMapKeySelector,
    refs: &References,
    namespace: &str,
) -> Result<Option<String>, ConfigError> {
    let optional = sel.optional == Some(true);
    let Some(cm) = refs.config_maps.get(&sel.name) else {
        return if optional {
            Ok(None)
        } else {
            Err(ConfigError::ConfigMapNotFound {
                name: sel.name.clone(),
            })
        };
    };
    let entries = super::volumes::config_map_entries(cm);
    match entries.get(&sel.key) {
        Some(bytes) => Ok(Some(String::from_utf8_lossy(bytes).into_owned())),
        None if optional => Ok(None),
        None => Err(ConfigError::ConfigMapKeyNotFound {
            namespace: namespace.to_owned(),
            name: sel.name.clone(),
            key: sel.key.clone(),
        }),
    }
}

fn secret_key(
    sel: &SecretKeySelector,
    refs: &References,
    namespace: &str,
) -> Result<Option<String>, ConfigError> {
    let optional = sel.optional == Some(true);
    let Some(secret) = refs.secrets.get(&sel.name) else {
        return if optional {
            Ok(None)
        } else {
            Err(ConfigError::SecretNotFound {
                name: sel.name.clone(),
            })
        };
    };
    match super::volumes::secret_entries(secret).get(&sel.key) {
        Some(bytes) => Ok(Some(String::from_utf8_lossy(bytes).into_owned())),
        None if optional => Ok(None),
        None => Err(ConfigError::SecretKeyNotFound {
            namespace: namespace.to_owned(),
            name: sel.name.clone(),
            key: sel.key.clone(),
        }),
    }
}
