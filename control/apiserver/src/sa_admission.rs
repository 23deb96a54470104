//! Kubernetes' ServiceAccount admission for Pods: a pod without `serviceAccountName` runs as
//! `default`, and unless the pod or its account sets `automountServiceAccountToken: false`,
//! it gets the `kube-api-access-<5>` projected volume (a bound token of 3607 s, the cluster
//! CA from the `kube-root-ca.crt` ConfigMap and the namespace) mounted read-only at
//! `/var/run/secrets/kubernetes.io/serviceaccount` in every container that has nothing
//! mounted there. The node agent fills the volume (`node/agent`'s projected volumes).
//!
//! One difference from kube-apiserver: a pod whose ServiceAccount does not exist is admitted
//! without the volume (kube refuses it with 403 until the account exists), so clusters run
//! without the controller manager, which makes each namespace's `default` account, still
//! take pods.

use serde_json::{Value, json};
use skiff_api::status::ApiError;

use super::ApiServer;
use super::meta;

/// Where the token, `ca.crt` and `namespace` appear in every container.
pub(crate) const MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The token's lifetime kube's admission asks for (an hour, plus 7 s so that a token's age can
/// tell a kubelet-requested token apart).
pub(crate) const TOKEN_SECONDS: i64 = 3607;
/// The ConfigMap holding the cluster CA in every namespace (kube's root-ca-cert-publisher).
pub(crate) const ROOT_CA_CONFIGMAP: &str = "kube-root-ca.crt";

/// The projected volume kube's admission adds, named `name`.
pub(crate) fn api_access_volume(name: &str) -> Value {
    json!({
        "name": name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                { "serviceAccountToken": { "expirationSeconds": TOKEN_SECONDS, "path": "token" } },
                { "configMap": { "name": ROOT_CA_CONFIGMAP,
                                 "items": [ { "key": "ca.crt", "path": "ca.crt" } ] } },
                { "downwardAPI": { "items": [ { "path": "namespace",
                    "fieldRef": { "apiVersion": "v1", "fieldPath": "metadata.namespace" } } ] } }
            ]
        }
    })
}

/// The account `pod` runs as, defaulting `serviceAccountName` to `default`.
pub(crate) fn account_name(pod: &mut Value) -> String {
    let spec = &mut pod["spec"];
    let name = spec["serviceAccountName"]
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or("default")
        .to_owned();
    if spec.is_object() {
        spec["serviceAccountName"] = json!(name);
    }
    name
}

/// Adds the projected volume named `volume` to `pod` and mounts it in each container with
/// nothing at [`MOUNT_PATH`], unless the pod (first) or `account` opts out. Pure.
pub(crate) fn mount_token(pod: &mut Value, account: &Value, volume: &str) {
    let automount = pod["spec"]["automountServiceAccountToken"]
        .as_bool()
        .or(account["automountServiceAccountToken"].as_bool())
        .unwrap_or(true);
    if !automount || !pod["spec"].is_object() {
        return;
    }
    let mut mounted = false;
    for list in ["initContainers", "containers"] {
        let Some(containers) = pod["spec"][list].as_array_mut() else {
            continue;
        };
        for c in containers {
            let mounts = c["volumeMounts"].as_array();
            if mounts.is_some_and(|m| m.iter().any(|m| m["mountPath"] == MOUNT_PATH)) {
                continue;
            }
            let mount = json!({ "name": volume, "readOnly": true, "mountPath": MOUNT_PATH });
            match c["volumeMounts"].as_array_mut() {
                Some(m) => m.push(mount),
                None => c["volumeMounts"] = json!([mount]),
            }
            mounted = true;
        }
    }
    if !mounted {
        return;
    }
    let volume = api_access_volume(volume);
    match pod["spec"]["volumes"].as_array_mut() {
        Some(v) => v.push(volume),
        None => pod["spec"]["volumes"] = json!([volume]),
    }
}

impl ApiServer {
    /// ServiceAccount admission of a Pod being created (see the module docs).
    pub(crate) async fn admit_service_account(&self, pod: &mut Value) -> Result<(), ApiError> {
        let account = account_name(pod);
        let Some(namespace) = pod["metadata"]["namespace"].as_str().map(str::to_owned) else {
            return Ok(());
        };
        let accounts = skiff_api::resources::find("", "v1", "serviceaccounts")
            .ok_or_else(|| ApiError::internal("serviceaccounts are not served"))?;
        let consistency = skiff_replica::ops::Consistency::Serializable;
        let Some(found) = self
            .objects
            .get(accounts, Some(&namespace), &account, consistency)
            .await?
        else {
            return Ok(());
        };
        let volume = format!("kube-api-access-{}", meta::suffix());
        mount_token(pod, &found, &volume);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
