//! The Deployment decision by table, on a simulated cluster (`World`) whose ReplicaSets'
//! pods catch up after each plan: rollout steps, Recreate, pause, scaling, history.

mod lifecycle;
mod rolling;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use serde_json::{Value, json};

use super::{DeploymentPlan, reconcile};
use crate::common::time_at;
use crate::testutil::{NO_PODS, T0, at, from};

pub(super) fn dep(replicas: i32, strategy: Value, image: &str) -> Deployment {
    from(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": 1},
        "spec": {"replicas": replicas, "strategy": strategy, "revisionHistoryLimit": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": image}]}}}
    }))
}

pub(super) fn rolling(surge: Value, unav: Value) -> Value {
    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unav}})
}

/// A cluster: the Deployment and its ReplicaSets; `ready` says whether new pods become
/// available when created.
pub(super) struct World {
    pub(super) d: Deployment,
    pub(super) rss: Vec<ReplicaSet>,
    pub(super) now: i64,
    pub(super) ready: bool,
}

impl World {
    /// A Deployment at `replicas` fully rolled out on image `v1`, then changed to `v2`.
    pub(super) fn rolled_out(replicas: i32, strategy: Value) -> World {
        let mut w = World {
            d: dep(replicas, strategy.clone(), "v1"),
            rss: vec![],
            now: T0,
            ready: true,
        };
        w.converge(20);
        w.d = with_status(dep(replicas, strategy, "v2"), &w.d);
        w
    }

    pub(super) fn plan(&self) -> DeploymentPlan {
        reconcile(&self.d, &self.rss, NO_PODS, at(self.now)).expect("plan")
    }

    /// Applies a plan, then lets every ReplicaSet's pods catch up.
    pub(super) fn apply(&mut self, plan: DeploymentPlan) {
        self.now += 1;
        if let Some(mut rs) = plan.create {
            rs.metadata.uid = rs.metadata.name.clone();
            rs.metadata.creation_timestamp = Some(time_at(self.now));
            self.rss.push(rs);
        }
        for u in plan.update {
            let rs = self
                .rss
                .iter_mut()
                .find(|r| r.metadata.name.as_ref() == Some(&u.name))
                .expect("rs");
            rs.spec.as_mut().expect("spec").replicas = Some(u.replicas);
            rs.metadata.annotations = Some(u.annotations);
        }
        self.rss.retain(|r| {
            !plan
                .delete
                .contains(r.metadata.name.as_ref().expect("name"))
        });
        self.d.status = Some(plan.status);
        let image = image_of(self.d.spec.as_ref().expect("spec").template.spec.as_ref());
        for rs in &mut self.rss {
            let spec = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
            let is_new = image_of(
                rs.spec
                    .as_ref()
                    .and_then(|s| s.template.as_ref())
                    .and_then(|t| t.spec.as_ref()),
            ) == image;
            let st = rs.status.get_or_insert_with(Default::default);
            let avail = if is_new && self.ready {
                spec
            } else {
                st.available_replicas.unwrap_or(0).min(spec)
            };
            st.replicas = spec;
            st.available_replicas = Some(avail);
            st.ready_replicas = Some(avail);
        }
    }

    /// Plans and applies until a plan changes nothing; returns (old, new) sizes after each.
    pub(super) fn converge(&mut self, max_steps: usize) -> Vec<(i32, i32)> {
        let mut steps = vec![];
        for _ in 0..max_steps {
            let plan = self.plan();
            if plan.create.is_none() && plan.update.is_empty() && plan.delete.is_empty() {
                let status = plan.status.clone();
                self.apply(plan);
                assert_eq!(self.plan().status, status, "status settles");
                return steps;
            }
            self.apply(plan);
            steps.push(self.sizes());
        }
        panic!("no convergence: {steps:?}");
    }

    pub(super) fn sizes(&self) -> (i32, i32) {
        let image = image_of(self.d.spec.as_ref().expect("spec").template.spec.as_ref());
        let (mut old, mut new) = (0, 0);
        for rs in &self.rss {
            let n = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
            let t = rs
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|t| t.spec.as_ref());
            if image_of(t) == image {
                new += n
            } else {
                old += n
            }
        }
        (old, new)
    }

    pub(super) fn available(&self) -> i32 {
        self.rss
            .iter()
            .map(|r| {
                r.status
                    .as_ref()
                    .and_then(|s| s.available_replicas)
                    .unwrap_or(0)
            })
            .sum()
    }
}

pub(super) fn image_of(spec: Option<&k8s_openapi::api::core::v1::PodSpec>) -> String {
    spec.and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

pub(super) fn with_status(mut d: Deployment, from: &Deployment) -> Deployment {
    d.status = from.status.clone();
    d.metadata.generation = Some(2);
    d
}

pub(super) fn progressing_reason(plan: &DeploymentPlan) -> Option<String> {
    let conds = plan.status.conditions.as_ref()?;
    conds
        .iter()
        .find(|c| c.type_ == "Progressing")?
        .reason
        .clone()
}
