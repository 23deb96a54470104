//! Defaults applied to minimal objects, compared with what kube-apiserver stores for them.

use serde_json::{Value, json};

use super::{info, with};
use crate::validate::defaults::pod::image_tag;
use crate::validate::{apply_defaults, apply_job_selector, job_selector_labels};

fn defaulted(kind: &str, mut obj: Value) -> Value {
    apply_defaults(info(kind), &mut obj);
    let mut again = obj.clone();
    apply_defaults(info(kind), &mut again);
    assert_eq!(again, obj, "defaulting {kind} twice changes it");
    obj
}

fn defaulted_container(image: &str) -> Value {
    json!({
        "name": "c", "image": image, "imagePullPolicy": "Always", "resources": {},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"
    })
}

fn defaulted_pod_spec() -> Value {
    json!({
        "containers": [defaulted_container("nginx")],
        "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler",
        "securityContext": {}, "terminationGracePeriodSeconds": 30
    })
}

#[test]
fn pod_defaults() {
    let got = defaulted(
        "Pod",
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
    );
    let mut spec = defaulted_pod_spec();
    spec["enableServiceLinks"] = json!(true);
    spec["priority"] = json!(0);
    spec["preemptionPolicy"] = json!("PreemptLowerPriority");
    assert_eq!(got, json!({"metadata": {"name": "p"}, "spec": spec}));

    let rich = defaulted(
        "Pod",
        json!({"spec": {
            "restartPolicy": "Never",
            "containers": [{
                "name": "c", "image": "app:1.0",
                "ports": [{"containerPort": 80}],
                "resources": {"limits": {"cpu": "1"}, "requests": {"memory": "1Gi"}},
                "readinessProbe": {"httpGet": {"port": 80}}
            }],
            "volumes": [{"name": "scratch"}, {"name": "cfg", "configMap": {"name": "x"}}]
        }}),
    );
    let c = &rich["spec"]["containers"][0];
    assert_eq!(rich["spec"]["restartPolicy"], "Never");
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(
        c["ports"][0],
        json!({"containerPort": 80, "protocol": "TCP"})
    );
    assert_eq!(
        c["resources"]["requests"],
        json!({"cpu": "1", "memory": "1Gi"})
    );
    assert_eq!(
        c["readinessProbe"],
        json!({
            "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
            "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3
        })
    );
    assert_eq!(
        rich["spec"]["volumes"],
        json!([
            {"name": "scratch", "emptyDir": {}},
            {"name": "cfg", "configMap": {"name": "x", "defaultMode": 420}}
        ])
    );
}

#[test]
fn image_pull_policy_follows_the_tag() {
    for (image, tag) in [
        ("nginx", "latest"),
        ("nginx:latest", "latest"),
        ("nginx:1.27", "1.27"),
        ("registry.local:5000/team/app", "latest"),
        ("registry.local:5000/team/app:v2", "v2"),
        ("app@sha256:0123abcd", ""),
        ("app:v1@sha256:0123abcd", "v1"),
    ] {
        assert_eq!(image_tag(image), tag, "{image}");
    }
}

#[test]
fn workload_defaults() {
    let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    let want_template =
        json!({"metadata": {"labels": {"app": "web"}}, "spec": defaulted_pod_spec()});
    let got = defaulted(
        "Deployment",
        json!({"spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template}}),
    );
    assert_eq!(
        got,
        json!({"spec": {
            "replicas": 1, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "template": want_template
        }})
    );
    let recreate = defaulted(
        "Deployment",
        json!({"spec": {"strategy": {"type": "Recreate"}}}),
    );
    assert_eq!(recreate["spec"]["strategy"], json!({"type": "Recreate"}));

    let rs = defaulted("ReplicaSet", json!({"spec": {"template": template}}));
    assert_eq!(
        (
            rs["spec"]["replicas"].clone(),
            rs["spec"]["template"].clone()
        ),
        (json!(1), want_template.clone())
    );

    let job = defaulted(
        "Job",
        json!({"metadata": {"name": "pi"}, "spec": {"template": template}}),
    );
    assert_eq!(
        job,
        json!({"metadata": {"name": "pi", "labels": {"app": "web"}}, "spec": {
            "parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
            "suspend": false, "podReplacementPolicy": "TerminatingOrFailed", "template": want_template
        }})
    );
    let parallel = defaulted("Job", json!({"spec": {"parallelism": 3}}));
    assert_eq!(
        (
            parallel["spec"]["parallelism"].clone(),
            parallel["spec"].get("completions")
        ),
        (json!(3), None)
    );

    let cj = defaulted(
        "CronJob",
        json!({"spec": {"schedule": "@hourly", "jobTemplate": {"spec": {"template": template}}}}),
    );
    assert_eq!(
        cj,
        json!({"spec": {
            "schedule": "@hourly", "concurrencyPolicy": "Allow", "suspend": false,
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
            "jobTemplate": {"spec": {"template": want_template}}
        }})
    );

    let hpa = defaulted(
        "HorizontalPodAutoscaler",
        json!({"spec": {"maxReplicas": 5, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}}),
    );
    assert_eq!(hpa["spec"]["minReplicas"], 1);
    assert_eq!(
        hpa["spec"]["metrics"][0]["resource"],
        json!({"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}})
    );
    assert_eq!(
        hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
        60
    );
    assert_eq!(
        hpa["spec"]["behavior"]["scaleUp"]["policies"][0],
        json!({"type": "Pods", "value": 4, "periodSeconds": 15})
    );
}

#[test]
fn service_and_other_defaults() {
    let got = defaulted(
        "Service",
        json!({"spec": {"selector": {"app": "web"}, "ports": [{"port": 80}, {"port": 443, "targetPort": "https", "protocol": "UDP"}]}}),
    );
    assert_eq!(
        got,
        json!({"spec": {
            "type": "ClusterIP", "sessionAffinity": "None", "selector": {"app": "web"},
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}, {"port": 443, "protocol": "UDP", "targetPort": "https"}],
            "internalTrafficPolicy": "Cluster", "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"]
        }})
    );
    let lb = defaulted(
        "Service",
        json!({"spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP"}}),
    );
    assert_eq!(lb["spec"]["externalTrafficPolicy"], "Cluster");
    assert_eq!(lb["spec"]["allocateLoadBalancerNodePorts"], true);
    assert_eq!(
        lb["spec"]["sessionAffinityConfig"],
        json!({"clientIP": {"timeoutSeconds": 10800}})
    );
    let ext = defaulted(
        "Service",
        json!({"spec": {"type": "ExternalName", "externalName": "example.com"}}),
    );
    assert_eq!(
        ext,
        json!({"spec": {"type": "ExternalName", "externalName": "example.com", "sessionAffinity": "None"}})
    );

    let ns = defaulted("Namespace", json!({"metadata": {"name": "team-a"}}));
    assert_eq!(
        ns,
        json!({
            "metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}
        })
    );
    assert_eq!(defaulted("Secret", json!({"data": {}}))["type"], "Opaque");
    assert_eq!(
        defaulted("Secret", json!({"type": "kubernetes.io/tls"}))["type"],
        "kubernetes.io/tls"
    );
    assert_eq!(
        defaulted("ConfigMap", json!({"data": {"a": "b"}})),
        json!({"data": {"a": "b"}})
    );
    let node = defaulted("Node", json!({"status": {"capacity": {"cpu": "4"}}}));
    assert_eq!(node["status"]["allocatable"], json!({"cpu": "4"}));
}

#[test]
fn job_selector_hook() {
    assert_eq!(
        job_selector_labels("u1")
            .get("batch.kubernetes.io/controller-uid")
            .map(String::as_str),
        Some("u1")
    );
    let mut job = with(
        json!({"metadata": {"name": "pi"}}),
        "/spec/template/spec/containers",
        json!([]),
    );
    apply_job_selector(&mut job, "u1");
    assert_eq!(
        job["spec"]["selector"],
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}})
    );
    assert_eq!(
        job["spec"]["template"]["metadata"]["labels"],
        json!({
            "batch.kubernetes.io/controller-uid": "u1", "batch.kubernetes.io/job-name": "pi",
            "controller-uid": "u1", "job-name": "pi"
        })
    );
    let mut manual = json!({"spec": {"manualSelector": true}});
    apply_job_selector(&mut manual, "u1");
    assert_eq!(manual, json!({"spec": {"manualSelector": true}}));
}
