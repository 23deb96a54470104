//! One valid object of every served kind for the protobuf round trip, using the fields whose
//! encodings differ (quantities, int-or-strings, times, bytes, maps, pointer zeros), and the
//! normalisation that leaves what two creates of the same object must share. No singular
//! field is an empty string: protobuf cannot tell those from absent ones (map values can be).

use serde_json::{Value, json};

fn template() -> Value {
    json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
        "name": "app", "image": "registry.local/app.wasm:1", "args": ["--port", "8080"],
        "env": [{"name": "MODE", "value": "prod"}],
        "ports": [{"name": "http", "containerPort": 8080}],
        "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5},
    }], "terminationGracePeriodSeconds": 0, "automountServiceAccountToken": false}})
}

fn selector() -> Value {
    json!({"matchLabels": {"app": "web"}})
}

fn ns(plural: &str) -> String {
    format!("/api/v1/namespaces/default/{plural}")
}

fn group(group_version: &str, plural: &str) -> String {
    format!("/apis/{group_version}/namespaces/default/{plural}")
}

fn object(api_version: &str, kind: &str, name: &str, body: Value) -> Value {
    let mut object = json!({"apiVersion": api_version, "kind": kind,
        "metadata": {"name": name, "labels": {"app": "web", "empty": ""}, "annotations": {"note": "a \"b\""}}});
    if let (Value::Object(o), Value::Object(b)) = (&mut object, body) {
        o.extend(b);
    }
    object
}

/// (collection path, object) for every kind `skiff_api::resources::RESOURCES` serves.
pub fn served_objects() -> Vec<(String, Value)> {
    let pod_spec = template()["spec"].clone();
    vec![
        (
            "/api/v1/namespaces".into(),
            object("v1", "Namespace", "space", json!({})),
        ),
        (
            "/api/v1/nodes".into(),
            object(
                "v1",
                "Node",
                "node",
                json!({"spec": {"podCIDR": "10.244.9.0/24",
            "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]}}),
            ),
        ),
        (
            ns("pods"),
            object("v1", "Pod", "pod", json!({"spec": pod_spec})),
        ),
        (
            ns("services"),
            object(
                "v1",
                "Service",
                "svc",
                json!({"spec": {"selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080}, {"name": "named", "port": 81, "targetPort": "http"}]}}),
            ),
        ),
        (
            ns("endpoints"),
            object(
                "v1",
                "Endpoints",
                "ep",
                json!({"subsets": [{
            "addresses": [{"ip": "10.244.1.5"}], "ports": [{"port": 8080, "protocol": "TCP"}]}]}),
            ),
        ),
        (
            ns("configmaps"),
            object(
                "v1",
                "ConfigMap",
                "cm",
                json!({"data": {"a": "1", "b": ""}, "binaryData": {"bin": "AAEC"}}),
            ),
        ),
        (
            ns("secrets"),
            object(
                "v1",
                "Secret",
                "secret",
                json!({"type": "Opaque", "data": {"password": "aHVudGVyMg=="}}),
            ),
        ),
        (
            ns("events"),
            object(
                "v1",
                "Event",
                "event",
                json!({
            "involvedObject": {"kind": "Pod", "name": "pod", "namespace": "default"},
            "reason": "Started", "message": "started", "type": "Normal", "count": 2,
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:01Z",
            "source": {"component": "skiff-test"}}),
            ),
        ),
        (
            group("events.k8s.io/v1", "events"),
            object(
                "events.k8s.io/v1",
                "Event",
                "new-event",
                json!({
            "regarding": {"kind": "Pod", "name": "pod", "namespace": "default"},
            "reason": "Started", "note": "started", "type": "Normal", "action": "Start",
            "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "skiff.dev/test",
            "reportingInstance": "test-1"}),
            ),
        ),
        (
            ns("serviceaccounts"),
            object(
                "v1",
                "ServiceAccount",
                "sa",
                json!({"automountServiceAccountToken": false}),
            ),
        ),
        (
            ns("replicationcontrollers"),
            object(
                "v1",
                "ReplicationController",
                "rc",
                json!({"spec": {
            "replicas": 0, "selector": {"app": "web"}, "template": template()}}),
            ),
        ),
        (
            group("apps/v1", "deployments"),
            object(
                "apps/v1",
                "Deployment",
                "deploy",
                json!({"spec": {
            "replicas": 0, "selector": selector(), "template": template(),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}}}),
            ),
        ),
        (
            group("apps/v1", "replicasets"),
            object(
                "apps/v1",
                "ReplicaSet",
                "rs",
                json!({"spec": {
            "replicas": 2, "selector": selector(), "template": template()}}),
            ),
        ),
        (
            group("apps/v1", "daemonsets"),
            object(
                "apps/v1",
                "DaemonSet",
                "ds",
                json!({"spec": {
            "selector": selector(), "template": template()}}),
            ),
        ),
        (
            group("apps/v1", "controllerrevisions"),
            object(
                "apps/v1",
                "ControllerRevision",
                "cr",
                json!({
            "revision": 2, "data": {"spec": {"template": {"spec": {}}}}}),
            ),
        ),
        (
            group("batch/v1", "jobs"),
            object(
                "batch/v1",
                "Job",
                "job",
                json!({"spec": {
            "backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "app", "image": "job.wasm"}]}}}}),
            ),
        ),
        (
            group("batch/v1", "cronjobs"),
            object(
                "batch/v1",
                "CronJob",
                "cron",
                json!({"spec": {
            "schedule": "*/5 * * * *", "suspend": false,
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "app", "image": "job.wasm"}]}}}}}}),
            ),
        ),
        (
            group("autoscaling/v2", "horizontalpodautoscalers"),
            object(
                "autoscaling/v2",
                "HorizontalPodAutoscaler",
                "hpa",
                json!({"spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "deploy"},
            "minReplicas": 1, "maxReplicas": 5,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "AverageValue", "averageValue": "100m"}}}]}}),
            ),
        ),
        (
            group("policy/v1", "poddisruptionbudgets"),
            object(
                "policy/v1",
                "PodDisruptionBudget",
                "pdb",
                json!({"spec": {
            "minAvailable": "50%", "selector": selector()}}),
            ),
        ),
        (
            group("coordination.k8s.io/v1", "leases"),
            object(
                "coordination.k8s.io/v1",
                "Lease",
                "lease",
                json!({"spec": {
            "holderIdentity": "n1", "leaseDurationSeconds": 40, "renewTime": "2026-01-01T00:00:02.500000Z", "leaseTransitions": 0}}),
            ),
        ),
        (
            group("discovery.k8s.io/v1", "endpointslices"),
            object(
                "discovery.k8s.io/v1",
                "EndpointSlice",
                "slice",
                json!({
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": true}, "nodeName": "n1"}],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}),
            ),
        ),
        (
            group("networking.k8s.io/v1", "networkpolicies"),
            object(
                "networking.k8s.io/v1",
                "NetworkPolicy",
                "policy",
                json!({"spec": {
            "podSelector": selector(), "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}}, "podSelector": selector()}],
                "ports": [{"protocol": "TCP", "port": "http"}, {"protocol": "UDP", "port": 8000, "endPort": 8080}]}],
            "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}]}}),
            ),
        ),
    ]
}

/// The object without what differs between two creates of it (name, uid, revision, times,
/// allocated addresses, a Namespace's name label); its name and uid, wherever they appear,
/// become `<name>` and `<uid>`.
pub fn normalized(object: &Value) -> Value {
    // Values the server derives from them (a Job's controller-uid and job-name labels).
    let mut text = object.to_string();
    for field in ["uid", "name"] {
        if let Some(value) = object["metadata"][field].as_str().filter(|v| !v.is_empty()) {
            text = text.replace(value, &format!("<{field}>"));
        }
    }
    let mut object: Value = serde_json::from_str(&text).unwrap_or_default();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in ["resourceVersion", "creationTimestamp", "managedFields"] {
            meta.remove(field);
        }
        if let Some(labels) = meta.get_mut("labels").and_then(Value::as_object_mut) {
            labels.remove("kubernetes.io/metadata.name");
        }
    }
    if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
        for field in ["clusterIP", "clusterIPs"] {
            spec.remove(field);
        }
    }
    object
}
