//! The Deployment status (`calculateStatus`, `syncRolloutStatus`): counts summed over the
//! ReplicaSets, Available from `replicas - maxUnavailable`, Progressing from the rollout and
//! `progressDeadlineSeconds`, in kube-controller-manager's reasons and messages.

use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentStatus, ReplicaSet};

use super::rolling::{Mode, Run};
use super::{DeploymentPlan, ReplicaSetUpdate};
use crate::common::time_at;

const PROGRESSING: &str = "Progressing";
const AVAILABLE: &str = "Available";
const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
/// `progressDeadlineSeconds` when unset (the apps/v1 default).
const DEFAULT_DEADLINE: i32 = 600;

fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now: i64,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_update_time: Some(time_at(now)),
        last_transition_time: Some(time_at(now)),
    }
}

/// `SetDeploymentCondition`: same status and reason is no change; same status keeps the
/// transition time.
fn set(conds: &mut Vec<DeploymentCondition>, mut c: DeploymentCondition) {
    if let Some(old) = conds.iter().find(|o| o.type_ == c.type_) {
        if old.status == c.status && old.reason == c.reason {
            return;
        }
        if old.status == c.status {
            c.last_transition_time = old.last_transition_time.clone();
        }
    }
    conds.retain(|o| o.type_ != c.type_);
    conds.push(c);
}

impl Run<'_> {
    fn deadline(&self) -> Option<i64> {
        let d = self
            .d
            .spec
            .as_ref()
            .and_then(|s| s.progress_deadline_seconds)
            .unwrap_or(DEFAULT_DEADLINE);
        (d != i32::MAX).then_some(i64::from(d))
    }

    fn progressing(&self) -> Option<&DeploymentCondition> {
        self.conditions.iter().find(|c| c.type_ == PROGRESSING)
    }

    /// `checkPausedConditions`.
    pub(super) fn paused_conditions(&mut self, paused: bool) {
        if self.deadline().is_none() {
            return;
        }
        let reason = self.progressing().and_then(|c| c.reason.clone());
        let is_paused = reason.as_deref() == Some("DeploymentPaused");
        if paused && !is_paused {
            let c = condition(
                PROGRESSING,
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused".into(),
                self.now,
            );
            set(&mut self.conditions, c);
        } else if !paused && is_paused {
            let c = condition(
                PROGRESSING,
                "Unknown",
                "DeploymentResumed",
                "Deployment is resumed".into(),
                self.now,
            );
            set(&mut self.conditions, c);
        }
    }

    pub(super) fn found_new_condition(&mut self, rs: &str) {
        if self.deadline().is_some() && self.progressing().is_none() {
            let msg = format!("Found new replica set \"{rs}\"");
            set(
                &mut self.conditions,
                condition(PROGRESSING, "True", "FoundNewReplicaSet", msg, self.now),
            );
        }
    }

    pub(super) fn created_condition(&mut self, rs: &str) {
        if self.deadline().is_some() {
            let msg = format!("Created new replica set \"{rs}\"");
            set(
                &mut self.conditions,
                condition(PROGRESSING, "True", "NewReplicaSetCreated", msg, self.now),
            );
        }
    }

    /// The counts and the Available condition (`calculateStatus`).
    fn counts(&self) -> DeploymentStatus {
        let sum = |f: &dyn Fn(&super::Rs) -> i32| self.rss.iter().map(f).sum::<i32>();
        let available = sum(&|r| r.available);
        let min = self.ctx.replicas - self.ctx.max_unavailable;
        let mut conditions = self.conditions.clone();
        let c = if available >= min {
            condition(
                AVAILABLE,
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.".into(),
                self.now,
            )
        } else {
            condition(
                AVAILABLE,
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.".into(),
                self.now,
            )
        };
        set(&mut conditions, c);
        DeploymentStatus {
            observed_generation: self.d.metadata.generation,
            replicas: Some(sum(&|r| r.status_replicas)),
            updated_replicas: Some(self.new.map_or(0, |n| self.rss[n].status_replicas)),
            ready_replicas: Some(sum(&|r| r.ready)),
            available_replicas: Some(available),
            // `calculateStatus`: the ReplicaSets' spec.replicas (as observed) minus available.
            unavailable_replicas: Some((sum(&|r| r.observed_replicas) - available).max(0)),
            collision_count: self.collision_count,
            conditions: Some(conditions),
            terminating_replicas: None,
        }
    }

    /// The new status; after a rollout step, the Progressing condition as well.
    fn status(&self) -> DeploymentStatus {
        let mut st = self.counts();
        if self.mode == Mode::StatusOnly {
            return st;
        }
        let mut conds = st.conditions.take().unwrap_or_default();
        match self.deadline() {
            None => conds.retain(|c| c.type_ != PROGRESSING),
            Some(deadline) => self.progress(&st, deadline, &mut conds),
        }
        st.conditions = Some(conds);
        st
    }

    /// `syncRolloutStatus`: complete, progressing, or timed out, judged against the status
    /// the Deployment had before this sync.
    fn progress(&self, st: &DeploymentStatus, deadline: i64, conds: &mut Vec<DeploymentCondition>) {
        let cur = conds.iter().find(|c| c.type_ == PROGRESSING).cloned();
        let reason = cur
            .as_ref()
            .and_then(|c| c.reason.clone())
            .unwrap_or_default();
        if st.replicas == st.updated_replicas && reason == NEW_RS_AVAILABLE {
            return;
        }
        let what = match self.new {
            Some(n) => format!("ReplicaSet \"{}\"", self.rss[n].name),
            None => format!("Deployment \"{}\"", self.name),
        };
        if self.complete(st) {
            let msg = format!("{what} has successfully progressed.");
            set(
                conds,
                condition(PROGRESSING, "True", NEW_RS_AVAILABLE, msg, self.now),
            );
        } else if self.progressed(st) {
            let msg = format!("{what} is progressing.");
            let mut c = condition(PROGRESSING, "True", "ReplicaSetUpdated", msg, self.now);
            if let Some(cur) = cur.filter(|c| c.status == "True") {
                c.last_transition_time = cur.last_transition_time;
            }
            conds.retain(|c| c.type_ != PROGRESSING);
            conds.push(c);
        } else if let Some(cur) = cur.filter(|_| reason != NEW_RS_AVAILABLE) {
            let from = cur
                .last_update_time
                .as_ref()
                .map_or(self.now, |t| t.0.as_second());
            if reason == "ProgressDeadlineExceeded" || from + deadline < self.now {
                let msg = format!("{what} has timed out progressing.");
                set(
                    conds,
                    condition(
                        PROGRESSING,
                        "False",
                        "ProgressDeadlineExceeded",
                        msg,
                        self.now,
                    ),
                );
            }
        }
    }

    /// `DeploymentComplete` on the new status.
    fn complete(&self, st: &DeploymentStatus) -> bool {
        let want = Some(self.ctx.replicas);
        st.updated_replicas == want
            && st.replicas == want
            && st.available_replicas == want
            && st.observed_generation.unwrap_or(0) >= self.d.metadata.generation.unwrap_or(0)
    }

    /// `DeploymentProgressing`: more updated, ready or available pods, or fewer old ones.
    fn progressed(&self, st: &DeploymentStatus) -> bool {
        let old = self.d.status.clone().unwrap_or_default();
        let olds = |s: &DeploymentStatus| s.replicas.unwrap_or(0) - s.updated_replicas.unwrap_or(0);
        st.updated_replicas.unwrap_or(0) > old.updated_replicas.unwrap_or(0)
            || olds(st) < olds(&old)
            || st.ready_replicas.unwrap_or(0) > old.ready_replicas.unwrap_or(0)
            || st.available_replicas.unwrap_or(0) > old.available_replicas.unwrap_or(0)
    }

    /// The plan: the differences between planned and observed ReplicaSets, and the status.
    pub(super) fn finish(self, owned: &[&ReplicaSet]) -> DeploymentPlan {
        let mut update = Vec::new();
        for rs in owned {
            let Some(r) = self
                .rss
                .iter()
                .find(|r| Some(&r.name) == rs.metadata.name.as_ref())
            else {
                continue;
            };
            let replicas = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            let annotations = rs.metadata.annotations.clone().unwrap_or_default();
            if r.replicas != replicas || r.annotations != annotations {
                update.push(ReplicaSetUpdate {
                    name: r.name.clone(),
                    replicas: r.replicas,
                    annotations: r.annotations.clone(),
                });
            }
        }
        let status = self.status();
        DeploymentPlan {
            create: self.create,
            update,
            delete: self.delete,
            status,
            adopt: Vec::new(),
            release: Vec::new(),
            revision: None,
        }
    }
}
