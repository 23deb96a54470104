//! Pods (as the JSON a user applies) to runtime specs, by table.

use super::*;
use serde_json::{Value, json};

fn pod(spec: Value) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop", "uid": "u-1",
                     "labels": {"app": "web", "tier": "front"},
                     "annotations": {"team": "a\"b"}},
        "spec": spec,
    }))
    .unwrap()
}

/// The facts the translation tests (and the worker's) plan against.
pub(crate) fn facts() -> PodFacts {
    PodFacts {
        sandbox_id: "u-1".into(),
        namespace: "shop".into(),
        node_name: "edge-1".into(),
        pod_ip: "10.244.1.7".parse().unwrap(),
        host_ip: "192.168.1.20".parse().unwrap(),
        pod_dir: "/var/skiff/pods/u-1".into(),
        memory_volumes_dir: "/dev/shm/skiff-edge-1-0123abcd/u-1".into(),
        node_cpu_millis: 4000,
        node_memory_bytes: 8 << 30,
    }
}

fn refs() -> References {
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "cfg"},
        "data": {"COLOR": "blue", "SIZE": "10", "bad key": "x", "app.conf": "color=blue\n"},
        "binaryData": {"blob": "AAEC"},
    }))
    .unwrap();
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "creds"},
        "data": {"PASSWORD": "aHVudGVyMg=="},
    }))
    .unwrap();
    References {
        config_maps: BTreeMap::from([("cfg".into(), std::sync::Arc::new(cm))]),
        secrets: BTreeMap::from([("creds".into(), std::sync::Arc::new(secret))]),
        tokens: BTreeMap::new(),
    }
}

/// The env of the only container of a pod whose container has `fields` merged in.
fn env_of(container: Value) -> Result<BTreeMap<String, String>, PlanError> {
    let mut c = json!({"name": "app", "image": "app.wasm"});
    c.as_object_mut()
        .unwrap()
        .extend(container.as_object().unwrap().clone());
    let p = pod(json!({"containers": [c]}));
    let plan = plan_pod(&p, &refs(), &facts());
    plan.containers[0].spec.clone().map(|s| s.env)
}

fn env_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect()
}

/// The env a container gets, or the error's message.
type Expected = Result<BTreeMap<String, String>, String>;

#[test]
fn env_values_and_references_resolve() {
    let table: Vec<(Value, Expected)> = vec![
        (
            json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "$(A)-$(NOPE)-$$(A)"}]}),
            Ok(env_map(&[("A", "1"), ("B", "1-$(NOPE)-$(A)")])),
        ),
        (
            json!({"env": [{"name": "C", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "COLOR"}}},
                        {"name": "P", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "PASSWORD"}}}]}),
            Ok(env_map(&[("C", "blue"), ("P", "hunter2")])),
        ),
        (
            json!({"env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                        {"name": "U", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
                        {"name": "L", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                        {"name": "AN", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['team']"}}},
                        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                        {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}}]}),
            Ok(env_map(&[
                ("N", "web"),
                ("NS", "shop"),
                ("U", "u-1"),
                ("L", "web"),
                ("AN", "a\"b"),
                ("NODE", "edge-1"),
                ("IP", "10.244.1.7"),
                ("HOST", "192.168.1.20"),
            ])),
        ),
        (
            json!({"resources": {"limits": {"memory": "64Mi", "cpu": "250m"}},
                "env": [{"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
                        {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
                        {"name": "CPUM", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}},
                        {"name": "REQ", "valueFrom": {"resourceFieldRef": {"resource": "requests.memory"}}}]}),
            Ok(env_map(&[
                ("MEM", "64"),
                ("CPU", "1"),
                ("CPUM", "250"),
                ("REQ", "67108864"),
            ])),
        ),
        (
            json!({"env": [{"name": "NODECPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}]}),
            Ok(env_map(&[("NODECPU", "4")])),
        ),
        (
            json!({"envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"},
                            {"secretRef": {"name": "creds"}}],
                "env": [{"name": "SIZE2", "value": "$(CFG_SIZE)0"}]}),
            Ok(env_map(&[
                ("CFG_COLOR", "blue"),
                ("CFG_SIZE", "10"),
                ("CFG_app.conf", "color=blue\n"),
                ("CFG_blob", "\0\u{1}\u{2}"),
                ("PASSWORD", "hunter2"),
                ("SIZE2", "100"),
            ])),
        ),
        (
            json!({"envFrom": [{"configMapRef": {"name": "gone", "optional": true}}],
                "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "nope", "optional": true}}},
                        {"name": "Y", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k", "optional": true}}}]}),
            Ok(env_map(&[])),
        ),
        (
            json!({"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "x", "key": "y"}}}]}),
            Err("configmap \"x\" not found".into()),
        ),
        (
            json!({"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "y"}}}]}),
            Err("couldn't find key y in ConfigMap shop/cfg".into()),
        ),
        (
            json!({"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "y"}}}]}),
            Err("secret \"s\" not found".into()),
        ),
        (
            json!({"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "y"}}}]}),
            Err("couldn't find key y in Secret shop/creds".into()),
        ),
        (
            json!({"envFrom": [{"secretRef": {"name": "s"}}]}),
            Err("secret \"s\" not found".into()),
        ),
        (
            json!({"env": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.hostname"}}}]}),
            Err("unsupported fieldPath: spec.hostname".into()),
        ),
    ];
    for (i, (container, want)) in table.into_iter().enumerate() {
        let got = env_of(container);
        match (&got, &want) {
            (Ok(env), Ok(want)) => assert_eq!(env, want, "case {i}"),
            (Err(err), Err(want)) => {
                assert_eq!(&err.to_string(), want, "case {i}");
                assert_eq!(err.reason(), "CreateContainerConfigError", "case {i}");
            }
            _ => panic!("case {i}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn command_args_limits_and_ports() {
    let p = pod(json!({"containers": [{
        "name": "app", "image": "registry.local/app:v1",
        "command": ["serve", "--port=$(PORT)"], "args": ["--color", "$(COLOR)", "$(UNSET)"],
        "env": [{"name": "PORT", "value": "8080"}, {"name": "COLOR", "value": "red"}],
        "resources": {"limits": {"memory": "128Mi", "cpu": "1.5"}},
        "ports": [{"containerPort": 8080}, {"containerPort": 9090, "protocol": "UDP"}],
    }, {"name": "bare", "image": "b.wasm", "args": ["x"],
        "resources": {"limits": {"cpu": "1m"}}}]}));
    let plan = plan_pod(&p, &refs(), &facts());
    let app = plan.containers[0].spec.as_ref().unwrap();
    assert_eq!(app.image, "registry.local/app:v1");
    assert_eq!(
        app.args,
        ["serve", "--port=8080", "--color", "red", "$(UNSET)"]
    );
    assert_eq!(
        app.limits,
        Limits {
            memory_bytes: Some(128 << 20),
            cpu_millicores: Some(1500)
        }
    );
    let ports: Vec<u16> = app.ports.iter().map(|p| p.container_port).collect();
    assert_eq!(ports, [8080, 9090]);
    let bare = plan.containers[1].spec.as_ref().unwrap();
    assert_eq!(bare.args, ["x"]);
    assert_eq!(
        bare.limits,
        Limits {
            memory_bytes: None,
            cpu_millicores: Some(1)
        }
    );
    assert_eq!(plan.sandbox.id, "u-1");
    assert_eq!(plan.sandbox.ip.to_string(), "10.244.1.7");
    assert_eq!(plan.sandbox.log_dir, PathBuf::from("/var/skiff/pods/u-1"));
}

mod volumes;
