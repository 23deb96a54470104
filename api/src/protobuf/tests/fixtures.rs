//! A body (everything but `apiVersion`, `kind` and `metadata`) for each served kind, using
//! the fields whose encodings differ: quantities, int-or-strings, times, bytes, maps, nested
//! lists and pointer zeros.

use serde_json::{Value, json};

fn pod_spec() -> Value {
    json!({
        "containers": [{
            "name": "app", "image": "registry.local/app.wasm:1", "args": ["--port", "8080"],
            "env": [{"name": "MODE", "value": "prod"},
                    {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "level", "optional": true}}}],
            "envFrom": [{"secretRef": {"name": "s"}}],
            "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
            "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "0.1"}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5},
            "livenessProbe": {"tcpSocket": {"port": 8080}, "failureThreshold": 0},
        }],
        "volumes": [{"name": "config", "configMap": {"name": "cm", "items": [{"key": "a", "path": "a.txt"}]}},
                    {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 0,
        "automountServiceAccountToken": false,
        "nodeSelector": {"kubernetes.io/os": "wasi"},
        "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 30}],
    })
}

fn template() -> Value {
    json!({"metadata": {"labels": {"app": "web"}}, "spec": pod_spec()})
}

fn selector() -> Value {
    json!({"matchLabels": {"app": "web"},
           "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]})
}

fn condition(kind: &str) -> Value {
    json!({"type": kind, "status": "True", "lastTransitionTime": "2026-12-05T17:00:02Z",
           "reason": "Done", "message": "all good"})
}

pub(super) fn body(kind: &str) -> Value {
    match kind {
        "Namespace" => {
            json!({"spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
        }
        "Node" => json!({
            "spec": {"podCIDR": "10.244.1.0/24", "taints": [{"key": "k", "effect": "NoExecute"}]},
            "status": {"capacity": {"cpu": "4", "pods": "110"}, "conditions": [condition("Ready")],
                       "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                       "nodeInfo": {"machineID": "m", "systemUUID": "s", "bootID": "b", "kernelVersion": "k",
                                    "osImage": "o", "containerRuntimeVersion": "wasmtime://48",
                                    "kubeletVersion": "v1.33.0", "operatingSystem": "wasi",
                                    "architecture": "wasm32"}},
        }),
        "Pod" => json!({"spec": pod_spec(), "status": {
            "phase": "Running", "podIP": "10.244.1.5", "startTime": "2026-12-05T17:00:03Z",
            "conditions": [condition("Ready")],
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "image": "i",
                "imageID": "sha256:1", "started": true, "state": {"running": {"startedAt": "2026-12-05T17:00:04Z"}}}],
        }}),
        "Service" => {
            json!({"spec": {"type": "NodePort", "selector": {"app": "web"}, "clusterIP": "10.96.0.10",
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"},
                      {"name": "named", "port": 81, "targetPort": "http"}]}})
        }
        "Endpoints" => {
            json!({"subsets": [{"addresses": [{"ip": "10.244.1.5", "targetRef": {"kind": "Pod", "name": "p"}}],
            "ports": [{"port": 8080, "protocol": "TCP"}]}]})
        }
        "ConfigMap" => {
            json!({"data": {"a": "1", "b": ""}, "binaryData": {"bin": "AAEC"}, "immutable": true})
        }
        "Secret" => json!({"type": "Opaque", "data": {"password": "aHVudGVyMg=="}}),
        "Event" => json!({"involvedObject": {"kind": "Pod", "name": "p", "namespace": "ns"},
            "reason": "Started", "message": "started", "type": "Normal", "count": 2,
            "firstTimestamp": "2026-12-05T17:00:05Z", "lastTimestamp": "2026-12-05T17:00:06Z",
            "eventTime": "2026-12-05T17:00:06.250000Z", "source": {"component": "skiff-agent"}}),
        "ServiceAccount" => {
            json!({"secrets": [{"name": "t"}], "automountServiceAccountToken": true})
        }
        "ReplicationController" => {
            json!({"spec": {"replicas": 2, "selector": {"app": "web"}, "template": template()}})
        }
        "Deployment" => {
            json!({"spec": {"replicas": 0, "selector": selector(), "template": template(),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
            "status": {"observedGeneration": 3, "replicas": 0, "conditions": [condition("Available")]}})
        }
        "ReplicaSet" => {
            json!({"spec": {"replicas": 3, "selector": selector(), "template": template()},
            "status": {"replicas": 3, "readyReplicas": 2}})
        }
        "DaemonSet" => json!({"spec": {"selector": selector(), "template": template(),
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}}}),
        "ControllerRevision" => {
            json!({"revision": 2, "data": {"spec": {"template": {"spec": {}}}}})
        }
        "Job" => {
            json!({"spec": {"completions": 1, "parallelism": 1, "backoffLimit": 6, "template": template(),
            "suspend": false}, "status": {"succeeded": 1, "startTime": "2026-12-05T17:00:07Z",
            "completionTime": "2026-12-05T17:00:08Z"}})
        }
        "CronJob" => json!({"spec": {"schedule": "*/5 * * * *", "concurrencyPolicy": "Forbid",
            "jobTemplate": {"spec": {"template": template()}}},
            "status": {"lastScheduleTime": "2026-12-05T17:00:00Z"}}),
        "HorizontalPodAutoscaler" => json!({"spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
            "minReplicas": 1, "maxReplicas": 5,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 60}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300,
                "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}}},
            "status": {"currentReplicas": 1, "desiredReplicas": 2,
                "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu",
                    "current": {"averageValue": "120m", "averageUtilization": 80}}}]}}),
        "PodDisruptionBudget" => json!({"spec": {"minAvailable": "50%", "selector": selector()},
            "status": {"disruptionsAllowed": 0, "currentHealthy": 1, "desiredHealthy": 1, "expectedPods": 2,
                "disruptedPods": {"p": "2026-12-05T17:00:09Z"}}}),
        "Lease" => json!({"spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40,
            "renewTime": "2026-12-05T17:00:10.500000Z", "leaseTransitions": 0}}),
        "EndpointSlice" => json!({"addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": true, "serving": true},
                "nodeName": "n1", "targetRef": {"kind": "Pod", "name": "p"}}],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}),
        "Role" => json!({"rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"],
            "verbs": ["get", "list", "watch"], "resourceNames": ["p"]}]}),
        "ClusterRole" => {
            json!({"rules": [{"nonResourceURLs": ["/healthz", "/api/*"], "verbs": ["get"]}],
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"rbac.example/aggregate": "true"}}]}})
        }
        "RoleBinding" => {
            json!({"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "default"},
                {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}]})
        }
        "ClusterRoleBinding" => {
            json!({"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "devs"}]})
        }
        "NetworkPolicy" => json!({"spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": {"matchExpressions":
                    [{"key": "tier", "operator": "In", "values": ["front"]}]}}],
                "ports": [{"protocol": "TCP", "port": "http"}, {"port": 8000, "endPort": 8080}]}],
            "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                "ports": [{"protocol": "UDP", "port": 53}]}, {}],
        }}),
        other => panic!("no fixture for served kind {other}: add one"),
    }
}
