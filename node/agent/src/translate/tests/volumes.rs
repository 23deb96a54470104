//! Volumes to directories, files and mounts, and the errors that hold a pod.

use super::*;

#[test]
fn volumes_become_directories_and_files() {
    let p = pod(json!({
    "containers": [{"name": "app", "image": "a.wasm", "resources": {"limits": {"memory": "32Mi"}},
        "volumeMounts": [{"name": "config", "mountPath": "/config"},
                         {"name": "creds", "mountPath": "/creds"},
                         {"name": "scratch", "mountPath": "/data"},
                         {"name": "info", "mountPath": "/etc/podinfo"},
                         {"name": "cache", "mountPath": "/cache"}]}],
    "volumes": [
        {"name": "config", "configMap": {"name": "cfg", "items": [{"key": "app.conf", "path": "conf/app.conf"}]}},
        {"name": "creds", "secret": {"secretName": "creds"}},
        {"name": "scratch", "emptyDir": {}},
        {"name": "info", "downwardAPI": {"items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
            {"path": "mem", "resourceFieldRef": {"containerName": "app", "resource": "limits.memory", "divisor": "1Mi"}}]}},
        {"name": "cache", "emptyDir": {"medium": "Memory"}},
    ]}));
    let plan = plan_pod(&p, &refs(), &facts());
    let files = plan.volumes.unwrap();
    // API-sourced and Memory volumes in the memory root; a default emptyDir on disk.
    let root = PathBuf::from("/dev/shm/skiff-edge-1-0123abcd/u-1");
    let disk = PathBuf::from("/var/skiff/pods/u-1/volumes");
    let dirs = [
        root.join("config"),
        root.join("creds"),
        disk.join("scratch"),
        root.join("info"),
        root.join("cache"),
    ];
    assert_eq!(files.dirs, dirs);
    let written: Vec<(PathBuf, String)> = files
        .files
        .iter()
        .map(|f| {
            (
                f.path.clone(),
                String::from_utf8_lossy(&f.contents).into_owned(),
            )
        })
        .collect();
    let want = [
        ("config/conf/app.conf", "color=blue\n"),
        ("creds/PASSWORD", "hunter2"),
        ("info/labels", "app=\"web\"\ntier=\"front\""),
        ("info/name", "web"),
        ("info/mem", "32"),
    ]
    .map(|(p, c)| (root.join(p), c.to_owned()));
    assert_eq!(written, want);
    let mounts: Vec<(PathBuf, String, bool)> = plan.containers[0]
        .spec
        .as_ref()
        .unwrap()
        .volumes
        .iter()
        .map(|m| (m.host_path.clone(), m.guest_path.clone(), m.read_only))
        .collect();
    let want = [
        ("/config", true),
        ("/creds", true),
        ("/data", false),
        ("/etc/podinfo", true),
        ("/cache", false),
    ];
    let want: Vec<(PathBuf, String, bool)> = dirs
        .into_iter()
        .zip(want)
        .map(|(dir, (p, ro))| (dir, p.to_owned(), ro))
        .collect();
    assert_eq!(mounts, want);
}

#[test]
fn volume_and_unsupported_errors() {
    let volumes = |v: Value| {
        plan_pod(
            &pod(json!({"containers": [{"name": "app"}], "volumes": [v]})),
            &refs(),
            &facts(),
        )
        .volumes
    };
    let table: Vec<(Value, &str, &str)> = vec![
        (
            json!({"name": "v", "configMap": {"name": "x"}}),
            "configmap \"x\" not found",
            CONFIG_ERROR_REASON,
        ),
        (
            json!({"name": "v", "secret": {"secretName": "x"}}),
            "secret \"x\" not found",
            CONFIG_ERROR_REASON,
        ),
        (
            json!({"name": "v", "configMap": {"name": "cfg", "items": [{"key": "k", "path": "k"}]}}),
            "couldn't find key k in ConfigMap shop/cfg",
            CONFIG_ERROR_REASON,
        ),
        (
            json!({"name": "v", "configMap": {"name": "cfg", "items": [{"key": "COLOR", "path": "../x"}]}}),
            "volume v: item path \"../x\" must be relative and stay inside the volume",
            CREATE_ERROR_REASON,
        ),
        (
            json!({"name": "v", "hostPath": {"path": "/etc"}}),
            "volume v: Wasm pods support configMap, secret, emptyDir, downwardAPI and projected volumes",
            CREATE_ERROR_REASON,
        ),
    ];
    for (volume, message, reason) in table {
        let err = volumes(volume).unwrap_err();
        assert_eq!((err.to_string().as_str(), err.reason()), (message, reason));
    }
    assert_eq!(
        volumes(json!({"name": "v", "configMap": {"name": "x", "optional": true}}))
            .unwrap()
            .files,
        []
    );

    let p = pod(json!({"containers": [{"name": "app",
        "livenessProbe": {"exec": {"command": ["true"]}},
        "readinessProbe": {"httpGet": {"port": 80}},
        "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}]}));
    let plan = plan_pod(&p, &refs(), &facts());
    let c = &plan.containers[0];
    assert_eq!(
        c.spec.as_ref().unwrap_err().to_string(),
        "container app: volumeMount nope names no volume of the pod"
    );
    assert_eq!(
        c.skipped_probes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "container app: the liveness probe uses exec, and Wasm containers have no exec (use httpGet or tcpSocket)"
        ]
    );
}

#[test]
fn a_projected_volume_merges_its_sources_and_waits_for_its_token() {
    let p = pod(json!({
    "serviceAccountName": "robot",
    "containers": [{"name": "app", "image": "a.wasm",
        "volumeMounts": [{"name": "kube-api-access-x", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]}],
    "volumes": [{"name": "kube-api-access-x", "projected": {"sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
        {"configMap": {"name": "cfg", "items": [{"key": "app.conf", "path": "ca.crt"}]}},
        {"secret": {"name": "creds"}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}
    ]}}]}));
    let waiting = plan_pod(&p, &refs(), &facts()).volumes;
    assert_eq!(
        waiting.map(|_| ()),
        Err(PlanError::Config(ConfigError::TokenNotIssued {
            account: "robot".into()
        }))
    );
    let mut with_token = refs();
    let issued = crate::translate::IssuedToken {
        token: "jwt".into(),
        refresh_at: tokio::time::Instant::now(),
    };
    with_token
        .tokens
        .insert(crate::translate::token_key(None, Some(3607)), issued);
    let files = plan_pod(&p, &with_token, &facts()).volumes.unwrap();
    let root = PathBuf::from("/dev/shm/skiff-edge-1-0123abcd/u-1/kube-api-access-x");
    let written: Vec<(PathBuf, String)> = files
        .files
        .iter()
        .map(|f| {
            (
                f.path.clone(),
                String::from_utf8_lossy(&f.contents).into_owned(),
            )
        })
        .collect();
    let namespace = facts().namespace;
    let want = [
        ("token", "jwt".to_owned()),
        ("ca.crt", "color=blue\n".to_owned()),
        ("PASSWORD", "hunter2".to_owned()),
        ("namespace", namespace),
    ]
    .map(|(p, c)| (root.join(p), c));
    assert_eq!(written, want);
    let read_only = plan_pod(&p, &with_token, &facts()).containers[0]
        .spec
        .as_ref()
        .unwrap()
        .volumes[0]
        .read_only;
    assert!(read_only);
}

/// Without a tmpfs root the memory volumes directory is the pod's `volumes/`: today's layout.
#[test]
fn without_a_memory_root_every_volume_is_under_the_pod_dir() {
    let p = pod(json!({"containers": [{"name": "app"}], "volumes": [
        {"name": "creds", "secret": {"secretName": "creds"}},
        {"name": "scratch", "emptyDir": {}}]}));
    let mut on_disk = facts();
    on_disk.memory_volumes_dir = disk_volumes_dir(&on_disk.pod_dir);
    let files = plan_pod(&p, &refs(), &on_disk).volumes.unwrap();
    let disk = PathBuf::from("/var/skiff/pods/u-1/volumes");
    assert_eq!(files.dirs, [disk.join("creds"), disk.join("scratch")]);
    assert_eq!(files.files[0].path, disk.join("creds/PASSWORD"));
}
