//! The eviction decisions by table: which pods skip the budget, which budgets cover a pod,
//! and spending a disruption.

use serde_json::{Value, json};

use super::*;

fn pod(phase: &str, ready: bool, labels: Value) -> Value {
    json!({
        "metadata": {"name": "web-1", "namespace": "default", "labels": labels},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}
    })
}

fn budget(selector: Value, status: Value) -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "default", "generation": 1},
        "spec": {"minAvailable": 1, "selector": selector},
        "status": status
    })
}

fn healthy(allowed: i64, current: i64, desired: i64) -> Value {
    json!({"observedGeneration": 1, "disruptionsAllowed": allowed,
           "currentHealthy": current, "desiredHealthy": desired, "expectedPods": current})
}

#[test]
fn which_pods_skip_the_budget() {
    let web = json!({"app": "web"});
    // (phase, skips the budget, delete pinned to the version read)
    let cases = [
        ("Running", false, true),
        ("Pending", true, true),
        ("Succeeded", true, false),
        ("Failed", true, false),
        ("Unknown", false, true),
    ];
    for (phase, ignores, pins) in cases {
        let p = pod(phase, true, web.clone());
        assert_eq!(can_ignore_budget(&p), ignores, "{phase}");
        assert_eq!(pins_resource_version(&p), pins, "{phase}");
    }
    let mut going = pod("Running", true, web);
    going["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    assert!(can_ignore_budget(&going) && !pins_resource_version(&going));
}

#[test]
fn budgets_cover_pods_by_selector() {
    let p = pod("Running", true, json!({"app": "web", "tier": "front"}));
    let by_label = budget(json!({"matchLabels": {"app": "web"}}), json!({}));
    let by_expr = budget(
        json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]}),
        json!({}),
    );
    let other = budget(json!({"matchLabels": {"app": "db"}}), json!({}));
    let empty = budget(json!({}), json!({}));
    let mut elsewhere = by_label.clone();
    elsewhere["metadata"]["namespace"] = json!("prod");
    let mut no_selector = by_label.clone();
    no_selector["spec"]
        .as_object_mut()
        .unwrap()
        .remove("selector");
    let bad = budget(
        json!({"matchExpressions": [{"key": "a", "operator": "Near"}]}),
        json!({}),
    );
    let all = [by_label, by_expr, other, empty, elsewhere, no_selector, bad];
    let found = covering_budgets(&p, &all);
    assert_eq!(found.len(), 2);
    assert!(std::ptr::eq(found[0], &all[0]) && std::ptr::eq(found[1], &all[1]));
}

#[test]
fn unready_pods_and_policies() {
    let sel = json!({"matchLabels": {"app": "web"}});
    let ready = pod("Running", true, json!({"app": "web"}));
    let unready = pod("Running", false, json!({"app": "web"}));
    let enough = budget(sel.clone(), healthy(0, 2, 2));
    let short = budget(sel.clone(), healthy(0, 1, 2));
    let mut always = short.clone();
    always["spec"]["unhealthyPodEvictionPolicy"] = json!("AlwaysAllow");
    let zero_desired = budget(sel, healthy(0, 0, 0));
    let cases = [
        (&ready, &enough, false),
        (&unready, &enough, true),
        (&unready, &short, false),
        (&unready, &always, true),
        (&unready, &zero_desired, false),
    ];
    for (i, (p, b, want)) in cases.into_iter().enumerate() {
        assert_eq!(unready_pod_skips_budget(p, b), want, "case {i}");
    }
}

#[test]
fn spending_a_disruption() {
    let sel = json!({"matchLabels": {"app": "web"}});
    let now = "2026-12-05T12:00:00Z";
    let two = budget(sel.clone(), healthy(2, 3, 1));
    let spent = spend_disruption(&two, "web-1", now).unwrap();
    assert_eq!(spent["status"]["disruptionsAllowed"], 1);
    assert_eq!(spent["status"]["disruptedPods"], json!({"web-1": now}));
    assert!(spent["status"]["conditions"].is_null());

    let last = spend_disruption(&spent, "web-2", now).unwrap();
    assert_eq!(last["status"]["disruptionsAllowed"], 0);
    assert_eq!(
        last["status"]["disruptedPods"].as_object().unwrap().len(),
        2
    );
    let cond = &last["status"]["conditions"][0];
    assert_eq!(
        (&cond["type"], &cond["status"], &cond["reason"]),
        (
            &json!("DisruptionAllowed"),
            &json!("False"),
            &json!("InsufficientPods")
        )
    );

    let refused = spend_disruption(&last, "web-3", now).unwrap_err();
    assert_eq!((refused.code, refused.reason), (429, "TooManyRequests"));
    assert_eq!(refused.message, VIOLATES_BUDGET);
    let status = refused.to_json();
    assert_eq!(
        status["details"]["causes"],
        json!([{"reason": "DisruptionBudget", "message": "The disruption budget web needs 1 healthy pods and has 3 currently"}])
    );

    let mut unobserved = two.clone();
    unobserved["metadata"]["generation"] = json!(2);
    let e = spend_disruption(&unobserved, "web-1", now).unwrap_err();
    assert_eq!(e.code, 429);
    assert!(
        e.causes[0].message.contains("still being processed"),
        "{e:?}"
    );

    let negative = budget(sel, healthy(-1, 0, 1));
    assert_eq!(
        spend_disruption(&negative, "web-1", now).unwrap_err().code,
        403
    );
}

#[test]
fn several_budgets_is_a_reasonless_500() {
    let status = several_budgets().to_json();
    assert_eq!(
        (status.get("reason"), &status["code"], &status["message"]),
        (None, &json!(500), &json!(SEVERAL_BUDGETS))
    );
}
