//! Rows of the workload controllers' objects: deployments, replica sets, jobs, cron jobs and
//! horizontal pod autoscalers.

use serde_json::json;

use super::{ago, columns, obj, row};

#[test]
fn deployment_and_replica_set() {
    assert_eq!(
        columns("apps", "deployments"),
        [
            "Name",
            "Ready",
            "Up-to-date",
            "Available",
            "Age",
            "Containers*",
            "Images*",
            "Selector*"
        ]
    );
    let template = json!({"spec": {"containers": [{"name": "app", "image": "app.wasm"}, {"name": "log", "image": "log.wasm"}]}});
    let d = obj(
        "web",
        json!({
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template},
            "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
        }),
    );
    assert_eq!(
        row("apps", "deployments", &d),
        json!([
            "web",
            "2/3",
            3,
            2,
            "3h2m",
            "app,log",
            "app.wasm,log.wasm",
            "app=web"
        ])
    );
    let fresh = obj(
        "new",
        json!({"spec": {"template": {"spec": {"containers": []}}}}),
    );
    assert_eq!(row("apps", "deployments", &fresh)[1], "0/1");
    assert_eq!(row("apps", "deployments", &fresh)[7], "");

    assert_eq!(
        columns("apps", "replicasets"),
        [
            "Name",
            "Desired",
            "Current",
            "Ready",
            "Age",
            "Containers*",
            "Images*",
            "Selector*"
        ]
    );
    let rs = obj(
        "web-5d8f",
        json!({
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d8f"}}, "template": template},
            "status": {"replicas": 2, "readyReplicas": 1}
        }),
    );
    assert_eq!(
        row("apps", "replicasets", &rs),
        json!([
            "web-5d8f",
            2,
            2,
            1,
            "3h2m",
            "app,log",
            "app.wasm,log.wasm",
            "app=web,pod-template-hash=5d8f"
        ])
    );
}

#[test]
fn jobs_and_cron_jobs() {
    assert_eq!(
        columns("batch", "jobs"),
        [
            "Name",
            "Status",
            "Completions",
            "Duration",
            "Age",
            "Containers*",
            "Images*",
            "Selector*"
        ]
    );
    let template = json!({"spec": {"containers": [{"name": "job", "image": "job.wasm"}]}});
    let done = obj(
        "pi",
        json!({
            "spec": {"completions": 1, "parallelism": 1, "template": template,
                     "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}}},
            "status": {"succeeded": 1, "startTime": ago(100), "completionTime": ago(88),
                       "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}
        }),
    );
    assert_eq!(
        row("batch", "jobs", &done),
        json!([
            "pi",
            "Complete",
            "1/1",
            "12s",
            "3h2m",
            "job",
            "job.wasm",
            "batch.kubernetes.io/controller-uid=u1"
        ])
    );
    let running = obj(
        "work",
        json!({
            "spec": {"parallelism": 3, "template": template},
            "status": {"active": 3, "startTime": ago(200)}
        }),
    );
    let r = row("batch", "jobs", &running);
    assert_eq!(
        (&r[1], &r[2], &r[3]),
        (&json!("Running"), &json!("0/1 of 3"), &json!("3m20s"))
    );
    let failed = obj(
        "bad",
        json!({"spec": {"completions": 2}, "status": {"failed": 6,
        "conditions": [{"type": "Failed", "status": "True"}]}}),
    );
    let r = row("batch", "jobs", &failed);
    assert_eq!(
        (&r[1], &r[2], &r[3]),
        (&json!("Failed"), &json!("0/2"), &json!(""))
    );

    assert_eq!(
        columns("batch", "cronjobs"),
        [
            "Name",
            "Schedule",
            "Timezone",
            "Suspend",
            "Active",
            "Last Schedule",
            "Age",
            "Containers*",
            "Images*",
            "Selector*"
        ]
    );
    let cj = obj(
        "nightly",
        json!({
            "spec": {"schedule": "0 3 * * *", "suspend": false,
                     "jobTemplate": {"spec": {"template": template}}},
            "status": {"active": [{"name": "nightly-1"}], "lastScheduleTime": ago(65)}
        }),
    );
    assert_eq!(
        row("batch", "cronjobs", &cj),
        json!([
            "nightly",
            "0 3 * * *",
            "<none>",
            "False",
            1,
            "65s",
            "3h2m",
            "job",
            "job.wasm",
            "<none>"
        ])
    );
}

#[test]
fn horizontal_pod_autoscalers() {
    assert_eq!(
        columns("autoscaling", "horizontalpodautoscalers"),
        [
            "Name",
            "Reference",
            "Targets",
            "MinPods",
            "MaxPods",
            "Replicas",
            "Age"
        ]
    );
    let hpa = obj(
        "web",
        json!({
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                     "minReplicas": 2, "maxReplicas": 10, "metrics": [
                {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
                {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}]},
            "status": {"currentReplicas": 3, "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 40, "averageValue": "200m"}}}]}
        }),
    );
    assert_eq!(
        row("autoscaling", "horizontalpodautoscalers", &hpa),
        json!([
            "web",
            "Deployment/web",
            "cpu: 40%/80%, memory: <unknown>/500Mi + 1 more...",
            "2",
            10,
            3,
            "3h2m"
        ])
    );
    let bare = obj(
        "b",
        json!({"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "b"}, "maxReplicas": 4}}),
    );
    let r = row("autoscaling", "horizontalpodautoscalers", &bare);
    assert_eq!(
        (&r[2], &r[3], &r[5]),
        (&json!("<none>"), &json!("<unset>"), &json!(0))
    );
}
