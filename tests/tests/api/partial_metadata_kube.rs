//! kube-rs's metadata-only calls against skiff: `get_metadata`, `list_metadata` in pages and
//! `watch_metadata` on ConfigMaps (core) and Leases (`coordination.k8s.io`), each object's
//! metadata equal to what a full read says.

use anyhow::{Context, ensure};
use futures::TryStreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{ListParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;
use skiff_tests::{Replica, kubeconfig_for};

/// The kube-rs half of `partial_metadata`: ConfigMaps `cm0`..`cm4` exist in `default`.
pub(super) async fn through_kube_rs(replica: &Replica) -> anyhow::Result<()> {
    let kubeconfig = Kubeconfig::read_from(kubeconfig_for(replica, &replica.url())?)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .context("kube config from the kubeconfig")?;
    let client = Client::try_from(config)?;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    same_metadata(&config_maps, "cm2").await?;
    let leases: Api<Lease> = Api::namespaced(client, "default");
    let lease: Lease = serde_json::from_value(json!({
        "metadata": {"name": "meta-lease", "labels": {"a": "b"}},
        "spec": {"holderIdentity": "me"},
    }))?;
    leases.create(&PostParams::default(), &lease).await?;
    same_metadata(&leases, "meta-lease").await?;
    watch_sees_a_change(&config_maps).await
}

/// `get_metadata` and `list_metadata` (pages of 2) agree with `get` and `list`.
async fn same_metadata<K>(api: &Api<K>, name: &str) -> anyhow::Result<()>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let full = api.get(name).await?;
    let partial = api.get_metadata(name).await?;
    ensure!(
        partial.metadata == *full.meta(),
        "{:?} vs {:?}",
        partial.metadata,
        full.meta()
    );
    let types = partial.types.context("typed")?;
    ensure!(
        types.kind == "PartialObjectMetadata" && types.api_version == "meta.k8s.io/v1",
        "{types:?}"
    );
    let mut names = Vec::new();
    let mut params = ListParams::default().limit(2);
    loop {
        let page = api.list_metadata(&params).await?;
        names.extend(page.items.iter().map(|i| i.name_any()));
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    let all: Vec<String> = api
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .map(|i| i.name_any())
        .collect();
    ensure!(names == all, "{names:?} vs {all:?}");
    Ok(())
}

/// `watch_metadata` from now: a label change on `cm3` comes as MODIFIED with the new labels.
async fn watch_sees_a_change(api: &Api<ConfigMap>) -> anyhow::Result<()> {
    let version = api
        .list_metadata(&ListParams::default())
        .await?
        .metadata
        .resource_version
        .context("list resourceVersion")?;
    let stream = api
        .watch_metadata(&WatchParams::default().timeout(5), &version)
        .await?;
    let patch = json!({"metadata": {"labels": {"changed": "yes"}}});
    let patched = api
        .patch(
            "cm3",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await?;
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.try_next().await? {
        if let WatchEvent::Modified(object) = event {
            ensure!(
                object.name_any() == "cm3" && object.metadata == patched.metadata,
                "{object:?} vs {:?}",
                patched.metadata
            );
            return Ok(());
        }
    }
    anyhow::bail!("no MODIFIED event for cm3 within the watch")
}
