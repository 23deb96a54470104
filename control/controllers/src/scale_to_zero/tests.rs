//! Scale-to-zero decisions, by table.

use super::*;
use crate::testutil::{T0, from, rfc3339};
use serde_json::json;

fn deployment(idle: Option<&str>, replicas: i32) -> Deployment {
    let annotations = idle.map_or(json!({}), |i| json!({IDLE_ANNOTATION: i}));
    from(json!({
        "metadata": {"name": "web", "namespace": "ns", "annotations": annotations,
                     "creationTimestamp": rfc3339(T0)},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web", "tier": "front"}},
                              "spec": {"containers": [{"name": "c", "image": "i"}]}}},
    }))
}

fn service(name: &str, selector: serde_json::Value, mark: Option<&str>) -> Service {
    let annotations = mark.map_or(json!({}), |m| json!({TARGET_ANNOTATION: m}));
    from(json!({
        "metadata": {"name": name, "namespace": "ns", "annotations": annotations},
        "spec": {"selector": selector, "ports": [{"port": 80}]},
    }))
}

fn node(activity: &[(&str, i64)]) -> Node {
    let map: BTreeMap<&str, String> = activity.iter().map(|(k, t)| (*k, rfc3339(*t))).collect();
    let value = serde_json::to_string(&map).unwrap();
    from(json!({"metadata": {"name": "n", "annotations": {ACTIVITY_ANNOTATION: value}}}))
}

fn plan(mark: &[&str], unmark: &[&str], scale: bool, requeue: Option<i64>) -> ScaleToZeroPlan {
    ScaleToZeroPlan {
        mark: mark.iter().map(|s| (*s).to_owned()).collect(),
        unmark: unmark.iter().map(|s| (*s).to_owned()).collect(),
        scale_to_zero: scale,
        requeue_after: requeue,
        problem: None,
    }
}

/// One decision: its name, the Deployment, the Services, the Nodes, `now`, the plan.
type Case<'a> = (
    &'a str,
    Deployment,
    Vec<Service>,
    &'a [Node],
    i64,
    ScaleToZeroPlan,
);

#[test]
fn an_idle_deployment_is_scaled_to_zero_and_a_busy_one_waits() {
    let web = json!({"app": "web"});
    let other = json!({"app": "other"});
    let marked = || service("web", web.clone(), Some("web"));
    let quiet = [node(&[]), node(&[("ns/other", T0 + 100)])];
    let busy = [node(&[("ns/web", T0 + 25)]), node(&[("ns/web", T0 + 5)])];
    let table: Vec<Case> = vec![
        (
            "marks the selecting Service",
            deployment(Some("30s"), 1),
            vec![
                service("web", web.clone(), None),
                service("other", other.clone(), None),
            ],
            &quiet,
            T0 + 10,
            plan(&["web"], &[], false, Some(20)),
        ),
        (
            "idle since creation",
            deployment(Some("30s"), 2),
            vec![marked()],
            &quiet,
            T0 + 30,
            plan(&[], &[], true, None),
        ),
        (
            "the newest activity of any node counts",
            deployment(Some("30s"), 1),
            vec![marked()],
            &busy,
            T0 + 40,
            plan(&[], &[], false, Some(15)),
        ),
        (
            "idle since the last connection",
            deployment(Some("30s"), 1),
            vec![marked()],
            &busy,
            T0 + 55,
            plan(&[], &[], true, None),
        ),
        (
            "already at zero: the proxy wakes it",
            deployment(Some("30s"), 0),
            vec![marked()],
            &quiet,
            T0 + 500,
            plan(&[], &[], false, None),
        ),
        (
            "no Service selects it",
            deployment(Some("1m"), 1),
            vec![service("other", other.clone(), Some("other"))],
            &quiet,
            T0 + 500,
            plan(&[], &[], false, Some(30)),
        ),
        (
            "no longer annotated: unmarked, never scaled",
            deployment(None, 1),
            vec![marked()],
            &quiet,
            T0 + 500,
            plan(&[], &["web"], false, None),
        ),
        (
            "a Service that stopped selecting it is unmarked",
            deployment(Some("30s"), 1),
            vec![
                service("web", other.clone(), Some("web")),
                service("web2", json!({"tier": "front"}), None),
            ],
            &quiet,
            T0 + 10,
            plan(&["web2"], &["web"], false, Some(20)),
        ),
    ];
    for (name, d, services, nodes, now, want) in table {
        assert_eq!(reconcile(&d, &services, nodes, now), want, "{name}");
    }
}

#[test]
fn an_invalid_idle_time_is_a_problem_and_nothing_scales() {
    let d = deployment(Some("soon"), 1);
    let services = [service("web", json!({"app": "web"}), Some("web"))];
    let got = reconcile(&d, &services, &[], T0 + 1000);
    assert!(!got.scale_to_zero);
    assert_eq!(got.unmark, ["web"]);
    assert!(got.problem.unwrap().contains("\"soon\" is not a duration"));
}

#[test]
fn idle_times_parse_as_go_durations_in_whole_seconds() {
    for (text, want) in [
        ("30s", Ok(30)),
        ("5m", Ok(300)),
        ("1h30m", Ok(5400)),
        ("90", Ok(90)),
        (" 2h ", Ok(7200)),
        ("0s", Err(())),
        ("0", Err(())),
        ("-5", Err(())),
        ("5", Ok(5)),
        ("5x", Err(())),
        ("m", Err(())),
        ("10m5", Err(())),
        ("", Err(())),
    ] {
        assert_eq!(parse_idle(text).map_err(|_| ()), want, "{text:?}");
    }
}
