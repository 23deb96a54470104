//! `skiff up` puts its cluster into the user's kubeconfig, as `kind create cluster` does, so
//! kubectl and the skiff CLI reach it at once: a cluster, a user and a context all named
//! `skiff` are added (or replaced), the current context is set to it, and every other entry
//! of the file is kept as it was. The file is `--kubeconfig PATH`, else the first file of
//! `$KUBECONFIG`, else `~/.kube/config`; it is replaced atomically with mode 0600.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_yaml::{Mapping, Value};

/// The name of the cluster, user and context `skiff up` writes.
pub const CONTEXT: &str = "skiff";

/// Where `skiff up` writes: `explicit`, else `$KUBECONFIG`'s first file, else ~/.kube/config.
pub fn target(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_owned());
    }
    let from_env = std::env::var_os("KUBECONFIG")
        .and_then(|list| std::env::split_paths(&list).find(|p| !p.as_os_str().is_empty()));
    if from_env.is_some() {
        return from_env;
    }
    crate::client::session::default_kubeconfig_path()
}

/// Merges the cluster of `admin` (the data directory's admin kubeconfig) into `target`.
pub fn merge_into(target: &Path, admin: &Path) -> anyhow::Result<()> {
    let admin_text =
        std::fs::read_to_string(admin).with_context(|| format!("reading {}", admin.display()))?;
    let admin: Value = serde_yaml::from_str(&admin_text)
        .with_context(|| format!("parsing {}", admin.display()))?;
    let existing = match std::fs::read_to_string(target) {
        Ok(text) if !text.trim().is_empty() => serde_yaml::from_str(&text)
            .with_context(|| format!("parsing {} (left unchanged)", target.display()))?,
        Ok(_) => Value::Null,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Value::Null,
        Err(e) => return Err(e).with_context(|| format!("reading {}", target.display())),
    };
    let merged = merged(existing, &admin)?;
    write_private(target, &serde_yaml::to_string(&merged)?)
}

/// `existing` with the `skiff` cluster, user and context of `admin` put in and made current.
pub fn merged(existing: Value, admin: &Value) -> anyhow::Result<Value> {
    let first = |list: &str| -> anyhow::Result<Value> {
        admin[list][0]
            .get(list.trim_end_matches('s'))
            .cloned()
            .with_context(|| format!("the admin kubeconfig has no {list}"))
    };
    let (cluster, user) = (first("clusters")?, first("users")?);
    let mut context = first("contexts")?;
    if let Some(map) = context.as_mapping_mut() {
        map.insert("cluster".into(), CONTEXT.into());
        map.insert("user".into(), CONTEXT.into());
    }
    let mut config = match existing {
        Value::Mapping(map) => map,
        _ => Mapping::new(),
    };
    config.entry("apiVersion".into()).or_insert("v1".into());
    config.entry("kind".into()).or_insert("Config".into());
    upsert(&mut config, "clusters", "cluster", cluster);
    upsert(&mut config, "users", "user", user);
    upsert(&mut config, "contexts", "context", context);
    config.insert("current-context".into(), CONTEXT.into());
    Ok(Value::Mapping(config))
}

/// Replaces the entry named [`CONTEXT`] in list `list` (or appends one).
fn upsert(config: &mut Mapping, list: &str, field: &str, body: Value) {
    let mut entry = Mapping::new();
    entry.insert("name".into(), CONTEXT.into());
    entry.insert(field.into(), body);
    let slot = config
        .entry(list.into())
        .or_insert_with(|| Value::Sequence(Vec::new()));
    if !slot.is_sequence() {
        *slot = Value::Sequence(Vec::new());
    }
    if let Value::Sequence(items) = slot {
        items.retain(|item| item["name"].as_str() != Some(CONTEXT));
        items.push(Value::Mapping(entry));
    }
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension(format!("skiff-tmp-{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: skiff\n  cluster:\n    server: https://127.0.0.1:7000\n    certificate-authority-data: Q0E=\nusers:\n- name: skiff-admin\n  user:\n    token: t1\ncontexts:\n- name: skiff\n  context:\n    cluster: skiff\n    user: skiff-admin\n    namespace: default\ncurrent-context: skiff\n";

    #[test]
    fn other_contexts_are_kept_and_skiff_is_replaced() {
        let admin: Value = serde_yaml::from_str(ADMIN).unwrap();
        let existing: Value = serde_yaml::from_str(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster: {server: https://prod}\n- name: skiff\n  cluster: {server: https://old}\nusers:\n- name: prod\n  user: {token: p}\ncontexts:\n- name: prod\n  context: {cluster: prod, user: prod}\ncurrent-context: prod\npreferences: {colors: true}\n",
        )
        .unwrap();
        let out = merged(existing, &admin).unwrap();
        assert_eq!(out["current-context"], "skiff");
        assert_eq!(out["preferences"]["colors"], true);
        let clusters = out["clusters"].as_sequence().unwrap();
        assert_eq!(clusters.len(), 2);
        assert_eq!(clusters[0]["name"], "prod");
        assert_eq!(clusters[1]["cluster"]["server"], "https://127.0.0.1:7000");
        assert_eq!(out["users"][1]["user"]["token"], "t1");
        assert_eq!(out["contexts"][1]["context"]["user"], "skiff");
        assert_eq!(out["contexts"][1]["context"]["namespace"], "default");
        let fresh = merged(Value::Null, &admin).unwrap();
        assert_eq!(fresh["contexts"].as_sequence().unwrap().len(), 1);
        assert_eq!(fresh["kind"], "Config");
    }
}
