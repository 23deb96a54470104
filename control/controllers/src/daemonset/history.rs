//! A DaemonSet's template history as apps/v1 ControllerRevisions (kube's `constructHistory`,
//! `snapshot` and `cleanupHistory` in pkg/controller/daemon/update.go). Each revision holds,
//! in `data`, the strategic merge patch that restores its template
//! (`{"spec":{"template":{..., "$patch":"replace"}}}`), which is what `kubectl rollout undo ds`
//! sends back; its `controller-revision-hash` label names the pods made from it.
//!
//! The current revision is the one whose data is the DaemonSet's template: made when there is
//! none (named `<ds>-<hash>`, numbered one past the newest), renumbered to the newest when an
//! older one matches again (an undo). Old revisions beyond `revisionHistoryLimit` (default
//! 10) that no pod uses are deleted, oldest first.
//!
//! Revisions are claimed as kube's `controlledHistories` does (`ControllerRefManager`): an
//! orphan whose labels the DaemonSet's selector matches is adopted (unless either is being
//! deleted), one it owns that no longer matches is released, another owner's is left alone.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use serde_json::{Value, json};

use super::REVISION_HASH;
use crate::Error;
use crate::common::{
    controller_owner, controller_ref, is_terminating, labels_of, name_of, selector_of, uid_of,
};
use crate::deployment::template_hash;
use crate::replicaset::claim;

/// kube's default `revisionHistoryLimit` for DaemonSets.
pub const DEFAULT_HISTORY_LIMIT: i32 = 10;

/// What to do to a DaemonSet's ControllerRevisions. Applying it and planning again plans
/// nothing new.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistoryPlan {
    /// The `controller-revision-hash` of the current revision: pods with it are up to date.
    pub hash: String,
    /// The revision to create when the template has none.
    pub create: Option<ControllerRevision>,
    /// An existing revision made current again: its name and its new number.
    pub renumber: Option<(String, i64)>,
    /// Revisions to delete: duplicates of the current one, and history over the limit.
    pub delete: Vec<String>,
    /// Orphan revisions the selector matches: add the controller reference.
    pub adopt: Vec<String>,
    /// Owned revisions the selector no longer matches: remove the controller reference.
    pub release: Vec<String>,
}

/// The revision data of `ds`'s template: a strategic merge patch that replaces
/// `spec.template` with it (kube's `getPatch`).
pub fn revision_data(ds: &DaemonSet) -> Value {
    let template = ds.spec.as_ref().map(|s| &s.template);
    let mut template = serde_json::to_value(template).unwrap_or(Value::Null);
    if let Value::Object(t) = &mut template {
        t.insert("$patch".into(), json!("replace"));
    }
    json!({"spec": {"template": template}})
}

fn data_of(cr: &ControllerRevision) -> Option<&Value> {
    cr.data.as_ref().map(|d| &d.0)
}

fn hash_label(cr: &ControllerRevision) -> Option<String> {
    labels_of(&cr.metadata).get(REVISION_HASH).cloned()
}

/// Plans the history of `ds` given the ControllerRevisions and pods of its namespace.
pub fn plan(
    ds: &DaemonSet,
    revisions: &[ControllerRevision],
    pods: &[impl std::borrow::Borrow<Pod>],
) -> Result<HistoryPlan, Error> {
    let uid = uid_of(&ds.metadata, "DaemonSet")?;
    let name = name_of(&ds.metadata, "DaemonSet")?;
    let data = revision_data(ds);
    let selector = selector_of(ds.spec.as_ref().map(|s| &s.selector), "DaemonSet")?;
    let claimed = claim(uid, is_terminating(&ds.metadata), &selector, revisions);
    let owned = claimed.owned;
    let (mut current, mut old): (Vec<&ControllerRevision>, Vec<&ControllerRevision>) =
        owned.iter().partition(|cr| data_of(cr) == Some(&data));
    current.sort_by_key(|cr| cr.revision);
    let newest_old = old.iter().map(|cr| cr.revision).max().unwrap_or(0);
    let mut plan = HistoryPlan {
        adopt: claimed.adopt,
        release: claimed.release,
        ..HistoryPlan::default()
    };
    match current.pop() {
        Some(cur) => {
            plan.delete
                .extend(current.iter().filter_map(|cr| cr.metadata.name.clone()));
            if cur.revision <= newest_old {
                plan.renumber = cur.metadata.name.clone().map(|n| (n, newest_old + 1));
            }
            plan.hash =
                hash_label(cur).unwrap_or_else(|| cur.metadata.name.clone().unwrap_or_default());
        }
        None => {
            let snapshot = snapshot(ds, name, uid, data, newest_old + 1);
            plan.hash = hash_label(&snapshot).unwrap_or_default();
            plan.create = Some(snapshot);
        }
    }
    old.sort_by_key(|cr| cr.revision);
    plan.delete.extend(expired(ds, &old, pods, uid));
    Ok(plan)
}

/// kube's `snapshot`: the revision of the current template, numbered `revision`.
fn snapshot(
    ds: &DaemonSet,
    name: &str,
    uid: &str,
    data: Value,
    revision: i64,
) -> ControllerRevision {
    let spec = ds.spec.clone().unwrap_or_default();
    let collisions = ds.status.as_ref().and_then(|s| s.collision_count);
    let hash = template_hash(&spec.template, collisions);
    let mut labels = spec
        .template
        .metadata
        .and_then(|m| m.labels)
        .unwrap_or_default();
    labels.insert(REVISION_HASH.into(), hash.clone());
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(format!("{name}-{hash}")),
            namespace: ds.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: ds.metadata.annotations.clone(),
            owner_references: Some(vec![controller_owner("apps/v1", "DaemonSet", name, uid)]),
            ..ObjectMeta::default()
        },
        data: Some(RawExtension(data)),
        revision,
    }
}

/// kube's `cleanupHistory`: the oldest of `old` (sorted by revision) beyond the limit whose
/// hash no pod of the DaemonSet carries.
fn expired(
    ds: &DaemonSet,
    old: &[&ControllerRevision],
    pods: &[impl std::borrow::Borrow<Pod>],
    uid: &str,
) -> Vec<String> {
    let limit = ds
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(DEFAULT_HISTORY_LIMIT);
    let limit = usize::try_from(limit.max(0)).unwrap_or(0);
    let mut to_kill = old.len().saturating_sub(limit);
    let live: BTreeSet<String> = pods
        .iter()
        .map(std::borrow::Borrow::borrow)
        .filter(|p: &&Pod| controller_ref(&p.metadata).is_some_and(|r| r.uid == uid))
        .filter_map(|p| labels_of(&p.metadata).get(REVISION_HASH).cloned())
        .collect();
    let mut delete = Vec::new();
    for cr in old {
        if to_kill == 0 {
            break;
        }
        if hash_label(cr).is_some_and(|h| live.contains(&h)) {
            continue;
        }
        delete.extend(cr.metadata.name.clone());
        to_kill -= 1;
    }
    delete
}
