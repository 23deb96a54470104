//! kube's root-ca-cert-publisher: every Namespace gets the ConfigMap `kube-root-ca.crt` whose
//! `ca.crt` is the cluster CA, which the `kube-api-access-*` projected volume of every pod
//! mounts beside its ServiceAccount token. Run from the namespace reconcile of
//! `serviceaccounts` (before the `default` ServiceAccount is made, so a pod admitted with the
//! volume finds the ConfigMap). An existing ConfigMap is left as it is.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use kube::api::{Api, PostParams};

use crate::context::Ctx;
use crate::error::Error;

/// The ConfigMap's name in every namespace.
pub(crate) const ROOT_CA_CONFIGMAP: &str = "kube-root-ca.crt";

/// Creates `kube-root-ca.crt` in `ns` where missing (no CA configured: nothing to publish).
pub(crate) async fn publish(ns: &Namespace, ctx: &Ctx) -> Result<(), Error> {
    let Some(ca) = &ctx.config.root_ca else {
        return Ok(());
    };
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ns.name_any());
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some(ROOT_CA_CONFIGMAP.into()),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(
            "ca.crt".to_string(),
            String::from_utf8_lossy(ca).into_owned(),
        )])),
        ..ConfigMap::default()
    };
    match api.create(&PostParams::default(), &cm).await {
        Ok(_) => tracing::debug!(
            "controller-manager: published {}/{ROOT_CA_CONFIGMAP}",
            ns.name_any()
        ),
        // Exists; or the namespace is being deleted (403).
        Err(kube::Error::Api(s)) if s.code == 409 || s.code == 403 => {}
        Err(e) => {
            return Err(Error::api("publishing kube-root-ca.crt in", ns.name_any())(
                e,
            ));
        }
    }
    Ok(())
}
