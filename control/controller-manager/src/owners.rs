//! Adopting and releasing children (kube's `ControllerRefManager`): a merge patch of
//! `metadata.ownerReferences` that adds or removes the owner's controller reference, with the
//! cached `resourceVersion` as a precondition.

use std::borrow::Borrow;
use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::error::Error;

/// Adds `owner` as the controller of each cached child named in `adopt`, and removes the
/// references to `owner` from each named in `release`. Children gone from the cache are skipped.
pub(crate) async fn adopt_and_release<K>(
    api: &Api<K>,
    children: &[impl Borrow<K>],
    owner: &OwnerReference,
    adopt: &[String],
    release: &[String],
) -> Result<(), Error>
where
    K: Resource<Scope = NamespaceResourceScope> + Clone + Debug + serde::de::DeserializeOwned,
{
    if adopt.is_empty() && release.is_empty() {
        return Ok(());
    }
    for child in children {
        let child: &K = child.borrow();
        let name = child.name_any();
        let mut refs = child.owner_references().to_vec();
        if adopt.contains(&name) {
            refs.push(owner.clone());
        } else if release.contains(&name) {
            refs.retain(|r| r.uid != owner.uid);
        } else {
            continue;
        }
        let patch = json!({"metadata": {
            "ownerReferences": refs,
            "resourceVersion": child.resource_version(),
        }});
        let patched = api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await;
        match patched {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(Error::api("patching the owners of", name)(e)),
        }
    }
    Ok(())
}
