//! Recreate, the new ReplicaSet's identity, invalid strategies, pause, rollback and
//! revision history.

use serde_json::json;

use super::{World, dep, progressing_reason, rolling};
use crate::Error;
use crate::common::controller_owner;
use crate::deployment::{
    DESIRED_REPLICAS, MAX_REPLICAS, POD_TEMPLATE_HASH, REVISION, reconcile, rollback_template,
    template_hash,
};
use crate::testutil::{NO_PODS, T0, at};

#[test]
fn new_replicaset_name_labels_annotations_and_condition() {
    let d = dep(3, rolling(json!(1), json!(0)), "v1");
    let plan = reconcile(&d, &[], NO_PODS, at(T0)).expect("plan");
    assert_eq!(
        plan.revision.as_deref(),
        Some("1"),
        "the Deployment is annotated too"
    );
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
    assert_eq!(ann.get(DESIRED_REPLICAS).map(String::as_str), Some("3"));
    assert_eq!(ann.get(MAX_REPLICAS).map(String::as_str), Some("4"));
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
    let d_plan = reconcile(&d, &[], NO_PODS, at(T0)).expect("plan");
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
            reconcile(&d, &[], NO_PODS, at(T0)),
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

/// `kubectl rollout restart` sets an annotation in the pod template: a template change
/// like any other, so a new ReplicaSet with the next revision.
#[test]
fn rollout_restart_is_a_template_change() {
    let mut w = World::rolled_out(2, rolling(json!(1), json!(0)));
    w.converge(20);
    let before: Vec<Option<String>> = w.rss.iter().map(|r| r.metadata.name.clone()).collect();
    let meta =
        w.d.spec
            .as_mut()
            .expect("spec")
            .template
            .metadata
            .get_or_insert_with(Default::default);
    meta.annotations
        .get_or_insert_with(Default::default)
        .insert(
            "kubectl.kubernetes.io/restartedAt".into(),
            "2026-01-01T00:00:00Z".into(),
        );
    let plan = w.plan();
    let created = plan.create.as_ref().expect("a new ReplicaSet");
    assert!(!before.contains(&created.metadata.name));
    let ann = created.metadata.annotations.as_ref().expect("annotations");
    assert_eq!(ann.get(REVISION).map(String::as_str), Some("3"));
    assert_eq!(plan.revision.as_deref(), Some("3"));
}

/// A ReplicaSet orphaned by `kubectl delete deployment --cascade=orphan` is adopted by a new
/// Deployment with the same selector, and reused as its new ReplicaSet when the template
/// matches; one whose labels no longer match is released.
#[test]
fn orphan_replicasets_are_adopted_and_strays_released() {
    let mut w = World::rolled_out(2, rolling(json!(1), json!(0)));
    w.converge(20);
    for rs in &mut w.rss {
        rs.metadata.owner_references = None;
    }
    let mut stray = w.rss[0].clone();
    stray.metadata.name = Some("stray".into());
    stray.metadata.labels = Some([("app".to_string(), "other".to_string())].into());
    stray.metadata.owner_references = Some(vec![controller_owner(
        "apps/v1",
        "Deployment",
        "web",
        "d-uid",
    )]);
    stray.spec.as_mut().expect("spec").selector =
        serde_json::from_value(json!({"matchLabels": {"app": "other"}})).expect("selector");
    w.rss.push(stray);
    // ReplicaSets carry their template's labels, as the Deployment gave them.
    for rs in &mut w.rss {
        if rs.metadata.labels.is_none() {
            rs.metadata.labels = rs
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|t| t.metadata.as_ref())
                .and_then(|m| m.labels.clone());
        }
    }
    let plan = w.plan();
    let mut adopted = plan.adopt.clone();
    adopted.sort();
    assert_eq!(adopted.len(), 2);
    assert_eq!(plan.release, vec!["stray".to_string()]);
    assert!(
        plan.create.is_none(),
        "the adopted ReplicaSet with the template is the new one"
    );
}
