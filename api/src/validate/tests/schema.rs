//! Strict field checking: no false positives on objects as kubectl sends them and as the server
//! stores them; typos reported with their paths; wrong types reported as field errors.

use serde_json::{Value, json};

use super::{
    configmap, cronjob, deployment, hpa, info, job, namespace, pod, replicaset, secret, with,
};
use crate::validate::{apply_defaults, check_schema};

/// `kubectl create deployment web --image=nginx --dry-run=client -o json`, then `kubectl apply`.
fn kubectl_deployment() -> Value {
    let mut d = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"creationTimestamp": null, "labels": {"app": "web"}, "name": "web", "namespace": "default"},
        "spec": {
            "replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "strategy": {},
            "template": {
                "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                "spec": {"containers": [{"image": "nginx", "name": "nginx", "resources": {}}]}
            }
        },
        "status": {}
    });
    let last_applied = format!("{d}\n");
    d["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/last-applied-configuration": last_applied});
    d
}

fn kubectl_pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"creationTimestamp": null, "labels": {"run": "web"}, "name": "web"},
        "spec": {"containers": [{"image": "nginx", "name": "web", "resources": {}}], "dnsPolicy": "ClusterFirst", "restartPolicy": "Always"},
        "status": {}
    })
}

fn kubectl_service() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"creationTimestamp": null, "labels": {"app": "web"}, "name": "web"},
        "spec": {"ports": [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}], "selector": {"app": "web"}, "type": "ClusterIP"},
        "status": {"loadBalancer": {}}
    })
}

/// An object as the server returns it (what `kubectl edit` and `replace` send back).
fn stored(mut obj: Value, kind: &str) -> Value {
    apply_defaults(info(kind), &mut obj);
    let meta = obj["metadata"].as_object_mut().expect("metadata");
    meta.insert("uid".into(), json!("6f1c0a52-3c55-4a53-9d0e-6d2b1c1f2a10"));
    meta.insert("resourceVersion".into(), json!("104"));
    meta.insert("generation".into(), json!(1));
    meta.insert("creationTimestamp".into(), json!("2025-01-02T03:04:05Z"));
    meta.insert(
        "managedFields".into(),
        json!([{
            "apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kubectl-client-side-apply",
            "operation": "Update", "time": "2025-01-02T03:04:05Z",
            "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}
        }]),
    );
    meta.insert("finalizers".into(), json!([]));
    meta.insert("ownerReferences".into(), json!(null));
    obj
}

#[test]
fn realistic_objects_have_no_unknown_fields() {
    let cases = [
        ("Deployment", kubectl_deployment()),
        ("Pod", kubectl_pod()),
        ("Service", kubectl_service()),
        ("Deployment", stored(kubectl_deployment(), "Deployment")),
        (
            "Pod",
            stored(
                with(
                    pod(),
                    "/status",
                    json!({"phase": "Running", "podIP": "10.1.0.5", "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": null}]}),
                ),
                "Pod",
            ),
        ),
        ("Service", stored(kubectl_service(), "Service")),
        ("Deployment", deployment()),
        ("ReplicaSet", replicaset()),
        ("Job", stored(job(), "Job")),
        ("CronJob", stored(cronjob(), "CronJob")),
        (
            "HorizontalPodAutoscaler",
            stored(hpa(), "HorizontalPodAutoscaler"),
        ),
        ("ConfigMap", stored(configmap(), "ConfigMap")),
        (
            "Secret",
            stored(
                with(secret(), "/stringData", json!({"user": "admin"})),
                "Secret",
            ),
        ),
        ("Namespace", stored(namespace(), "Namespace")),
        ("Pod", with(pod(), "/spec/nodeName", Value::Null)),
        ("Pod", with(pod(), "/spec/containers/0/env", json!([]))),
    ];
    for (i, (kind, obj)) in cases.iter().enumerate() {
        assert_eq!(
            check_schema(info(kind), obj),
            Ok(vec![]),
            "case {i} ({kind})"
        );
    }
}

#[test]
fn unknown_fields_are_reported_with_paths() {
    let cases: [(&str, Value, &[&str]); 6] = [
        (
            "Pod",
            with(pod(), "/spec/containers/0/imagee", json!("x")),
            &["spec.containers[0].imagee"],
        ),
        ("Pod", with(pod(), "/extra", json!(1)), &["extra"]),
        (
            "Pod",
            with(
                with(pod(), "/metadata/labelz", json!({})),
                "/spec/volumes/0/configMap/nme",
                json!("a"),
            ),
            &["metadata.labelz", "spec.volumes[0].configMap.nme"],
        ),
        (
            "Deployment",
            with(
                deployment(),
                "/spec/template/spec/containers/0/ports/0/containerport",
                json!(80),
            ),
            &["spec.template.spec.containers[0].ports[0].containerport"],
        ),
        (
            "Deployment",
            with(deployment(), "/spec/selector/matchLabel", json!({"a": "b"})),
            &["spec.selector.matchLabel"],
        ),
        (
            "Service",
            with(kubectl_service(), "/spec/ports/0/target", json!(80)),
            &["spec.ports[0].target"],
        ),
    ];
    for (kind, obj, want) in cases {
        let want: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(check_schema(info(kind), &obj), Ok(want));
    }
}

#[test]
fn wrong_types_are_field_errors() {
    let cases: [(&str, Value, &str, &str); 6] = [
        (
            "Deployment",
            with(deployment(), "/spec/replicas", json!("three")),
            "spec.replicas",
            "Invalid value: \"three\": expected integer",
        ),
        (
            "Pod",
            with(pod(), "/spec/containers", json!({})),
            "spec.containers",
            "Invalid value: {}: expected array",
        ),
        (
            "Pod",
            with(
                pod(),
                "/spec/containers/0/ports/0/containerPort",
                json!("80"),
            ),
            "spec.containers[0].ports[0].containerPort",
            "expected integer",
        ),
        (
            "Pod",
            with(pod(), "/spec/hostNetwork", json!("yes")),
            "spec.hostNetwork",
            "expected boolean",
        ),
        (
            "Pod",
            with(pod(), "/spec", json!("none")),
            "spec",
            "expected object",
        ),
        (
            "Pod",
            with(pod(), "/apiVersion", json!("apps/v1")),
            "apiVersion",
            "Invalid value: \"apps/v1\"",
        ),
    ];
    for (kind, obj, field, msg) in cases {
        let errs = check_schema(info(kind), &obj).expect_err(field);
        assert_eq!(errs[0].field, field);
        assert!(
            errs[0].message.contains(msg),
            "{field}: {}",
            errs[0].message
        );
    }
    let bad_secret = with(secret(), "/data/password", json!("not base64!"));
    assert_eq!(
        check_schema(info("Secret"), &bad_secret).expect_err("base64")[0].field,
        "data.password"
    );
    // Labels are free-form keys but their values must be strings.
    let e = check_schema(
        info("Pod"),
        &with(pod(), "/metadata/labels/app.kubernetes.io~1name", json!(1)),
    )
    .expect_err("label");
    assert_eq!(e[0].field, "metadata.labels[app.kubernetes.io/name]");
}
