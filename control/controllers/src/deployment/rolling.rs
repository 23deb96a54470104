//! One rollout step, as `syncDeployment` takes it: the new ReplicaSet (found or created),
//! then RollingUpdate (`rolloutRolling`) or Recreate (`rolloutRecreate`) arithmetic.

use std::borrow::Borrow;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;

use super::hash::{self, DESIRED_REPLICAS, MAX_REPLICAS, REVISION};
use super::{Ctx, Rs};
use crate::Error;
use crate::common::{controller_ref, is_pod_failed, is_pod_succeeded};

/// Whether the step was a rollout (its status gets the Progressing logic) or only a
/// scale/paused sync (`syncDeploymentStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    StatusOnly,
    Rollout,
}

/// The working state of one sync: ReplicaSets with planned sizes, and what else to do.
pub(super) struct Run<'a> {
    pub d: &'a Deployment,
    pub name: &'a str,
    pub uid: &'a str,
    pub ctx: Ctx,
    /// Owned ReplicaSets, oldest first; a created one is appended.
    pub rss: Vec<Rs>,
    pub new: Option<usize>,
    pub now: i64,
    pub create: Option<ReplicaSet>,
    pub delete: Vec<String>,
    pub conditions: Vec<DeploymentCondition>,
    pub collision_count: Option<i32>,
    pub mode: Mode,
    /// Names of every ReplicaSet in the namespace (a new name must not collide).
    pub taken: Vec<String>,
}

impl<'a> Run<'a> {
    #[allow(clippy::too_many_arguments)] // reason: the sync's inputs, kept flat for one call site
    pub fn new(
        d: &'a Deployment,
        name: &'a str,
        uid: &'a str,
        ctx: Ctx,
        rss: Vec<Rs>,
        new_name: Option<String>,
        now: i64,
        taken: Vec<String>,
    ) -> Run<'a> {
        let new = new_name.and_then(|n| rss.iter().position(|r| r.name == n));
        let status = d.status.clone().unwrap_or_default();
        Run {
            d,
            name,
            uid,
            ctx,
            rss,
            new,
            now,
            create: None,
            delete: Vec::new(),
            conditions: status.conditions.unwrap_or_default(),
            collision_count: status.collision_count,
            mode: Mode::StatusOnly,
            taken,
        }
    }

    pub fn olds(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.rss.len()).filter(move |i| Some(*i) != self.new)
    }

    pub(super) fn max_old_revision(&self) -> i64 {
        self.olds().map(|i| self.rss[i].revision).max().unwrap_or(0)
    }

    /// Sets a ReplicaSet's planned size; annotates it with the Deployment's sizes when it
    /// changes (`scaleReplicaSet`). Returns whether the size changed.
    pub fn set_size(&mut self, i: usize, replicas: i32, force_annotations: bool) -> bool {
        let changed = self.rss[i].replicas != replicas;
        if changed || force_annotations {
            let max = self.ctx.replicas + self.ctx.max_surge;
            let a = &mut self.rss[i].annotations;
            a.insert(DESIRED_REPLICAS.into(), self.ctx.replicas.to_string());
            a.insert(MAX_REPLICAS.into(), max.to_string());
            self.rss[i].replicas = replicas;
        }
        changed
    }

    /// The whole sync: paused and scaling events only scale; otherwise one rollout step.
    pub fn step(&mut self, pods: &[impl Borrow<Pod>]) -> Result<(), Error> {
        let paused = self.d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
        self.paused_conditions(paused);
        self.sync_revision();
        if paused || self.scaling_event() {
            self.scale();
            if paused {
                self.cleanup();
            }
            return Ok(());
        }
        self.mode = Mode::Rollout;
        if self.ctx.rolling {
            self.rolling()
        } else {
            self.recreate(pods)
        }
    }

    /// `rolloutRolling`: create the new ReplicaSet, scale it up, else scale old ones down.
    fn rolling(&mut self) -> Result<(), Error> {
        if self.new.is_none() {
            let size = self.new_rs_new_replicas(0);
            self.create_new(size)?;
        }
        let Some(n) = self.new else { return Ok(()) };
        let want = self.ctx.replicas;
        let current = self.rss[n].replicas;
        let target = if current > want {
            want
        } else {
            self.new_rs_new_replicas(current)
        };
        if self.set_size(n, target, false) {
            return Ok(());
        }
        if self.reconcile_old() {
            return Ok(());
        }
        if self.complete_before() {
            self.cleanup();
        }
        Ok(())
    }

    /// `NewRSNewReplicas` for RollingUpdate: grow the new ReplicaSet up to `replicas +
    /// maxSurge` pods in all, and no further than `replicas`.
    fn new_rs_new_replicas(&self, new_current: i32) -> i32 {
        let total: i32 = self.rss.iter().map(|r| r.replicas).sum::<i32>()
            + if self.new.is_none() { new_current } else { 0 };
        let max_total = self.ctx.replicas + self.ctx.max_surge;
        if total >= max_total {
            return new_current;
        }
        new_current + (max_total - total).min((self.ctx.replicas - new_current).max(0))
    }

    /// `reconcileOldReplicaSets`: scale old ReplicaSets down as far as availability allows,
    /// unhealthy replicas first.
    fn reconcile_old(&mut self) -> bool {
        let olds: Vec<usize> = self.olds().collect();
        if olds.iter().all(|&i| self.rss[i].replicas == 0) {
            return false;
        }
        let all: i32 = self.rss.iter().map(|r| r.replicas).sum();
        let min_available = self.ctx.replicas - self.ctx.max_unavailable;
        let new_unavailable = self
            .new
            .map_or(0, |n| self.rss[n].replicas - self.rss[n].available);
        let max_scaled_down = all - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return false;
        }
        let mut cleaned = 0;
        for &i in &olds {
            let r = &self.rss[i];
            if cleaned >= max_scaled_down || r.replicas == 0 || r.replicas <= r.available {
                continue;
            }
            let down = (max_scaled_down - cleaned).min(r.replicas - r.available);
            cleaned += down;
            self.set_size(i, r.replicas - down, false);
        }
        let available: i32 = self.rss.iter().map(|r| r.available.min(r.replicas)).sum();
        let mut to_scale = (available - min_available).max(0);
        let mut scaled = 0;
        for &i in &olds {
            if to_scale == 0 {
                break;
            }
            let down = self.rss[i].replicas.min(to_scale);
            if down > 0 {
                self.set_size(i, self.rss[i].replicas - down, false);
                to_scale -= down;
                scaled += down;
            }
        }
        cleaned + scaled > 0
    }

    /// `rolloutRecreate`: old ReplicaSets to zero, wait until their pods are gone, then the
    /// new ReplicaSet at full size.
    fn recreate(&mut self, pods: &[impl Borrow<Pod>]) -> Result<(), Error> {
        let olds: Vec<usize> = self.olds().collect();
        let mut scaled = false;
        for &i in &olds {
            scaled |= self.set_size(i, 0, false);
        }
        if scaled || self.old_pods_running(&olds, pods) {
            return Ok(());
        }
        match self.new {
            None => self.create_new(self.ctx.replicas)?,
            Some(n) => {
                self.set_size(n, self.ctx.replicas, false);
            }
        }
        if self.complete_before() {
            self.cleanup();
        }
        Ok(())
    }

    fn old_pods_running(&self, olds: &[usize], pods: &[impl Borrow<Pod>]) -> bool {
        if olds.iter().any(|&i| self.rss[i].status_replicas > 0) {
            return true;
        }
        let uids: Vec<&str> = olds
            .iter()
            .filter_map(|&i| self.rss[i].uid.as_deref())
            .collect();
        pods.iter().map(Borrow::borrow).any(|p: &Pod| {
            controller_ref(&p.metadata).is_some_and(|r| uids.contains(&r.uid.as_str()))
                && !is_pod_succeeded(p)
                && !is_pod_failed(p)
        })
    }

    /// The existing new ReplicaSet gets the next revision and the Deployment's annotations.
    fn sync_revision(&mut self) {
        let Some(n) = self.new else { return };
        let next = self.max_old_revision() + 1;
        let d_ann = self.d.metadata.annotations.clone().unwrap_or_default();
        let rs = &mut self.rss[n];
        rs.annotations.extend(hash::copied_annotations(&d_ann));
        if rs.revision < next {
            rs.revision = next;
            rs.annotations.insert(REVISION.into(), next.to_string());
        }
        let name = rs.name.clone();
        self.found_new_condition(&name);
    }
}
