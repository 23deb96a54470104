//! The ConfigMaps and Secrets a pod references (env, envFrom, configMap, secret and projected
//! volumes), and fetching them by name from the pod's namespace, as the kubelet's
//! configmap and secret managers get each object the pod names (through the node's shared
//! reads, `ref_cache.rs`). A missing object is simply
//! absent from [`References`]: the translation then holds the container in
//! CreateContainerConfigError (or the pod in ContainerCreating for a volume) until it exists.

use super::ref_cache::{Read, RefCache};
use crate::translate::References;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use std::collections::{BTreeMap, BTreeSet};

/// Names of the referenced objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    pub config_maps: BTreeSet<String>,
    pub secrets: BTreeSet<String>,
}

/// Every ConfigMap and Secret `pod` names.
pub fn names(pod: &Pod) -> Names {
    let mut out = Names::default();
    let Some(spec) = &pod.spec else {
        return out;
    };
    let containers = spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers);
    for c in containers {
        for from in c.env_from.iter().flatten() {
            if let Some(r) = &from.config_map_ref {
                out.config_maps.insert(r.name.clone());
            }
            if let Some(r) = &from.secret_ref {
                out.secrets.insert(r.name.clone());
            }
        }
        for var in c.env.iter().flatten() {
            let Some(from) = &var.value_from else {
                continue;
            };
            if let Some(r) = &from.config_map_key_ref {
                out.config_maps.insert(r.name.clone());
            }
            if let Some(r) = &from.secret_key_ref {
                out.secrets.insert(r.name.clone());
            }
        }
    }
    for v in spec.volumes.iter().flatten() {
        if let Some(cm) = &v.config_map {
            out.config_maps.insert(cm.name.clone());
        }
        if let Some(name) = v.secret.as_ref().and_then(|s| s.secret_name.clone()) {
            out.secrets.insert(name);
        }
        let sources = v.projected.iter().flat_map(|p| p.sources.iter().flatten());
        for source in sources {
            if let Some(cm) = &source.config_map {
                out.config_maps.insert(cm.name.clone());
            }
            if let Some(s) = &source.secret {
                out.secrets.insert(s.name.clone());
            }
        }
    }
    for r in spec.image_pull_secrets.iter().flatten() {
        out.secrets.insert(r.name.clone());
    }
    out.config_maps.retain(|n| !n.is_empty());
    out.secrets.retain(|n| !n.is_empty());
    out
}

/// Which versions of the references were seen: a change means the pod's input changes.
pub fn versions(refs: &References) -> BTreeMap<String, Option<String>> {
    let cms = refs.config_maps.iter().map(|(n, o)| {
        (
            format!("configmap/{n}"),
            o.metadata.resource_version.clone(),
        )
    });
    let secrets = refs
        .secrets
        .iter()
        .map(|(n, o)| (format!("secret/{n}"), o.metadata.resource_version.clone()));
    // A renewed token changes the pod's input, so its volume files are written again.
    let tokens = refs
        .tokens
        .iter()
        .map(|(k, t)| (format!("token/{k}"), Some(t.token.clone())));
    cms.chain(secrets).chain(tokens).collect()
}

/// The outcome of one fetch: the objects found, and whether any named one is missing (or
/// could not be read), so the caller looks again soon.
pub struct Fetched {
    pub refs: References,
    pub incomplete: bool,
}

/// Gets every named object of `namespace`, through the node's shared reads (`shared`).
/// Objects that could not be read for a reason other than absence keep their `previous`
/// version.
pub async fn fetch(
    client: &Client,
    shared: &RefCache,
    namespace: &str,
    names: &Names,
    previous: &References,
) -> Fetched {
    let mut out = Fetched {
        refs: References::default(),
        incomplete: false,
    };
    for name in &names.config_maps {
        let read = shared.config_map(client, namespace, name).await;
        keep(
            read,
            name,
            &previous.config_maps,
            &mut out.refs.config_maps,
            &mut out.incomplete,
        );
    }
    for name in &names.secrets {
        let read = shared.secret(client, namespace, name).await;
        keep(
            read,
            name,
            &previous.secrets,
            &mut out.refs.secrets,
            &mut out.incomplete,
        );
    }
    out
}

/// Puts one read's object into `into`: the one read, else (unreadable) the previous one.
fn keep<K: Clone>(
    read: Read<K>,
    name: &str,
    previous: &BTreeMap<String, K>,
    into: &mut BTreeMap<String, K>,
    incomplete: &mut bool,
) {
    match read {
        Ok(Some(object)) => {
            into.insert(name.to_owned(), object);
        }
        Ok(None) => *incomplete = true,
        Err(()) => {
            *incomplete = true;
            if let Some(old) = previous.get(name) {
                into.insert(name.to_owned(), old.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_cover_env_env_from_and_volumes() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {
                "initContainers": [{"name": "i", "envFrom": [{"secretRef": {"name": "s-init"}}]}],
                "containers": [{"name": "c",
                    "envFrom": [{"configMapRef": {"name": "cm-from"}}],
                    "env": [
                        {"name": "A", "value": "x"},
                        {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "cm-key", "key": "k"}}},
                        {"name": "C", "valueFrom": {"secretKeyRef": {"name": "s-key", "key": "k"}}},
                        {"name": "D", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
                    ]}],
                "volumes": [
                    {"name": "v1", "configMap": {"name": "cm-vol"}},
                    {"name": "v2", "secret": {"secretName": "s-vol"}},
                    {"name": "v3", "emptyDir": {}},
                    {"name": "v4", "projected": {"sources": [
                        {"configMap": {"name": "cm-proj"}}, {"secret": {"name": "s-proj"}}]}}
                ]
            }
        }))
        .unwrap();
        let got = names(&pod);
        let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
        assert_eq!(
            got.config_maps,
            set(&["cm-from", "cm-key", "cm-proj", "cm-vol"])
        );
        assert_eq!(got.secrets, set(&["s-init", "s-key", "s-proj", "s-vol"]));
        assert_eq!(names(&Pod::default()), Names::default());
    }
}
