//! Pod volumes as host directories: the directories to create and the files to write
//! (ConfigMap and Secret keys, downward API items, projected sources in `projected`), and
//! each container's mounts of them as preopened directories. A volume whose contents come
//! from the API, and `emptyDir` of medium Memory, lives at `<memory_volumes_dir>/<name>` (a
//! tmpfs when the node has one, as the kubelet mounts one per such volume); a default
//! `emptyDir` (it may be large) at `<pod_dir>/volumes/<name>` on disk.

use super::errors::{ConfigError, PlanError, Unsupported};
use super::fields::{field_value, resource_value};
use super::{PlannedFile, PodFacts, References, VolumeFiles};
use skiff_api::k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, DownwardAPIVolumeFile, KeyToPath, Pod, Secret,
    SecretVolumeSource, Volume,
};
use skiff_runtime_wasm::spec::VolumeMount;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Every key of a ConfigMap (`data` and `binaryData`) with its bytes.
pub fn config_map_entries(cm: &ConfigMap) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (k, v) in cm.data.iter().flatten() {
        out.insert(k.clone(), v.clone().into_bytes());
    }
    for (k, v) in cm.binary_data.iter().flatten() {
        out.insert(k.clone(), v.0.clone());
    }
    out
}

/// Every key of a Secret (`data`, then `stringData` over it) with its bytes.
pub fn secret_entries(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (k, v) in secret.data.iter().flatten() {
        out.insert(k.clone(), v.0.clone());
    }
    for (k, v) in secret.string_data.iter().flatten() {
        out.insert(k.clone(), v.clone().into_bytes());
    }
    out
}

/// Whether `volume` is kept in memory: every type but a default (disk) `emptyDir`.
pub fn in_memory(volume: &Volume) -> bool {
    volume
        .empty_dir
        .as_ref()
        .is_none_or(|e| e.medium.as_deref() == Some("Memory"))
}

/// `<pod_dir>/volumes`: the disk volumes of a pod (and all of them without a tmpfs root).
pub fn disk_volumes_dir(pod_dir: &Path) -> PathBuf {
    pod_dir.join("volumes")
}

/// The host directory of `volume`.
pub fn volume_dir(facts: &PodFacts, volume: &Volume) -> PathBuf {
    if in_memory(volume) {
        facts.memory_volumes_dir.join(&volume.name)
    } else {
        disk_volumes_dir(&facts.pod_dir).join(&volume.name)
    }
}

/// The directories and files of every volume of `pod`.
pub fn plan_volumes(
    pod: &Pod,
    refs: &References,
    facts: &PodFacts,
) -> Result<VolumeFiles, PlanError> {
    let mut plan = VolumeFiles::default();
    for volume in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let dir = volume_dir(facts, volume);
        let entries = volume_entries(pod, volume, refs, facts)?;
        for (path, contents) in entries {
            let path = safe_join(&dir, &volume.name, &path)?;
            plan.files.push(PlannedFile { path, contents });
        }
        plan.dirs.push(dir);
    }
    Ok(plan)
}

/// (relative path, contents) of the files of one volume; empty for emptyDir.
fn volume_entries(
    pod: &Pod,
    volume: &Volume,
    refs: &References,
    facts: &PodFacts,
) -> Result<Vec<(String, Vec<u8>)>, PlanError> {
    if volume.empty_dir.is_some() {
        return Ok(Vec::new());
    }
    if let Some(src) = &volume.config_map {
        return config_map_files(src, refs, facts);
    }
    if let Some(src) = &volume.secret {
        return secret_files(src, refs, facts);
    }
    if let Some(src) = &volume.projected {
        return super::projected::entries(pod, src, refs, facts);
    }
    if let Some(src) = &volume.downward_api {
        let items = src.items.iter().flatten();
        return items
            .filter_map(|item| downward_item(pod, item, facts).transpose())
            .collect();
    }
    Err(Unsupported::VolumeType {
        volume: volume.name.clone(),
    }
    .into())
}

/// (relative path, contents) of a ConfigMap volume's files: every key, or its `items`.
fn config_map_files(
    src: &ConfigMapVolumeSource,
    refs: &References,
    facts: &PodFacts,
) -> Result<Vec<(String, Vec<u8>)>, PlanError> {
    let Some(cm) = refs.config_maps.get(&src.name) else {
        return missing(
            src.optional,
            ConfigError::ConfigMapNotFound {
                name: src.name.clone(),
            },
        );
    };
    let key_missing = |key: &str| ConfigError::ConfigMapKeyNotFound {
        namespace: facts.namespace.clone(),
        name: src.name.clone(),
        key: key.to_owned(),
    };
    select_items(
        config_map_entries(cm),
        src.items.as_deref(),
        src.optional,
        key_missing,
    )
}

/// (relative path, contents) of a Secret volume's files: every key, or its `items`.
fn secret_files(
    src: &SecretVolumeSource,
    refs: &References,
    facts: &PodFacts,
) -> Result<Vec<(String, Vec<u8>)>, PlanError> {
    let name = src.secret_name.clone().unwrap_or_default();
    let Some(secret) = refs.secrets.get(&name) else {
        return missing(src.optional, ConfigError::SecretNotFound { name });
    };
    let key_missing = |key: &str| ConfigError::SecretKeyNotFound {
        namespace: facts.namespace.clone(),
        name: name.clone(),
        key: key.to_owned(),
    };
    select_items(
        secret_entries(secret),
        src.items.as_deref(),
        src.optional,
        key_missing,
    )
}

/// One downward API file: (path, contents); `None` for an item without a source.
pub(super) fn downward_item(
    pod: &Pod,
    item: &DownwardAPIVolumeFile,
    facts: &PodFacts,
) -> Result<Option<(String, Vec<u8>)>, PlanError> {
    let text = if let Some(field) = &item.field_ref {
        field_value(pod, &field.field_path, facts)?
    } else if let Some(res) = &item.resource_field_ref {
        let container = res.container_name.clone().unwrap_or_default();
        resource_value(pod, &container, res, facts)?
    } else {
        return Ok(None);
    };
    Ok(Some((item.path.clone(), text.into_bytes())))
}

/// An empty volume when the source is optional, else the error.
pub(super) fn missing(
    optional: Option<bool>,
    err: ConfigError,
) -> Result<Vec<(String, Vec<u8>)>, PlanError> {
    if optional == Some(true) {
        Ok(Vec::new())
    } else {
        Err(err.into())
    }
}

/// All keys as files, or only `items` (key to path) when given.
pub(super) fn select_items(
    entries: BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    optional: Option<bool>,
    key_missing: impl Fn(&str) -> ConfigError,
) -> Result<Vec<(String, Vec<u8>)>, PlanError> {
    let Some(items) = items else {
        return Ok(entries.into_iter().collect());
    };
    let mut files = Vec::new();
    for item in items {
        match entries.get(&item.key) {
            Some(bytes) => files.push((item.path.clone(), bytes.clone())),
            None if optional == Some(true) => {}
            None => return Err(key_missing(&item.key).into()),
        }
    }
    Ok(files)
}

/// `dir/relative`, refusing absolute paths and `..` so a file cannot leave its volume.
fn safe_join(dir: &Path, volume: &str, relative: &str) -> Result<PathBuf, PlanError> {
    let path = Path::new(relative);
    let plain = path.components().all(|c| matches!(c, Component::Normal(_)));
    if relative.is_empty() || !plain {
        return Err(Unsupported::ItemPath {
            volume: volume.to_owned(),
            path: relative.to_owned(),
        }
        .into());
    }
    Ok(dir.join(path))
}

/// The preopened directories of `container`.
pub fn mounts(
    pod: &Pod,
    container: &Container,
    facts: &PodFacts,
) -> Result<Vec<VolumeMount>, Unsupported> {
    let volumes = pod.spec.iter().flat_map(|s| s.volumes.iter().flatten());
    let mut out = Vec::new();
    for m in container.volume_mounts.iter().flatten() {
        let volume = m.name.clone();
        let Some(source) = volumes.clone().find(|v| v.name == m.name) else {
            let container = container.name.clone();
            return Err(Unsupported::UnknownVolume { container, volume });
        };
        if m.sub_path.as_deref().is_some_and(|p| !p.is_empty())
            || m.sub_path_expr.as_deref().is_some_and(|p| !p.is_empty())
        {
            let container = container.name.clone();
            return Err(Unsupported::SubPath { container, volume });
        }
        out.push(VolumeMount {
            host_path: volume_dir(facts, source),
            guest_path: m.mount_path.clone(),
            // ConfigMap, Secret and downward API volumes are read-only, as in Kubernetes.
            read_only: m.read_only == Some(true) || source.empty_dir.is_none(),
        });
    }
    Ok(out)
}
