//! Validation, defaulting and update cases for DaemonSet (with its template generation) and
//! ReplicationController, worded as kube-apiserver words them.

use serde_json::{Value, json};

use super::rules::{case, run};
use super::{info, template, with, without};
use crate::validate::{
    TEMPLATE_GENERATION, apply_defaults, stamp_template_generation, validate_update,
};

fn daemonset() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template()}
    })
}

fn rc() -> Value {
    json!({
        "apiVersion": "v1", "kind": "ReplicationController",
        "metadata": {"name": "legacy", "namespace": "default"},
        "spec": {"replicas": 2, "template": template()}
    })
}

fn defaulted(kind: &str, mut obj: Value) -> Value {
    apply_defaults(info(kind), &mut obj);
    obj
}

#[test]
fn daemonset_rules() {
    let ds = daemonset;
    let rolling = |u: Value, s: Value| {
        with(
            ds(),
            "/spec/updateStrategy",
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": u, "maxSurge": s}}),
        )
    };
    run(vec![
        case("good daemonset", "DaemonSet", ds(), None),
        case(
            "selector required",
            "DaemonSet",
            without(ds(), "/spec/selector"),
            Some(("spec.selector", "Required value")),
        ),
        case(
            "empty selector",
            "DaemonSet",
            with(ds(), "/spec/selector", json!({})),
            Some(("spec.selector", "empty selector is invalid for daemonset")),
        ),
        case(
            "selector mismatch",
            "DaemonSet",
            with(ds(), "/spec/selector/matchLabels/app", json!("db")),
            Some((
                "spec.template.metadata.labels",
                "`selector` does not match template `labels`",
            )),
        ),
        case(
            "restart never",
            "DaemonSet",
            with(ds(), "/spec/template/spec/restartPolicy", json!("Never")),
            Some((
                "spec.template.spec.restartPolicy",
                "supported values: \"Always\"",
            )),
        ),
        case(
            "deadline",
            "DaemonSet",
            with(ds(), "/spec/template/spec/activeDeadlineSeconds", json!(5)),
            Some((
                "spec.template.spec.activeDeadlineSeconds",
                "activeDeadlineSeconds in DaemonSet is not Supported",
            )),
        ),
        case(
            "unknown strategy",
            "DaemonSet",
            with(ds(), "/spec/updateStrategy/type", json!("Recreate")),
            Some((
                "spec.updateStrategy",
                "supported values: \"RollingUpdate\", \"OnDelete\"",
            )),
        ),
        case(
            "surge only",
            "DaemonSet",
            rolling(json!(0), json!("10%")),
            None,
        ),
        case(
            "both non-zero",
            "DaemonSet",
            rolling(json!(1), json!(1)),
            Some((
                "spec.updateStrategy.rollingUpdate.maxSurge",
                "may not be set when maxUnavailable is non-zero",
            )),
        ),
        case(
            "both zero",
            "DaemonSet",
            rolling(json!(0), json!(0)),
            Some((
                "spec.updateStrategy.rollingUpdate.maxUnavailable",
                "cannot be 0 when maxSurge is 0",
            )),
        ),
        case(
            "over 100%",
            "DaemonSet",
            rolling(json!("150%"), json!(0)),
            Some((
                "spec.updateStrategy.rollingUpdate.maxUnavailable",
                "must not be greater than 100%",
            )),
        ),
        case(
            "negative history",
            "DaemonSet",
            with(ds(), "/spec/revisionHistoryLimit", json!(-1)),
            Some((
                "spec.revisionHistoryLimit",
                "must be greater than or equal to 0",
            )),
        ),
    ]);
}

#[test]
fn daemonset_defaults_and_frozen_selector() {
    let got = defaulted("DaemonSet", daemonset());
    assert_eq!(
        got["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
    assert_eq!(got["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(got["spec"]["template"]["spec"]["restartPolicy"], "Always");
    let on_delete = defaulted(
        "DaemonSet",
        with(
            daemonset(),
            "/spec/updateStrategy",
            json!({"type": "OnDelete"}),
        ),
    );
    assert_eq!(
        on_delete["spec"]["updateStrategy"],
        json!({"type": "OnDelete"})
    );

    let moved = with(
        with(got.clone(), "/spec/selector/matchLabels/tier", json!("x")),
        "/spec/template/metadata/labels/tier",
        json!("x"),
    );
    let errs = validate_update(info("DaemonSet"), &got, &moved).unwrap_err();
    assert!(
        errs.iter()
            .any(|e| e.field == "spec.selector" && e.message.contains("immutable")),
        "{errs:?}"
    );
    let new_image = with(
        got.clone(),
        "/spec/template/spec/containers/0/image",
        json!("v2"),
    );
    validate_update(info("DaemonSet"), &got, &new_image).unwrap();
}

#[test]
fn replication_controller_rules_and_defaults() {
    let got = defaulted("ReplicationController", rc());
    assert_eq!(got["spec"]["selector"], json!({"app": "web"}));
    assert_eq!(got["metadata"]["labels"], json!({"app": "web"}));
    let kept = defaulted(
        "ReplicationController",
        with(
            without(rc(), "/spec/replicas"),
            "/metadata/labels",
            json!({"team": "a"}),
        ),
    );
    assert_eq!(
        (&kept["spec"]["replicas"], &kept["metadata"]["labels"]),
        (&json!(1), &json!({"team": "a"}))
    );
    run(vec![
        case("good rc", "ReplicationController", rc(), None),
        case(
            "no selector, no labels",
            "ReplicationController",
            without(rc(), "/spec/template/metadata"),
            Some(("spec.selector", "Required value")),
        ),
        case(
            "selector mismatch",
            "ReplicationController",
            with(rc(), "/spec/selector", json!({"app": "db"})),
            Some((
                "spec.template.metadata.labels",
                "`selector` does not match template `labels`",
            )),
        ),
        case(
            "no template",
            "ReplicationController",
            with(
                without(rc(), "/spec/template"),
                "/spec/selector",
                json!({"app": "web"}),
            ),
            Some(("spec.template", "Required value")),
        ),
        case(
            "restart on failure",
            "ReplicationController",
            with(
                rc(),
                "/spec/template/spec/restartPolicy",
                json!("OnFailure"),
            ),
            Some((
                "spec.template.spec.restartPolicy",
                "supported values: \"Always\"",
            )),
        ),
    ]);
    // A replication controller's selector may change (kube-apiserver does not freeze it).
    let moved = with(
        with(got.clone(), "/spec/selector/tier", json!("x")),
        "/spec/template/metadata/labels/tier",
        json!("x"),
    );
    validate_update(info("ReplicationController"), &got, &moved).unwrap();
}

#[test]
fn daemonset_template_generation() {
    let generation = |o: &Value| o["metadata"]["annotations"][TEMPLATE_GENERATION].clone();
    let mut created = defaulted("DaemonSet", daemonset());
    stamp_template_generation(None, &mut created);
    assert_eq!(generation(&created), "1");
    let mut given = with(
        daemonset(),
        "/metadata/annotations",
        json!({TEMPLATE_GENERATION: "4"}),
    );
    stamp_template_generation(None, &mut given);
    assert_eq!(generation(&given), "4");

    let mut relabelled = with(created.clone(), "/metadata/labels/team", json!("a"));
    stamp_template_generation(Some(&created), &mut relabelled);
    assert_eq!(generation(&relabelled), "1");
    let mut new_image = with(
        created.clone(),
        "/spec/template/spec/containers/0/image",
        json!("v2"),
    );
    new_image["metadata"]["annotations"] = json!({});
    stamp_template_generation(Some(&created), &mut new_image);
    assert_eq!(generation(&new_image), "2");
}
