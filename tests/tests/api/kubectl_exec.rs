//! `kubectl exec`, `attach` and `port-forward` against a Wasm pod: kubectl 1.33 tries a
//! WebSocket upgrade, then SPDY; skiff refuses exec and attach before upgrading with a 400
//! Status (as kube-apiserver refuses an exec into a missing container), and kubectl prints
//! its message verbatim and exits non-zero. port-forward works (tests/tests/agent), but not to
//! a pod bound to no node, which is refused before the upgrade in kube-apiserver's words. A
//! pod that does not exist is 404 NotFound, from kubectl's own read of the pod and from the
//! subresource itself.

use std::time::Duration;

use anyhow::ensure;
use http::Method;
use serde_json::json;
use skiff_tests::{ApiClient, Kubectl, run_bounded};

use crate::manifests::one_replica;

#[test]
fn kubectl_exec_attach_and_port_forward_are_refused_clearly() {
    run_bounded(
        "kubectl_exec_attach_and_port_forward_are_refused_clearly",
        Duration::from_secs(90),
        scenario(),
    );
}

const EXEC: &str = "cannot exec into pod \"app\": Wasm containers have no shell and no other programs to run; skiff does not support exec";
const ATTACH: &str = "cannot attach to pod \"app\": Wasm containers have no shell or terminal to attach to; skiff does not support attach";
const PORT_FORWARD: &str = "pod app does not have a host assigned";

async fn scenario() -> anyhow::Result<()> {
    let replica = one_replica("kubectl-exec").await?;
    let admin = ApiClient::admin(&replica)?;
    let kubectl = Kubectl::for_replica(&replica)?;
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app"},
        "spec": {"containers": [{"name": "app", "image": "app.wasm", "ports": [{"containerPort": 8080}]}]}
    });
    admin
        .json(Method::POST, "/api/v1/namespaces/default/pods", &pod)
        .await?
        .ok()?;
    // kubectl port-forward refuses a pod that is not Running before it asks the server.
    let running = json!({"status": {"phase": "Running"}});
    admin
        .merge_patch("/api/v1/namespaces/default/pods/app/status", &running)
        .await?
        .ok()?;

    let cases: [(&[&str], String); 4] = [
        (
            &["exec", "app", "--", "sh"],
            format!("Error from server (BadRequest): {EXEC}"),
        ),
        (
            &["exec", "-i", "app", "--", "sh", "-c", "ls"],
            format!("Error from server (BadRequest): {EXEC}"),
        ),
        (
            &["attach", "app"],
            format!("Error from server (BadRequest): {ATTACH}"),
        ),
        (
            &["port-forward", "pod/app", "0:8080"],
            format!("error: error upgrading connection: {PORT_FORWARD}"),
        ),
    ];
    for (args, want) in cases {
        let err = kubectl.fails(args, "").await?;
        ensure!(
            err.lines().any(|l| l == want),
            "kubectl {args:?}: no line {want:?} in:\n{err}"
        );
    }

    let err = kubectl.fails(&["exec", "ghost", "--", "sh"], "").await?;
    ensure!(
        err.trim() == "Error from server (NotFound): pods \"ghost\" not found",
        "{err}"
    );
    for (method, sub) in [
        (Method::GET, "exec?command=sh&stdout=true"),
        (Method::POST, "attach?stdout=true"),
        (Method::GET, "portforward?ports=8080"),
    ] {
        let path = format!("/api/v1/namespaces/default/pods/ghost/{sub}");
        let answer = admin.send(method, &path, "application/json", "").await?;
        let message = answer.expect_status(404, "NotFound")?;
        ensure!(message == "pods \"ghost\" not found", "{sub}: {message}");
    }
    let answer = admin
        .get("/api/v1/namespaces/default/pods/app/exec?command=sh&stdout=true")
        .await?;
    ensure!(
        answer.expect_status(400, "BadRequest")? == EXEC,
        "{answer:?}"
    );
    Ok(())
}
