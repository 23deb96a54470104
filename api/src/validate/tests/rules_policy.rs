//! Validation cases for ControllerRevision and PodDisruptionBudget, worded as kube-apiserver
//! words them.

use serde_json::{Value, json};

use super::rules::{case, run};
use super::{info, with, without};
use crate::validate::validate_update;

fn pdb() -> Value {
    json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}
    })
}

#[test]
fn controller_revision_and_pdb_rules() {
    let revision = json!({
        "apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": "agent-1", "namespace": "default"}, "data": {"spec": {}}, "revision": 1
    });
    run(vec![
        case(
            "good revision",
            "ControllerRevision",
            revision.clone(),
            None,
        ),
        case(
            "data required",
            "ControllerRevision",
            without(revision.clone(), "/data"),
            Some(("data", "data is mandatory")),
        ),
        case(
            "negative revision",
            "ControllerRevision",
            with(revision.clone(), "/revision", json!(-1)),
            Some(("revision", "must be greater than or equal to 0")),
        ),
        case("good pdb", "PodDisruptionBudget", pdb(), None),
        case(
            "both bounds",
            "PodDisruptionBudget",
            with(pdb(), "/spec/maxUnavailable", json!("50%")),
            Some(("spec", "minAvailable and maxUnavailable cannot be both set")),
        ),
        case(
            "bad percent",
            "PodDisruptionBudget",
            with(pdb(), "/spec/minAvailable", json!("half")),
            Some(("spec.minAvailable", "a valid percent string")),
        ),
        case(
            "over 100%",
            "PodDisruptionBudget",
            with(pdb(), "/spec/minAvailable", json!("120%")),
            Some(("spec.minAvailable", "must not be greater than 100%")),
        ),
        case(
            "eviction policy",
            "PodDisruptionBudget",
            with(pdb(), "/spec/unhealthyPodEvictionPolicy", json!("Never")),
            Some((
                "spec.unhealthyPodEvictionPolicy",
                "supported values: \"AlwaysAllow\", \"IfHealthyBudget\"",
            )),
        ),
    ]);
    let changed = with(revision.clone(), "/data", json!({"spec": {"x": 1}}));
    let errs = validate_update(info("ControllerRevision"), &revision, &changed).unwrap_err();
    assert!(errs.iter().any(|e| e.field == "data"), "{errs:?}");
}
