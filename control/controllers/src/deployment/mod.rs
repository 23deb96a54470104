//! The Deployment decision (kube-controller-manager's `deployment` controller): find or plan
//! the new ReplicaSet, scale ReplicaSets one rollout step (RollingUpdate or Recreate), scale
//! proportionally when `replicas` changes mid-rollout, clean up old revisions, and the status
//! with the Progressing and Available conditions `kubectl rollout status` reads.
//!
//! One plan is one `syncDeployment`: apply it, let the ReplicaSets' status catch up, and the
//! next plan takes the next step; on unchanged objects it plans nothing.

mod hash;
mod newrs;
mod rolling;
mod scale;
mod status;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;

pub use hash::{
    DESIRED_REPLICAS, MAX_REPLICAS, POD_TEMPLATE_HASH, REVISION, equal_ignore_hash,
    rollback_template, template_hash,
};

use crate::Error;
use crate::common::{is_terminating, name_of, scaled_value, secs, selector_of, uid_of};
use crate::replicaset::claim;

/// What to do for one Deployment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeploymentPlan {
    /// The new ReplicaSet to create (named `<deployment>-<pod-template-hash>`), if none matches
    /// the template yet; it carries its initial `replicas`.
    pub create: Option<ReplicaSet>,
    /// Existing ReplicaSets whose `replicas` or annotations change.
    pub update: Vec<ReplicaSetUpdate>,
    /// Old ReplicaSets (scaled to zero) beyond `revisionHistoryLimit`, oldest revision first.
    pub delete: Vec<String>,
    /// The status to write.
    pub status: DeploymentStatus,
    /// Orphan ReplicaSets matching the selector: add the controller reference.
    pub adopt: Vec<String>,
    /// Owned ReplicaSets that no longer match the selector: remove the controller reference.
    pub release: Vec<String>,
    /// The Deployment's own `deployment.kubernetes.io/revision` annotation, when it must change
    /// to its new ReplicaSet's revision (`SetDeploymentRevision`; `kubectl rollout history`
    /// reads it).
    pub revision: Option<String>,
}

/// A change to one existing ReplicaSet: its new `spec.replicas` and full annotations.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaSetUpdate {
    pub name: String,
    pub replicas: i32,
    pub annotations: BTreeMap<String, String>,
}

/// One ReplicaSet as the rollout arithmetic sees it; `replicas` and `annotations` are the
/// planned values, the rest is observed status.
#[derive(Clone, Debug)]
struct Rs {
    name: String,
    uid: Option<String>,
    replicas: i32,
    /// `spec.replicas` as observed at the start of the sync (what kube's status counts).
    observed_replicas: i32,
    status_replicas: i32,
    ready: i32,
    available: i32,
    created: i64,
    revision: i64,
    annotations: BTreeMap<String, String>,
    /// Not being deleted and its status is current (candidate for history cleanup).
    cleanable: bool,
}

impl Rs {
    fn from(rs: &ReplicaSet) -> Rs {
        let st = rs.status.clone().unwrap_or_default();
        let observed = st.observed_generation.unwrap_or(0) >= rs.metadata.generation.unwrap_or(0);
        Rs {
            name: rs.metadata.name.clone().unwrap_or_default(),
            uid: rs.metadata.uid.clone(),
            replicas: rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            observed_replicas: rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            status_replicas: st.replicas,
            ready: st.ready_replicas.unwrap_or(0),
            available: st.available_replicas.unwrap_or(0),
            created: rs.metadata.creation_timestamp.as_ref().map_or(0, secs),
            revision: hash::revision(rs),
            annotations: rs.metadata.annotations.clone().unwrap_or_default(),
            cleanable: observed && !is_terminating(&rs.metadata),
        }
    }
}

/// The Deployment's numbers the decisions share.
#[derive(Clone, Debug)]
struct Ctx {
    replicas: i32,
    rolling: bool,
    max_surge: i32,
    /// `MaxUnavailable(d)`: the resolved value, at most `replicas`.
    max_unavailable: i32,
}

impl Ctx {
    fn new(d: &Deployment) -> Result<Ctx, Error> {
        let spec = d.spec.as_ref().ok_or(Error::MissingField {
            kind: "Deployment",
            field: "spec",
        })?;
        let replicas = spec.replicas.unwrap_or(1);
        let strategy = spec.strategy.as_ref();
        let rolling = strategy
            .and_then(|s| s.type_.as_deref())
            .unwrap_or("RollingUpdate")
            != "Recreate";
        let ru = strategy.and_then(|s| s.rolling_update.as_ref());
        let quarter = IntOrString::String("25%".into());
        let surge_v = ru
            .and_then(|r| r.max_surge.clone())
            .unwrap_or_else(|| quarter.clone());
        let unav_v = ru
            .and_then(|r| r.max_unavailable.clone())
            .unwrap_or(quarter);
        let (mut surge, mut unav) = (0, 0);
        if rolling {
            if is_zero(&surge_v) && is_zero(&unav_v) {
                return Err(Error::SurgeAndUnavailableZero);
            }
            surge = scaled_value(&surge_v, replicas, true)?;
            unav = scaled_value(&unav_v, replicas, false)?;
            // ResolveFenceposts: percentages that both round to 0 still let one pod go.
            if surge == 0 && unav == 0 {
                unav = 1;
            }
        }
        let max_unavailable = if replicas == 0 { 0 } else { unav.min(replicas) };
        Ok(Ctx {
            replicas,
            rolling,
            max_surge: surge,
            max_unavailable,
        })
    }
}

fn is_zero(v: &IntOrString) -> bool {
    matches!(v, IntOrString::Int(0)) || matches!(v, IntOrString::String(s) if s == "0%")
}

/// Plans one sync of `d` given the ReplicaSets of its namespace (those it controls are used)
/// and, for Recreate, the pods of those ReplicaSets.
pub fn reconcile(
    d: &Deployment,
    replica_sets: &[ReplicaSet],
    pods: &[impl std::borrow::Borrow<Pod>],
    now: Timestamp,
) -> Result<DeploymentPlan, Error> {
    let name = name_of(&d.metadata, "Deployment")?;
    let uid = uid_of(&d.metadata, "Deployment")?;
    let ctx = Ctx::new(d)?;
    let spec = d.spec.as_ref().ok_or(Error::MissingField {
        kind: "Deployment",
        field: "spec",
    })?;
    let selector = selector_of(Some(&spec.selector), "Deployment")?;
    let claimed = claim(uid, is_terminating(&d.metadata), &selector, replica_sets);
    let owned = claimed.owned;
    let mut rss: Vec<Rs> = owned.iter().map(|rs| Rs::from(rs)).collect();
    rss.sort_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)));
    let template = &spec.template;
    let new_name = owned
        .iter()
        .filter(|rs| {
            rs.spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .is_some_and(|t| equal_ignore_hash(t, template))
        })
        .map(|rs| Rs::from(rs))
        .min_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)))
        .map(|rs| rs.name);
    let taken = replica_sets
        .iter()
        .filter_map(|rs| rs.metadata.name.clone())
        .collect();
    let new_rs = new_name.clone();
    let mut run = rolling::Run::new(d, name, uid, ctx, rss, new_name, now.as_second(), taken);
    if !is_terminating(&d.metadata) {
        run.step(pods)?;
    }
    let mut plan = run.finish(&owned);
    plan.adopt = claimed.adopt;
    plan.release = claimed.release;
    plan.revision = new_revision(&plan, new_rs.as_deref(), &owned).filter(|r| {
        d.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REVISION))
            != Some(r)
    });
    Ok(plan)
}

/// The revision the new ReplicaSet has once `plan` is carried out: the one it creates, or the
/// one it gives (or leaves) the existing ReplicaSet matching the template.
fn new_revision(
    plan: &DeploymentPlan,
    new_rs: Option<&str>,
    owned: &[&ReplicaSet],
) -> Option<String> {
    if let Some(created) = &plan.create {
        return created
            .metadata
            .annotations
            .as_ref()?
            .get(REVISION)
            .cloned();
    }
    let new_rs = new_rs?;
    if let Some(update) = plan.update.iter().find(|u| u.name == new_rs) {
        return update.annotations.get(REVISION).cloned();
    }
    let existing = owned
        .iter()
        .find(|rs| rs.metadata.name.as_deref() == Some(new_rs))?;
    existing
        .metadata
        .annotations
        .as_ref()?
        .get(REVISION)
        .cloned()
}
