//! One object as an owner being deleted (kube's `attemptToOrphan` and
//! `processDeletingDependentsItem`): with the `orphan` finalizer its dependents lose their
//! reference to it, then the finalizer goes; with `foregroundDeletion` its dependents are
//! woken to be deleted, and the finalizer goes once no blocking dependent is left.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;
use skiff_controllers::gc::{FOREGROUND_DELETION, ORPHAN, decide_owner};

use super::dependent::remove_references;
use super::graph::Located;
use super::{Gc, Kind, Meta};
use crate::error::Error;

/// Advances the deletion of `obj` if it waits for the collector.
pub(super) async fn collect(gc: &Gc, kind: &Kind, obj: &Meta) -> Result<(), Error> {
    let waits = obj
        .finalizers()
        .iter()
        .any(|f| f == ORPHAN || f == FOREGROUND_DELETION);
    if obj.metadata.deletion_timestamp.is_none() || !waits {
        return Ok(());
    }
    let uid = obj.uid().unwrap_or_default();
    let located = skiff_sync::lock(&gc.graph).dependents_of(&uid);
    // The dependents' current objects, by kind (`decide_owner` names them within a kind).
    let mut by_kind: BTreeMap<usize, Vec<(Located, Arc<Meta>)>> = BTreeMap::new();
    for at in located {
        if let Some(dep) = gc.kinds.get(at.kind).and_then(|k| k.get(&at)) {
            by_kind.entry(at.kind).or_default().push((at, dep));
        }
    }
    let mut done = true;
    let mut finalizer = None;
    for (k, deps) in &by_kind {
        let Some(dep_kind) = gc.kinds.get(*k) else {
            continue;
        };
        let metas: Vec<&ObjectMeta> = deps.iter().map(|(_, d)| &d.metadata).collect();
        let plan = decide_owner(&obj.metadata, &metas);
        for (_, dep) in deps
            .iter()
            .filter(|(_, d)| plan.orphan.contains(&d.name_any()))
        {
            remove_references(gc, dep_kind, dep, std::slice::from_ref(&uid)).await?;
        }
        let wake: Vec<Located> = deps
            .iter()
            .filter(|(_, d)| plan.process.contains(&d.name_any()))
            .map(|(at, _)| at.clone())
            .collect();
        gc.wake(wake);
        done &= plan.remove_finalizer.is_some();
        finalizer = finalizer.or(plan.remove_finalizer);
    }
    if by_kind.is_empty() {
        finalizer = decide_owner(&obj.metadata, &[]).remove_finalizer;
    }
    match finalizer {
        Some(f) if done => remove_finalizer(gc, kind, obj, f).await,
        _ => Ok(()),
    }
}

/// Removes `finalizer` from the owner (with the cached `resourceVersion`). The API server
/// then removes an object left without finalizers, except a pod (its agent does): a pod
/// without finalizers is deleted again, which removes it unless its agent still stops it.
async fn remove_finalizer(gc: &Gc, kind: &Kind, obj: &Meta, finalizer: &str) -> Result<(), Error> {
    let kept: Vec<&String> = obj
        .finalizers()
        .iter()
        .filter(|f| *f != finalizer)
        .collect();
    let patch = json!({"metadata": {
        "finalizers": kept,
        "resourceVersion": obj.resource_version(),
    }});
    let name = obj.name_any();
    let api = kind.api(&gc.client, obj.namespace().as_deref());
    match api
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
        Err(e) => return Err(Error::api("removing the finalizer of", name)(e)),
    }
    if kind.info.kind == "Pod" && kept.is_empty() {
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(Error::api("deleting pod", name)(e)),
        }
    }
    Ok(())
}
