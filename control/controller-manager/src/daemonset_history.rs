//! A DaemonSet's ControllerRevisions, carried out: the plan of
//! `skiff_controllers::daemonset::history` (adopt orphans the selector matches and release
//! owned ones it no longer does, create the current revision, renumber one made current again
//! by an undo, delete duplicates and expired history) against the API. A new
//! revision whose name is taken by another template bumps `status.collisionCount`, as kube
//! does, so the next reconcile hashes to a fresh name.

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use skiff_controllers::common::controller_owner;
use skiff_controllers::daemonset::history;
use std::sync::Arc;

use crate::context::Ctx;
use crate::error::Error;
use crate::owners::adopt_and_release;

/// What syncing the history found.
pub(crate) enum Synced {
    /// The `controller-revision-hash` of the current revision.
    Current(String),
    /// The revision's name was taken by another template: `collisionCount` was bumped.
    Collided,
}

/// Brings the ControllerRevisions of `ds` up to date with its template; `pods` are the pods
/// of its namespace (revisions their pods use are kept).
pub(crate) async fn sync(ctx: &Ctx, ds: &DaemonSet, pods: &[Arc<Pod>]) -> Result<Synced, Error> {
    let ns = ds.namespace().unwrap_or_default();
    let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &ns);
    let revisions = api
        .list(&ListParams::default())
        .await
        .map_err(Error::api(
            "listing the controllerrevisions of",
            ds.name_any(),
        ))?
        .items;
    let plan = history::plan(ds, &revisions, pods).map_err(|source| Error::Decide {
        kind: "DaemonSet",
        source,
    })?;
    let owner = controller_owner(
        "apps/v1",
        "DaemonSet",
        &ds.name_any(),
        &ds.uid().unwrap_or_default(),
    );
    adopt_and_release(&api, &revisions, &owner, &plan.adopt, &plan.release).await?;
    if let Some(revision) = &plan.create {
        match api.create(&PostParams::default(), revision).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {
                bump_collisions(ctx, ds).await?;
                return Ok(Synced::Collided);
            }
            Err(e) => {
                return Err(Error::api(
                    "creating a controllerrevision of",
                    ds.name_any(),
                )(e));
            }
        }
    }
    if let Some((name, revision)) = &plan.renumber {
        api.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"revision": revision})),
        )
        .await
        .map_err(Error::api("renumbering", name.clone()))?;
    }
    for name in &plan.delete {
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(Error::api("deleting", name.clone())(e)),
        }
    }
    Ok(Synced::Current(plan.hash))
}

/// kube's answer to a hash collision: one more in `status.collisionCount`.
async fn bump_collisions(ctx: &Ctx, ds: &DaemonSet) -> Result<(), Error> {
    let count = ds
        .status
        .as_ref()
        .and_then(|s| s.collision_count)
        .unwrap_or(0);
    let mut bumped = ds.clone();
    let status = bumped.status.get_or_insert_with(Default::default);
    status.collision_count = Some(count.saturating_add(1));
    Api::<DaemonSet>::namespaced(ctx.client.clone(), &ds.namespace().unwrap_or_default())
        .replace_status(&ds.name_any(), &PostParams::default(), &bumped)
        .await
        .map_err(Error::api("writing the collision count of", ds.name_any()))?;
    Ok(())
}
