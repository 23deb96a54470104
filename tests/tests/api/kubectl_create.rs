//! `kubectl create <kind>`: kubectl's typed clients send protobuf and ask for it back, so each
//! of these commands is a protobuf create (and, for `--from=cronjob/...`, a protobuf read);
//! the objects are then read back as JSON to show what was stored. A name taken twice shows
//! the protobuf Status error as kubectl prints it.

use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::Value;
use skiff_tests::{Kubectl, run_bounded};

use crate::manifests::one_replica;

#[test]
fn kubectl_create_kinds() {
    run_bounded("kubectl_create_kinds", Duration::from_secs(150), async {
        let replica = one_replica("kubectl-create").await?;
        let kubectl = Kubectl::for_replica(&replica)?;
        creates(&kubectl).await?;
        stored(&kubectl).await?;
        refused(&kubectl).await
    });
}

/// Each command and the one line kubectl prints for it.
async fn creates(kubectl: &Kubectl) -> anyhow::Result<()> {
    let commands: &[(&[&str], &str)] = &[
        (&["create", "namespace", "dev"], "namespace/dev created"),
        (
            &[
                "create",
                "deployment",
                "hello",
                "--image=registry.local/hello.wasm:1",
                "--replicas=0",
                "--port=8080",
            ],
            "deployment.apps/hello created",
        ),
        (
            &[
                "create",
                "configmap",
                "settings",
                "--from-literal=mode=prod",
                "--from-literal=empty=",
            ],
            "configmap/settings created",
        ),
        (
            &[
                "create",
                "secret",
                "generic",
                "password",
                "--from-literal=password=hunter2",
            ],
            "secret/password created",
        ),
        (
            &["create", "job", "once", "--image=registry.local/job.wasm"],
            "job.batch/once created",
        ),
        (
            &[
                "create",
                "cronjob",
                "tick",
                "--image=registry.local/job.wasm",
                "--schedule=*/5 * * * *",
            ],
            "cronjob.batch/tick created",
        ),
        (
            &["create", "job", "manual", "--from=cronjob/tick"],
            "job.batch/manual created",
        ),
        (
            &["create", "service", "clusterip", "web", "--tcp=80:8080"],
            "service/web created",
        ),
        // A second: the unset node port a protobuf client sends as 0 is not an allocation.
        (
            &["create", "service", "clusterip", "api", "--tcp=81"],
            "service/api created",
        ),
        (
            &["create", "serviceaccount", "bot", "-n", "dev"],
            "serviceaccount/bot created",
        ),
        (
            &[
                "create",
                "role",
                "reader",
                "-n",
                "dev",
                "--verb=get,list",
                "--resource=pods,configmaps",
            ],
            "role.rbac.authorization.k8s.io/reader created",
        ),
        (
            &[
                "create",
                "rolebinding",
                "bot-reads",
                "-n",
                "dev",
                "--role=reader",
                "--serviceaccount=dev:bot",
            ],
            "rolebinding.rbac.authorization.k8s.io/bot-reads created",
        ),
    ];
    for (args, want) in commands {
        let out = kubectl.run(args, "").await?;
        ensure!(
            out.success && out.stdout.trim() == *want,
            "kubectl {args:?}: exit {}, stdout {:?}, stderr {:?}",
            out.success,
            out.stdout,
            out.stderr
        );
    }
    Ok(())
}

async fn get(kubectl: &Kubectl, args: &[&str]) -> anyhow::Result<Value> {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let out = kubectl.ok(&all).await?;
    serde_json::from_str(&out).context(out)
}

/// What the protobuf bodies stored: a zero replica count stays zero, bytes stay base64, an
/// empty ConfigMap value stays, the job made from the cron job carries its template.
async fn stored(kubectl: &Kubectl) -> anyhow::Result<()> {
    let hello = get(kubectl, &["deployment", "hello"]).await?;
    let container = &hello["spec"]["template"]["spec"]["containers"][0];
    ensure!(
        hello["spec"]["replicas"] == 0
            && container["image"] == "registry.local/hello.wasm:1"
            && container["ports"][0]["containerPort"] == 8080
            && hello["spec"]["selector"]["matchLabels"]["app"] == "hello",
        "{hello:#}"
    );
    let settings = get(kubectl, &["configmap", "settings"]).await?;
    ensure!(
        settings["data"] == serde_json::json!({"mode": "prod", "empty": ""}),
        "{settings:#}"
    );
    let password = get(kubectl, &["secret", "password"]).await?;
    ensure!(
        password["data"]["password"] == "aHVudGVyMg==",
        "{password:#}"
    );
    let tick = get(kubectl, &["cronjob", "tick"]).await?;
    ensure!(tick["spec"]["schedule"] == "*/5 * * * *", "{tick:#}");
    let manual = get(kubectl, &["job", "manual"]).await?;
    ensure!(
        manual["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.local/job.wasm"
            && manual["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual",
        "{manual:#}"
    );
    let web = get(kubectl, &["service", "web"]).await?;
    ensure!(
        web["spec"]["ports"][0]["port"] == 80 && web["spec"]["ports"][0]["targetPort"] == 8080,
        "{web:#}"
    );
    let api = get(kubectl, &["service", "api"]).await?;
    ensure!(api["spec"]["ports"][0]["targetPort"] == 81, "{api:#}");
    let bot = get(kubectl, &["serviceaccount", "bot", "-n", "dev"]).await?;
    ensure!(bot["metadata"]["namespace"] == "dev", "{bot:#}");
    let reader = get(kubectl, &["role", "reader", "-n", "dev"]).await?;
    ensure!(
        reader["rules"][0]["verbs"] == serde_json::json!(["get", "list"])
            && reader["rules"][0]["resources"] == serde_json::json!(["pods", "configmaps"]),
        "{reader:#}"
    );
    let binding = get(kubectl, &["rolebinding", "bot-reads", "-n", "dev"]).await?;
    ensure!(
        binding["roleRef"]["name"] == "reader"
            && binding["subjects"][0]["kind"] == "ServiceAccount"
            && binding["subjects"][0]["name"] == "bot",
        "{binding:#}"
    );
    Ok(())
}

/// A second `create` of a name gets kube-apiserver's AlreadyExists, sent as a protobuf
/// Status, and kubectl prints it and exits 1.
async fn refused(kubectl: &Kubectl) -> anyhow::Result<()> {
    let out = kubectl.run(&["create", "namespace", "dev"], "").await?;
    ensure!(!out.success, "second create succeeded: {}", out.stdout);
    ensure!(
        out.stderr.trim()
            == r#"Error from server (AlreadyExists): namespaces "dev" already exists"#,
        "{:?}",
        out.stderr
    );
    let out = kubectl
        .run(&["create", "deployment", "hello", "--image=x.wasm"], "")
        .await?;
    ensure!(
        !out.success
            && out.stderr.trim()
                == r#"error: failed to create deployment: deployments.apps "hello" already exists"#,
        "{:?}",
        out.stderr
    );
    Ok(())
}
