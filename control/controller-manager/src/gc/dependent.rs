//! One object as a dependent (kube's `attemptToDeleteItem`): the state of each owner it names,
//! from the caches or, when a cache does not know the owner, from the API; then
//! `decide_dependent`'s verdict carried out: delete it (with the propagation policy decided),
//! or remove the references to owners that are gone.

use std::collections::HashMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::ResourceExt;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions, PropagationPolicy};
use serde_json::json;
use skiff_controllers::gc::{
    DependentAction, FOREGROUND_DELETION, OwnerState, Propagation, decide_dependent,
};

use super::{Gc, Kind, Meta};
use crate::error::Error;

/// Collects `obj` if its owners say so.
pub(super) async fn collect(gc: &Gc, kind: &Kind, obj: &Meta) -> Result<(), Error> {
    if obj.owner_references().is_empty() || obj.metadata.deletion_timestamp.is_some() {
        return Ok(());
    }
    let mut states = HashMap::new();
    for r in obj.owner_references() {
        let state = owner_state(gc, r, obj.namespace().as_deref()).await?;
        states.insert(r.uid.clone(), state);
    }
    let uid = obj.uid().unwrap_or_default();
    let has_dependents = !skiff_sync::lock(&gc.graph).dependents_of(&uid).is_empty();
    let state = |r: &OwnerReference| states.get(&r.uid).copied().unwrap_or(OwnerState::Present);
    match decide_dependent(&obj.metadata, state, has_dependents) {
        DependentAction::Keep => Ok(()),
        DependentAction::Delete(policy) => delete(gc, kind, obj, policy).await,
        DependentAction::RemoveOwnerReferences(uids) => {
            remove_references(gc, kind, obj, &uids).await
        }
    }
}

fn state_of(owner: &Meta) -> OwnerState {
    let foreground = owner.finalizers().iter().any(|f| f == FOREGROUND_DELETION);
    if owner.metadata.deletion_timestamp.is_some() && foreground {
        OwnerState::DeletingForeground
    } else {
        OwnerState::Present
    }
}

/// The owner `r` names, by uid: from its kind's cache, else from the API (a 404 or another
/// uid is absent). An owner of a kind not watched here counts as present.
async fn owner_state(
    gc: &Gc,
    r: &OwnerReference,
    namespace: Option<&str>,
) -> Result<OwnerState, Error> {
    let Some((k, kind)) = gc.kind_of(&r.api_version, &r.kind) else {
        tracing::debug!(
            "controller-manager: garbage collector: owner kind {}/{} is not served; keeping its dependents",
            r.api_version,
            r.kind
        );
        return Ok(OwnerState::Present);
    };
    let located = skiff_sync::lock(&gc.graph).locate(&r.uid);
    let cached = located
        .filter(|at| at.kind == k)
        .and_then(|at| kind.get(&at))
        .filter(|o| o.uid().as_deref() == Some(&r.uid));
    if let Some(owner) = cached {
        return Ok(state_of(&owner));
    }
    let live = kind
        .api(&gc.client, namespace)
        .get_opt(&r.name)
        .await
        .map_err(Error::api("looking up the owner", r.name.clone()))?;
    Ok(match live {
        Some(owner) if owner.uid().as_deref() == Some(&r.uid) => state_of(&owner),
        _ => OwnerState::Absent,
    })
}

async fn delete(gc: &Gc, kind: &Kind, obj: &Meta, policy: Propagation) -> Result<(), Error> {
    let params = DeleteParams {
        propagation_policy: Some(match policy {
            Propagation::Background => PropagationPolicy::Background,
            Propagation::Foreground => PropagationPolicy::Foreground,
            Propagation::Orphan => PropagationPolicy::Orphan,
        }),
        preconditions: Some(Preconditions {
            uid: obj.uid(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    let name = obj.name_any();
    tracing::debug!(
        "controller-manager: garbage collector: deleting {} {name} ({policy:?})",
        kind.info.kind
    );
    match kind
        .api(&gc.client, obj.namespace().as_deref())
        .delete(&name, &params)
        .await
    {
        Ok(_) => Ok(()),
        // Gone, or replaced by a namesake (the uid precondition).
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        Err(e) => Err(Error::api("deleting dependent", name)(e)),
    }
}

/// Removes the references to `uids` (a merge patch of the whole list, with the cached
/// `resourceVersion`: a stale cache gets 409 and the object is decided again).
pub(super) async fn remove_references(
    gc: &Gc,
    kind: &Kind,
    obj: &Meta,
    uids: &[String],
) -> Result<(), Error> {
    let kept: Vec<&OwnerReference> = obj
        .owner_references()
        .iter()
        .filter(|r| !uids.contains(&r.uid))
        .collect();
    let patch = json!({"metadata": {
        "ownerReferences": kept,
        "resourceVersion": obj.resource_version(),
    }});
    let name = obj.name_any();
    match kind
        .api(&gc.client, obj.namespace().as_deref())
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(Error::api("removing owner references of", name)(e)),
    }
}
