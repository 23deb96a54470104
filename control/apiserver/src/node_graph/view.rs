//! The fields of a stored pod that reference ConfigMaps and Secrets, and nothing else: serde
//! skips the rest of the pod without building it.

use serde::Deserialize;

use super::RefKind;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Pod {
    pub(super) metadata: Metadata,
    pub(super) spec: Spec,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct Metadata {
    pub(super) namespace: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct Spec {
    pub(super) node_name: Option<String>,
    init_containers: Vec<Container>,
    containers: Vec<Container>,
    ephemeral_containers: Vec<Container>,
    volumes: Vec<Volume>,
    image_pull_secrets: Vec<Named>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Container {
    env: Vec<Env>,
    env_from: Vec<EnvFrom>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Env {
    value_from: Option<EnvSource>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct EnvSource {
    config_map_key_ref: Option<Named>,
    secret_key_ref: Option<Named>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct EnvFrom {
    config_map_ref: Option<Named>,
    secret_ref: Option<Named>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Volume {
    config_map: Option<Named>,
    secret: Option<SecretVolume>,
    projected: Option<Projected>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SecretVolume {
    secret_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Projected {
    sources: Vec<ProjectedSource>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ProjectedSource {
    config_map: Option<Named>,
    secret: Option<Named>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Named {
    name: Option<String>,
}

fn named(kind: RefKind, n: &Option<Named>) -> Option<(RefKind, &str)> {
    Some((kind, n.as_ref()?.name.as_deref()?))
}

impl Spec {
    /// Every (kind, name) this pod references, possibly repeated.
    pub(super) fn references(&self) -> impl Iterator<Item = (RefKind, &str)> {
        let containers = self
            .init_containers
            .iter()
            .chain(&self.containers)
            .chain(&self.ephemeral_containers);
        let from_containers = containers.flat_map(|c| {
            let env = c
                .env
                .iter()
                .filter_map(|e| e.value_from.as_ref())
                .flat_map(|s| {
                    [
                        named(RefKind::ConfigMap, &s.config_map_key_ref),
                        named(RefKind::Secret, &s.secret_key_ref),
                    ]
                });
            let env_from = c.env_from.iter().flat_map(|e| {
                [
                    named(RefKind::ConfigMap, &e.config_map_ref),
                    named(RefKind::Secret, &e.secret_ref),
                ]
            });
            env.chain(env_from)
        });
        let from_volumes = self.volumes.iter().flat_map(|v| {
            let projected = v.projected.iter().flat_map(|p| &p.sources).flat_map(|s| {
                [
                    named(RefKind::ConfigMap, &s.config_map),
                    named(RefKind::Secret, &s.secret),
                ]
            });
            let secret = v.secret.as_ref().and_then(|s| s.secret_name.as_deref());
            [
                named(RefKind::ConfigMap, &v.config_map),
                secret.map(|name| (RefKind::Secret, name)),
            ]
            .into_iter()
            .chain(projected)
        });
        let pull_secrets = self
            .image_pull_secrets
            .iter()
            .filter_map(|s| Some((RefKind::Secret, s.name.as_deref()?)));
        from_containers
            .chain(from_volumes)
            .flatten()
            .chain(pull_secrets)
    }
}
