//! Garbage collection decisions (kube-controller-manager's `garbagecollector`): a dependent
//! whose owners are all gone is deleted; an owner deleted with Foreground propagation waits
//! for its blocking dependents; one deleted with Orphan propagation lets its dependents go
//! free first.
//!
//! Owners are identified by uid: an ownerReference whose uid no longer exists is dangling
//! even if an object of that name exists again.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// The finalizer of an owner deleted with `propagationPolicy: Foreground`.
pub const FOREGROUND_DELETION: &str = "foregroundDeletion";
/// The finalizer of an owner deleted with `propagationPolicy: Orphan`.
pub const ORPHAN: &str = "orphan";

/// What the collector knows about the owner an ownerReference names (looked up by uid).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerState {
    /// No object with that uid.
    Absent,
    /// Exists and is not being deleted in the foreground.
    Present,
    /// Being deleted, with the `foregroundDeletion` finalizer: waiting for its dependents.
    DeletingForeground,
}

/// How to delete an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

/// What to do with one dependent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DependentAction {
    Keep,
    /// Remove the ownerReferences with these uids (the rest are live owners).
    RemoveOwnerReferences(Vec<String>),
    Delete(Propagation),
}

fn has_finalizer(meta: &ObjectMeta, f: &str) -> bool {
    meta.finalizers.iter().flatten().any(|x| x == f)
}

/// `attemptToDeleteItem` for one dependent; `owner` tells the state of each owner and
/// `has_dependents` whether the dependent owns objects itself.
pub fn decide_dependent(
    dependent: &ObjectMeta,
    owner: impl Fn(&OwnerReference) -> OwnerState,
    has_dependents: bool,
) -> DependentAction {
    if dependent.deletion_timestamp.is_some() {
        return DependentAction::Keep;
    }
    let refs = dependent.owner_references.as_deref().unwrap_or_default();
    if refs.is_empty() {
        return DependentAction::Keep;
    }
    let (mut solid, mut dangling, mut waiting) = (0, Vec::new(), Vec::new());
    for r in refs {
        match owner(r) {
            OwnerState::Present => solid += 1,
            OwnerState::Absent => dangling.push(r.uid.clone()),
            OwnerState::DeletingForeground => waiting.push(r.uid.clone()),
        }
    }
    if solid > 0 {
        if dangling.is_empty() && waiting.is_empty() {
            return DependentAction::Keep;
        }
        dangling.extend(waiting);
        return DependentAction::RemoveOwnerReferences(dangling);
    }
    if !waiting.is_empty() && has_dependents {
        return DependentAction::Delete(Propagation::Foreground);
    }
    let policy = if has_finalizer(dependent, ORPHAN) {
        Propagation::Orphan
    } else if has_finalizer(dependent, FOREGROUND_DELETION) {
        Propagation::Foreground
    } else {
        Propagation::Background
    };
    DependentAction::Delete(policy)
}

/// What to do for an owner being deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnerPlan {
    /// Orphan: dependents (by name) to remove this owner's reference from, *before* the
    /// finalizer goes.
    pub orphan: Vec<String>,
    /// Foreground: blocking dependents (by name) to run [`decide_dependent`] on.
    pub process: Vec<String>,
    /// The finalizer to remove from the owner, once nothing holds it.
    pub remove_finalizer: Option<&'static str>,
}

fn references(dep: &ObjectMeta, uid: &str) -> Option<OwnerReference> {
    dep.owner_references
        .iter()
        .flatten()
        .find(|r| r.uid == uid)
        .cloned()
}

/// `orphanDependents` / `processDeletingDependentsItem` for an owner being deleted, given
/// the objects that may reference it.
pub fn decide_owner(owner: &ObjectMeta, dependents: &[&ObjectMeta]) -> OwnerPlan {
    let mut plan = OwnerPlan::default();
    let Some(uid) = owner.uid.as_deref() else {
        return plan;
    };
    if owner.deletion_timestamp.is_none() {
        return plan;
    }
    let mine: Vec<(&ObjectMeta, OwnerReference)> = dependents
        .iter()
        .filter_map(|d| references(d, uid).map(|r| (*d, r)))
        .collect();
    let name = |d: &ObjectMeta| d.name.clone().unwrap_or_default();
    if has_finalizer(owner, ORPHAN) {
        plan.orphan = mine.iter().map(|(d, _)| name(d)).collect();
        plan.remove_finalizer = Some(ORPHAN);
    } else if has_finalizer(owner, FOREGROUND_DELETION) {
        let blocking: Vec<&ObjectMeta> = mine
            .iter()
            .filter(|(_, r)| r.block_owner_deletion == Some(true))
            .map(|(d, _)| *d)
            .collect();
        if blocking.is_empty() {
            plan.remove_finalizer = Some(FOREGROUND_DELETION);
        }
        plan.process = blocking
            .iter()
            .filter(|d| d.deletion_timestamp.is_none())
            .map(|d| name(d))
            .collect();
    }
    plan
}

#[cfg(test)]
#[path = "gc_tests.rs"]
mod tests;
