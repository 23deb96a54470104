//! Pod rows: READY, STATUS (CrashLoopBackOff, Completed, Terminating, Init:...), RESTARTS with
//! the last restart's age, and the wide cells.

use serde_json::{Value, json};

use super::*;

fn pod(spec: Value, status: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ago(600)},
        "spec": spec,
        "status": status,
    })
}

fn one_container() -> Value {
    json!({"containers": [{"name": "app", "image": "app.wasm"}]})
}

/// READY, STATUS, RESTARTS of a pod.
fn summary(pod: &Value) -> (String, String, String) {
    let c = cells("", "pods", pod);
    let s = |i: usize| c[i].as_str().unwrap().to_owned();
    (s(1), s(2), s(3))
}

#[test]
fn columns_are_kubectls() {
    assert_eq!(
        columns("", "pods"),
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP*",
            "Node*",
            "Nominated Node*",
            "Readiness Gates*"
        ]
    );
}

#[test]
fn running_pod_with_restarts() {
    let p = pod(
        json!({"containers": [{"name": "app"}, {"name": "side"}], "nodeName": "n1",
               "readinessGates": [{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}]}),
        json!({"phase": "Running", "podIP": "10.42.0.7", "podIPs": [{"ip": "10.42.0.7"}],
               "conditions": [{"type": "Ready", "status": "False"}, {"type": "example.com/lb", "status": "True"}],
               "containerStatuses": [
                   {"name": "app", "ready": true, "restartCount": 3, "state": {"running": {"startedAt": ago(290)}},
                    "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(300)}}},
                   {"name": "side", "ready": false, "restartCount": 0, "state": {"running": {}}}]}),
    );
    assert_eq!(
        cells("", "pods", &p),
        json!([
            "web",
            "1/2",
            "Running",
            "3 (5m ago)",
            "10m",
            "10.42.0.7",
            "n1",
            "<none>",
            "1/2"
        ])
        .as_array()
        .unwrap()
        .clone()
    );
}

#[test]
fn crash_loop_back_off() {
    let p = pod(
        one_container(),
        json!({"phase": "Running", "containerStatuses": [
            {"name": "app", "ready": false, "restartCount": 4,
             "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
             "lastState": {"terminated": {"exitCode": 2, "reason": "Error", "finishedAt": ago(70)}}}]}),
    );
    assert_eq!(
        summary(&p),
        (
            "0/1".into(),
            "CrashLoopBackOff".into(),
            "4 (70s ago)".into()
        )
    );
    let wide = cells("", "pods", &p);
    assert_eq!(
        wide[5..],
        [
            json!("<none>"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>")
        ]
    );
}

#[test]
fn completed_pod_has_a_completed_row_condition() {
    let p = pod(
        one_container(),
        json!({"phase": "Succeeded", "containerStatuses": [
            {"name": "app", "ready": false, "restartCount": 0,
             "state": {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": ago(5)}}}]}),
    );
    assert_eq!(summary(&p), ("0/1".into(), "Completed".into(), "0".into()));
    let info = resources::find("", "v1", "pods").unwrap();
    let t = table(info, &[p], IncludeObject::Metadata, now(), Value::Null);
    assert_eq!(
        t["rows"][0]["conditions"],
        json!([{"type": "Completed", "status": "True", "reason": "Succeeded",
                "message": "The pod has completed successfully."}])
    );
}

#[test]
fn terminating_and_lost_pods() {
    let mut p = pod(
        one_container(),
        json!({"phase": "Running", "containerStatuses": [
            {"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}}]}),
    );
    p["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(summary(&p).1, "Terminating");
    p["status"]["reason"] = json!("NodeLost");
    assert_eq!(summary(&p).1, "Unknown");
    p["status"] = json!({"phase": "Succeeded"});
    assert_eq!(
        summary(&p).1,
        "Succeeded",
        "a finished pod is not terminating"
    );
}

#[test]
fn init_containers() {
    let spec = json!({"initContainers": [{"name": "setup"}], "containers": [{"name": "app"}]});
    let waiting = |reason: &str| {
        pod(
            spec.clone(),
            json!({"phase": "Pending", "initContainerStatuses": [
                {"name": "setup", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": reason}}}],
                "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0,
                                       "state": {"waiting": {"reason": "PodInitializing"}}}]}),
        )
    };
    assert_eq!(summary(&waiting("PodInitializing")).1, "Init:0/1");
    assert_eq!(summary(&waiting("")).1, "Init:0/1");
    assert_eq!(
        summary(&waiting("ImagePullBackOff")).1,
        "Init:ImagePullBackOff"
    );
    let failed = pod(
        spec.clone(),
        json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "setup", "ready": false, "restartCount": 2,
             "state": {"terminated": {"exitCode": 1}},
             "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(30)}}}]}),
    );
    assert_eq!(
        summary(&failed),
        ("0/1".into(), "Init:ExitCode:1".into(), "2 (30s ago)".into())
    );
    let done = pod(
        spec,
        json!({"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
               "initContainerStatuses": [{"name": "setup", "ready": false, "restartCount": 1,
                   "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
               "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}}]}),
    );
    assert_eq!(summary(&done), ("1/1".into(), "Running".into(), "0".into()));
}

#[test]
fn sidecars_count_as_containers() {
    let p = pod(
        json!({"initContainers": [{"name": "proxy", "restartPolicy": "Always"}], "containers": [{"name": "app"}]}),
        json!({"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
               "initContainerStatuses": [{"name": "proxy", "ready": true, "started": true, "restartCount": 1,
                   "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(7200)}}}],
               "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "state": {"running": {}}}]}),
    );
    assert_eq!(
        summary(&p),
        ("2/2".into(), "Running".into(), "1 (120m ago)".into())
    );
}

#[test]
fn terminated_without_reason_and_completed_with_running() {
    let killed = pod(
        one_container(),
        json!({"phase": "Failed", "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}),
    );
    assert_eq!(summary(&killed).1, "Signal:9");
    let mixed = pod(
        json!({"containers": [{"name": "a"}, {"name": "b"}]}),
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
               "containerStatuses": [
                   {"name": "a", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                   {"name": "b", "ready": true, "restartCount": 0, "state": {"running": {}}}]}),
    );
    assert_eq!(
        summary(&mixed),
        ("1/2".into(), "NotReady".into(), "0".into())
    );
    let gated = pod(
        one_container(),
        json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
    );
    assert_eq!(
        summary(&gated),
        ("0/1".into(), "SchedulingGated".into(), "0".into())
    );
}
