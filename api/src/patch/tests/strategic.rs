//! Strategic merge patch examples: the kubectl trap, each `$` directive, merge keys per
//! kind, ordering, and the patches that must be refused.

use serde_json::{Value, json};

use super::patch;
use crate::patch::{PatchError, PatchType};

fn smp(kind: &str, original: Value, body: Value) -> Result<Value, PatchError> {
    patch(kind, &original, &body, PatchType::StrategicMerge)
}

fn deployment(containers: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
           "spec": {"replicas": 1, "template": {"spec": {"containers": containers}}}})
}

fn containers(v: &Value) -> &Value {
    &v["spec"]["template"]["spec"]["containers"]
}

#[test]
fn kubectl_set_image_keeps_the_other_container_in_place() {
    let app = json!({"name": "app", "image": "app.wasm", "ports": [{"containerPort": 80}]});
    let original = deployment(json!([app, {"name": "side", "image": "side.wasm"}]));
    let body = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "app"}, {"name": "side"}],
        "containers": [{"image": "side2.wasm", "name": "side"}]}}}});
    let got = smp("Deployment", original, body).expect("applies");
    assert_eq!(
        containers(&got),
        &json!([app, {"name": "side", "image": "side2.wasm"}])
    );
    assert_eq!(got["spec"]["replicas"], 1);
}

#[test]
fn strategic_merge_examples() {
    let two = || deployment(json!([{"name": "a", "image": "a1"}, {"name": "b", "image": "b1"}]));
    let tpl = |spec: Value| json!({"spec": {"template": {"spec": spec}}});
    // (name, kind, original, patch, expected)
    let cases: Vec<(&str, &str, Value, Value, Value)> = vec![
        (
            "$patch: delete removes one container",
            "Deployment",
            two(),
            tpl(json!({"containers": [{"name": "a", "$patch": "delete"}]})),
            deployment(json!([{"name": "b", "image": "b1"}])),
        ),
        (
            "$patch: replace in a list replaces the list",
            "Deployment",
            two(),
            tpl(json!({"containers": [{"name": "c", "image": "c1"}, {"$patch": "replace"}]})),
            deployment(json!([{"name": "c", "image": "c1"}])),
        ),
        (
            "a new container lands where $setElementOrder says",
            "Deployment",
            two(),
            tpl(
                json!({"$setElementOrder/containers": [{"name": "a"}, {"name": "c"}, {"name": "b"}],
                       "containers": [{"name": "c", "image": "c1"}]}),
            ),
            deployment(
                json!([{"name": "a", "image": "a1"}, {"name": "c", "image": "c1"}, {"name": "b", "image": "b1"}]),
            ),
        ),
        (
            "$setElementOrder alone reorders",
            "Deployment",
            two(),
            tpl(json!({"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]})),
            deployment(json!([{"name": "b", "image": "b1"}, {"name": "a", "image": "a1"}])),
        ),
        (
            "without $setElementOrder a new element goes first (apimachinery's order)",
            "Deployment",
            two(),
            tpl(json!({"containers": [{"name": "c", "image": "c1"}]})),
            deployment(
                json!([{"name": "c", "image": "c1"}, {"name": "a", "image": "a1"}, {"name": "b", "image": "b1"}]),
            ),
        ),
        (
            "env merges by name, null deletes a field of an element",
            "Pod",
            json!({"spec": {"containers": [{"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]}}),
            json!({"spec": {"containers": [{"name": "a", "image": null, "env": [{"name": "B", "value": "3"}]}]}}),
            json!({"spec": {"containers": [{"name": "a", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]}]}}),
        ),
        (
            "container ports merge by containerPort",
            "Pod",
            json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80, "name": "http"}]}]}}),
            json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}}),
            json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80, "name": "http", "protocol": "TCP"}]}]}}),
        ),
        (
            "service ports merge by port",
            "Service",
            json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}),
            json!({"spec": {"$setElementOrder/ports": [{"port": 80}, {"port": 443}], "ports": [{"port": 80, "targetPort": 9090}]}}),
            json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 443}]}}),
        ),
        (
            "tolerations are replaced",
            "Pod",
            json!({"spec": {"tolerations": [{"key": "a"}, {"key": "b"}]}}),
            json!({"spec": {"tolerations": [{"key": "c"}]}}),
            json!({"spec": {"tolerations": [{"key": "c"}]}}),
        ),
        (
            "$retainKeys drops the keys it does not list",
            "Deployment",
            json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}}),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": null}}}),
            json!({"spec": {"strategy": {"type": "Recreate"}}}),
        ),
        (
            "$deleteFromPrimitiveList/finalizers",
            "ConfigMap",
            json!({"metadata": {"finalizers": ["a", "b", "c"]}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"], "$setElementOrder/finalizers": ["a", "c"]}}),
            json!({"metadata": {"finalizers": ["a", "c"]}}),
        ),
        (
            "finalizers merge as a set",
            "ConfigMap",
            json!({"metadata": {"finalizers": ["a"]}}),
            json!({"metadata": {"finalizers": ["a", "b"], "$setElementOrder/finalizers": ["a", "b"]}}),
            json!({"metadata": {"finalizers": ["a", "b"]}}),
        ),
        (
            "null deletes a map key",
            "ConfigMap",
            json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "data": {"k": "v"}}),
            json!({"metadata": {"labels": {"a": null}}}),
            json!({"metadata": {"labels": {"b": "2"}}, "data": {"k": "v"}}),
        ),
        (
            "$patch: replace on a map",
            "ConfigMap",
            json!({"data": {"a": "1", "b": "2"}}),
            json!({"data": {"$patch": "replace", "c": "3"}}),
            json!({"data": {"c": "3"}}),
        ),
        (
            "$patch: delete on a map empties it",
            "ConfigMap",
            json!({"data": {"a": "1"}}),
            json!({"data": {"$patch": "delete"}}),
            json!({"data": {}}),
        ),
        (
            "rollout restart annotation",
            "Deployment",
            two(),
            json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}}}),
            {
                let mut d = two();
                d["spec"]["template"]["metadata"] =
                    json!({"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}});
                d
            },
        ),
        (
            "conditions merge by type",
            "Deployment",
            json!({"status": {"conditions": [{"type": "Available", "status": "False"}, {"type": "Progressing", "status": "True"}]}}),
            json!({"status": {"conditions": [{"type": "Available", "status": "True"}]}}),
            json!({"status": {"conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True"}]}}),
        ),
        (
            "ownerReferences merge by uid",
            "ReplicaSet",
            json!({"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}]}}),
            json!({"metadata": {"ownerReferences": [{"uid": "2", "name": "b"}]}}),
            json!({"metadata": {"ownerReferences": [{"uid": "2", "name": "b"}, {"uid": "1", "name": "a"}]}}),
        ),
        (
            "CronJob containers are keyed too",
            "CronJob",
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b"}]}}}}}}),
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "2"}]}}}}}}),
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "2"}, {"name": "b"}]}}}}}}),
        ),
        (
            "an unknown kind's list takes its merge key from $setElementOrder",
            "Widget",
            json!({"spec": {"items": [{"name": "a", "v": 1}, {"name": "b", "v": 1}]}}),
            json!({"spec": {"$setElementOrder/items": [{"name": "a"}, {"name": "b"}], "items": [{"name": "b", "v": 2}]}}),
            json!({"spec": {"items": [{"name": "a", "v": 1}, {"name": "b", "v": 2}]}}),
        ),
        (
            "an unknown kind's list is replaced",
            "Widget",
            json!({"spec": {"items": [{"name": "a"}, {"name": "b"}]}}),
            json!({"spec": {"items": [{"name": "b"}]}}),
            json!({"spec": {"items": [{"name": "b"}]}}),
        ),
        (
            "directives in a new subtree are applied, not stored",
            "Pod",
            json!({"metadata": {"name": "p"}}),
            json!({"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "a", "env": [{"name": "X", "$patch": "delete"}]}]}}),
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "env": []}]}}),
        ),
    ];
    for (name, kind, original, body, want) in cases {
        let got = smp(kind, original, body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn malformed_strategic_patches_are_refused() {
    let pod = || json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
    // (name, patch, is a 400 BadRequest; otherwise 422 Invalid)
    let cases = [
        ("not an object", json!([1, 2]), true),
        (
            "element without its merge key",
            json!({"spec": {"containers": [{"image": "x"}]}}),
            true,
        ),
        (
            "keyed list element not an object",
            json!({"spec": {"containers": ["a"]}}),
            true,
        ),
        (
            "unknown $patch in a map",
            json!({"spec": {"$patch": "frobnicate"}}),
            true,
        ),
        (
            "unknown $patch in a list",
            json!({"spec": {"containers": [{"name": "a", "$patch": "x"}]}}),
            true,
        ),
        (
            "$retainKeys not a list",
            json!({"spec": {"$retainKeys": "containers"}}),
            true,
        ),
        (
            "patching a key $retainKeys drops",
            json!({"spec": {"$retainKeys": ["a"], "b": 1}}),
            false,
        ),
        (
            "patch list out of $setElementOrder order",
            json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                            "containers": [{"name": "b"}, {"name": "a"}]}}),
            true,
        ),
        (
            "$setElementOrder not a list",
            json!({"spec": {"$setElementOrder/containers": {"name": "a"}}}),
            true,
        ),
        (
            "$deleteFromPrimitiveList not a list",
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}),
            true,
        ),
        (
            "objects in a set list",
            json!({"metadata": {"finalizers": [{"a": 1}]}}),
            true,
        ),
    ];
    for (name, body, bad_request) in cases {
        match smp("Pod", pod(), body) {
            Err(PatchError::BadRequest(_)) if bad_request => {}
            Err(PatchError::Invalid(_)) if !bad_request => {}
            other => panic!("{name}: {other:?}"),
        }
    }
}
