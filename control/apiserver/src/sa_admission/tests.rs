//! ServiceAccount admission by table: who gets the projected token volume, and where.

use serde_json::{Value, json};

use super::{MOUNT_PATH, account_name, api_access_volume, mount_token};

fn pod(spec: Value) -> Value {
    json!({ "metadata": { "name": "p", "namespace": "ns" }, "spec": spec })
}

fn mounts_of(pod: &Value, list: &str) -> Vec<Value> {
    pod["spec"][list]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["volumeMounts"].clone())
        .collect()
}

#[test]
fn defaults_the_account_to_default() {
    let mut p = pod(json!({ "containers": [ { "name": "a" } ] }));
    assert_eq!(account_name(&mut p), "default");
    assert_eq!(p["spec"]["serviceAccountName"], "default");
    let mut p = pod(json!({ "serviceAccountName": "robot", "containers": [] }));
    assert_eq!(account_name(&mut p), "robot");
}

#[test]
fn who_gets_the_volume() {
    let yes = json!({});
    let no = json!({ "automountServiceAccountToken": false });
    let cases = [
        // (pod's automount, account, mounted)
        (None, &yes, true),
        (None, &no, false),
        (Some(true), &no, true),
        (Some(false), &yes, false),
    ];
    for (pod_says, account, mounted) in cases {
        let mut spec = json!({ "containers": [ { "name": "a" } ] });
        if let Some(b) = pod_says {
            spec["automountServiceAccountToken"] = json!(b);
        }
        let mut p = pod(spec);
        mount_token(&mut p, account, "kube-api-access-abcde");
        let has_volume = p["spec"]["volumes"]
            .as_array()
            .is_some_and(|v| v.contains(&api_access_volume("kube-api-access-abcde")));
        assert_eq!(has_volume, mounted, "pod {pod_says:?}, account {account}");
    }
}

#[test]
fn mounts_in_every_container_without_its_own_mount_there() {
    let own = json!({ "name": "mine", "mountPath": MOUNT_PATH });
    let mut p = pod(json!({
        "initContainers": [ { "name": "i" } ],
        "containers": [
            { "name": "a", "volumeMounts": [ { "name": "data", "mountPath": "/data" } ] },
            { "name": "b", "volumeMounts": [ own.clone() ] }
        ],
        "volumes": [ { "name": "data", "emptyDir": {} } ]
    }));
    mount_token(&mut p, &json!({}), "kube-api-access-xyz12");
    let token =
        json!({ "name": "kube-api-access-xyz12", "readOnly": true, "mountPath": MOUNT_PATH });
    assert_eq!(
        mounts_of(&p, "initContainers"),
        vec![json!([token.clone()])]
    );
    assert_eq!(
        mounts_of(&p, "containers"),
        vec![
            json!([ { "name": "data", "mountPath": "/data" }, token ]),
            json!([own])
        ]
    );
    let volumes = p["spec"]["volumes"].as_array().cloned().unwrap_or_default();
    assert_eq!(volumes.len(), 2);
    let sources = &volumes[1]["projected"]["sources"];
    assert_eq!(sources[0]["serviceAccountToken"]["expirationSeconds"], 3607);
    assert_eq!(sources[1]["configMap"]["name"], "kube-root-ca.crt");
    assert_eq!(sources[2]["downwardAPI"]["items"][0]["path"], "namespace");
}

#[test]
fn a_pod_whose_containers_all_mount_their_own_gets_no_volume() {
    let own = json!({ "name": "mine", "mountPath": MOUNT_PATH });
    let mut p = pod(json!({ "containers": [ { "name": "a", "volumeMounts": [ own ] } ] }));
    mount_token(&mut p, &json!({}), "kube-api-access-xyz12");
    assert!(p["spec"]["volumes"].is_null(), "{p}");
}
