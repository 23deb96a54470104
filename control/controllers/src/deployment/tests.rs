//! The Deployment decision by table: rollout step sequences under maxSurge/maxUnavailable
//! mixes, Recreate, pause, scaling mid-rollout, history cleanup, conditions, idempotence.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::{
    DeploymentPlan, POD_TEMPLATE_HASH, REVISION, reconcile, rollback_template, template_hash,
};
use crate::Error;
use crate::common::{controller_owner, time_at};
use crate::testutil::{St, T0, at, from, pod};

fn dep(replicas: i32, strategy: Value, image: &str) -> Deployment {
    from(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": 1},
        "spec": {"replicas": replicas, "strategy": strategy, "revisionHistoryLimit": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": image}]}}}
    }))
}

fn rolling(surge: Value, unav: Value) -> Value {
    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unav}})
}

/// A cluster: the Deployment and its ReplicaSets; `ready` says whether new pods become
/// available when created.
struct World {
    d: Deployment,
    rss: Vec<ReplicaSet>,
    now: i64,
    ready: bool,
}

impl World {
    /// A Deployment at `replicas` fully rolled out on image `v1`, then changed to `v2`.
    fn rolled_out(replicas: i32, strategy: Value) -> World {
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

    fn plan(&self) -> DeploymentPlan {
        reconcile(&self.d, &self.rss, &[], at(self.now)).expect("plan")
    }

    /// Applies a plan, then lets every ReplicaSet's pods catch up.
    fn apply(&mut self, plan: DeploymentPlan) {
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
    fn converge(&mut self, max_steps: usize) -> Vec<(i32, i32)> {
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

    fn sizes(&self) -> (i32, i32) {
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

    fn available(&self) -> i32 {
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

fn image_of(spec: Option<&k8s_openapi::api::core::v1::PodSpec>) -> String {
    spec.and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

fn with_status(mut d: Deployment, from: &Deployment) -> Deployment {
    d.status = from.status.clone();
    d.metadata.generation = Some(2);
    d
}

fn progressing_reason(plan: &DeploymentPlan) -> Option<String> {
    let conds = plan.status.conditions.as_ref()?;
    conds
        .iter()
        .find(|c| c.type_ == "Progressing")?
        .reason
        .clone()
}

#[test]
fn rolling_update_steps_under_surge_and_unavailable_mixes() {
    // (replicas, maxSurge, maxUnavailable, (old, new) after each plan)
    type Case = (i32, Value, Value, Vec<(i32, i32)>);
    let table: Vec<Case> = vec![
        (
            3,
            json!(1),
            json!(0),
            vec![(3, 1), (2, 1), (2, 2), (1, 2), (1, 3), (0, 3)],
        ),
        (
            3,
            json!(0),
            json!(1),
            vec![(2, 0), (2, 1), (1, 1), (1, 2), (0, 2), (0, 3)],
        ),
        (
            4,
            json!("25%"),
            json!("25%"),
            vec![(3, 1), (3, 2), (1, 2), (1, 4), (0, 4)],
        ),
        (3, json!("100%"), json!(0), vec![(3, 3), (0, 3)]),
        (3, json!(0), json!("100%"), vec![(0, 0), (0, 3)]),
        // 10% of 3 rounds to 0 unavailable; with no surge one pod may still go (fenceposts).
        (
            3,
            json!(0),
            json!("10%"),
            vec![(2, 0), (2, 1), (1, 1), (1, 2), (0, 2), (0, 3)],
        ),
        // 10% of 3 rounds up to 1 surge.
        (
            3,
            json!("10%"),
            json!(0),
            vec![(3, 1), (2, 1), (2, 2), (1, 2), (1, 3), (0, 3)],
        ),
        (2, json!(2), json!(2), vec![(0, 2)]),
    ];
    for (i, (replicas, surge, unav, want)) in table.into_iter().enumerate() {
        let strategy = rolling(surge, unav);
        let mut w = World::rolled_out(replicas, strategy.clone());
        let ctx = super::Ctx::new(&w.d).expect("ctx");
        let mut steps = vec![];
        for _ in 0..20 {
            let plan = w.plan();
            if plan.create.is_none() && plan.update.is_empty() {
                break;
            }
            w.apply(plan);
            let (old, new) = w.sizes();
            assert!(
                old + new <= replicas + ctx.max_surge,
                "case {i}: surge exceeded at {:?}",
                (old, new)
            );
            assert!(
                w.available() >= replicas - ctx.max_unavailable,
                "case {i}: under minimum at {:?}",
                (old, new)
            );
            steps.push((old, new));
        }
        assert_eq!(steps, want, "case {i}");
        let done = w.plan();
        assert_eq!(
            progressing_reason(&done).as_deref(),
            Some("NewReplicaSetAvailable"),
            "case {i}"
        );
    }
}

#[test]
fn unready_new_pods_stall_the_rollout_then_exceed_the_deadline() {
    for (surge, unav, want) in [(json!(1), json!(0), (3, 1)), (json!(0), json!(1), (2, 1))] {
        let mut w = World::rolled_out(3, rolling(surge, unav));
        w.ready = false;
        for _ in 0..5 {
            let plan = w.plan();
            w.apply(plan);
        }
        assert_eq!(w.sizes(), want);
        assert!(w.available() >= 2);
        let plan = w.plan();
        assert!(plan.create.is_none() && plan.update.is_empty());
        assert_eq!(
            progressing_reason(&plan).as_deref(),
            Some("ReplicaSetUpdated")
        );
        w.now += 601;
        let late = w.plan();
        assert_eq!(
            progressing_reason(&late).as_deref(),
            Some("ProgressDeadlineExceeded")
        );
        let cond = late
            .status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Available")
            .expect("available");
        assert_eq!(cond.reason.as_deref(), Some("MinimumReplicasAvailable"));
    }
}

#[test]
fn unhealthy_old_replicas_are_scaled_down_first() {
    let mut w = World::rolled_out(3, rolling(json!(0), json!(1)));
    let old = &mut w.rss[0];
    old.status.as_mut().expect("status").available_replicas = Some(1);
    // One pod may go (3 pods - 2 minimum available): an unhealthy one, though only one of
    // the three is available, so the healthy one is not touched.
    let plan = w.plan();
    assert_eq!(
        plan.update.iter().map(|u| u.replicas).collect::<Vec<_>>(),
        vec![2]
    );
    w.ready = false;
    w.apply(plan);
    // The next step scales the new set up to the 3 allowed, and the old set no further: 1
    // available is already under the minimum.
    let old_name = w.rss[0].metadata.name.clone().expect("name");
    let next = w.plan();
    assert!(
        next.update
            .iter()
            .all(|u| u.name != old_name || u.replicas == 2)
    );
    assert_eq!(
        next.update.iter().map(|u| u.replicas).collect::<Vec<_>>(),
        vec![1]
    );
}

#[test]
fn scaling_during_a_rollout_is_proportional() {
    let mut w = World::rolled_out(4, rolling(json!("25%"), json!("25%")));
    let plan = w.plan();
    w.apply(plan);
    assert_eq!(w.sizes(), (3, 1));
    w.d.spec.as_mut().expect("spec").replicas = Some(8);
    let plan = w.plan();
    w.apply(plan);
    // 10 allowed (8 + 25% surge): the old set scales 3 -> 6 (+ leftover 2), the new 1 -> 2.
    assert_eq!(w.sizes(), (8, 2));
    w.converge(30);
    assert_eq!(w.sizes(), (0, 8));
}

#[test]
fn recreate_scales_old_to_zero_waits_for_pods_then_creates_new() {
    let mut w = World::rolled_out(3, json!({"type": "Recreate"}));
    let plan = w.plan();
    assert!(plan.create.is_none());
    w.apply(plan);
    assert_eq!(w.sizes(), (0, 0));
    let old_uid = w.rss[0].metadata.uid.clone().expect("uid");
    let mut lingering = pod(
        "old-1",
        json!({"app": "web"}),
        Some(&old_uid),
        St::Ready(T0),
    );
    lingering.metadata.deletion_timestamp = Some(time_at(T0));
    let waiting = reconcile(&w.d, &w.rss, &[lingering], at(w.now)).expect("plan");
    assert!(waiting.create.is_none() && waiting.update.is_empty());
    let finished: Pod = pod(
        "old-2",
        json!({"app": "web"}),
        Some(&old_uid),
        St::Succeeded,
    );
    let go = reconcile(&w.d, &w.rss, &[finished], at(w.now)).expect("plan");
    assert_eq!(
        go.create
            .as_ref()
            .and_then(|r| r.spec.as_ref())
            .and_then(|s| s.replicas),
        Some(3)
    );
    w.apply(go);
    w.converge(5);
    assert_eq!(w.sizes(), (0, 3));
}

#[test]
fn new_replicaset_name_labels_annotations_and_condition() {
    let d = dep(3, rolling(json!(1), json!(0)), "v1");
    let plan = reconcile(&d, &[], &[], at(T0)).expect("plan");
    let rs = plan.create.expect("new rs");
    let template = d.spec.as_ref().expect("spec").template.clone();
    let hash = template_hash(&template, None);
    assert_eq!(rs.metadata.name, Some(format!("web-{hash}")));
    assert!(
        hash.chars()
            .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c))
    );
    let ann = rs.metadata.annotations.expect("annotations");
    assert_eq!(ann.get(REVISION).map(String::as_str), Some("1"));
    assert_eq!(
        ann.get(super::DESIRED_REPLICAS).map(String::as_str),
        Some("3")
    );
    assert_eq!(ann.get(super::MAX_REPLICAS).map(String::as_str), Some("4"));
    let spec = rs.spec.expect("spec");
    assert_eq!(
        spec.selector
            .match_labels
            .as_ref()
            .and_then(|l| l.get(POD_TEMPLATE_HASH)),
        Some(&hash)
    );
    let tl = spec
        .template
        .and_then(|t| t.metadata)
        .and_then(|m| m.labels)
        .expect("labels");
    assert_eq!(tl.get(POD_TEMPLATE_HASH), Some(&hash));
    assert_eq!(
        rs.metadata.owner_references,
        Some(vec![controller_owner(
            "apps/v1",
            "Deployment",
            "web",
            "d-uid"
        )])
    );
    let d_plan = reconcile(&d, &[], &[], at(T0)).expect("plan");
    assert_eq!(
        progressing_reason(&d_plan).as_deref(),
        Some("NewReplicaSetCreated")
    );
    assert_ne!(template_hash(&template, Some(1)), hash);
}

#[test]
fn both_zero_is_invalid() {
    for (s, u) in [
        (json!(0), json!(0)),
        (json!("0%"), json!(0)),
        (json!("0%"), json!("0%")),
    ] {
        let d = dep(3, rolling(s, u), "v1");
        assert_eq!(
            reconcile(&d, &[], &[], at(T0)),
            Err(Error::SurgeAndUnavailableZero)
        );
    }
}

#[test]
fn paused_deployment_does_not_roll_but_scales() {
    let mut w = World::rolled_out(3, rolling(json!(1), json!(0)));
    w.d.spec.as_mut().expect("spec").paused = Some(true);
    let plan = w.plan();
    assert!(plan.create.is_none() && plan.update.is_empty());
    assert_eq!(
        progressing_reason(&plan).as_deref(),
        Some("DeploymentPaused")
    );
    w.apply(plan);
    w.d.spec.as_mut().expect("spec").replicas = Some(5);
    let plan = w.plan();
    assert_eq!(
        plan.update.iter().map(|u| u.replicas).collect::<Vec<_>>(),
        vec![5]
    );
    w.apply(plan);
    w.d.spec.as_mut().expect("spec").paused = Some(false);
    let resumed = w.plan();
    assert!(resumed.create.is_some());
    w.apply(resumed);
    w.converge(20);
    assert_eq!(w.sizes(), (0, 5));
}

#[test]
fn rollback_reuses_the_old_replicaset_with_the_next_revision_and_cleans_history() {
    let mut w = World::rolled_out(2, rolling(json!(1), json!(0)));
    w.converge(20);
    for image in ["v3", "v4"] {
        w.d.spec
            .as_mut()
            .expect("spec")
            .template
            .spec
            .as_mut()
            .expect("spec")
            .containers[0]
            .image = Some(image.into());
        w.converge(20);
    }
    // Revisions 1..4 exist (v1..v4); limit 2 keeps two old ones: v1 was deleted.
    let revs = |w: &World| -> Vec<String> {
        let mut r: Vec<String> = w
            .rss
            .iter()
            .map(|r| {
                r.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(REVISION))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        r.sort();
        r
    };
    assert_eq!(revs(&w), vec!["2", "3", "4"]);
    let v2 = w
        .rss
        .iter()
        .find(|r| {
            r.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REVISION))
                .map(String::as_str)
                == Some("2")
        })
        .expect("v2");
    let template = rollback_template(v2).expect("template");
    assert!(
        template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.as_ref())
            .is_some_and(|l| !l.contains_key(POD_TEMPLATE_HASH))
    );
    w.d.spec.as_mut().expect("spec").template = template;
    let steps = w.converge(20);
    assert!(!steps.is_empty());
    assert_eq!(revs(&w), vec!["3", "4", "5"]);
    assert_eq!(w.rss.len(), 3);
}
