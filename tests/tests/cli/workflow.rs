//! `skiff run` of a local http-hello .wasm (exposed, waited for, answering through a
//! port-forward), `scale`, `logs -f` seeing a new line arrive, `rollout restart`, `status`
//! and `undo`, and `delete`; each step checked with the real kubectl.

use anyhow::{Context, ensure};
use serde_json::Value;
use skiff_tests::Kubectl;

use crate::support::{Skiff, guest, poll};

pub async fn run_scale_logs_rollout_delete(skiff: &Skiff, kubectl: &Kubectl) -> anyhow::Result<()> {
    run_exposed(skiff, kubectl).await?;
    let out = skiff
        .ok(&["scale", "deployment/hello", "--replicas", "3"])
        .await?;
    ensure!(out.trim() == "deployment.apps/hello scaled", "{out}");
    poll("3 replicas available", || async {
        Ok(json(kubectl, &["deploy", "hello"]).await?["status"]["availableReplicas"] == 3)
    })
    .await?;

    logs_follow(skiff, kubectl).await?;
    rollout(skiff, kubectl).await?;

    let out = skiff.ok(&["delete", "deployment", "hello"]).await?;
    ensure!(out.trim() == "deployment.apps \"hello\" deleted", "{out}");
    let out = skiff
        .ok(&["delete", "svc/hello", "deploy/logger", "service/logger"])
        .await?;
    ensure!(
        out.contains("service \"hello\" deleted")
            && out.contains("deployment.apps \"logger\" deleted"),
        "{out}"
    );
    poll("every pod is gone", || async {
        Ok(kubectl
            .ok(&["get", "pods", "-o", "name"])
            .await?
            .trim()
            .is_empty())
    })
    .await
}

/// `skiff run` of http-hello: a NodePort Service, the URL printed, the image and env as
/// given, and the app answering.
async fn run_exposed(skiff: &Skiff, kubectl: &Kubectl) -> anyhow::Result<()> {
    let hello = guest("http-hello")?;
    let out = skiff
        .ok(&[
            "run",
            "hello",
            "--image",
            &hello,
            "--port",
            "8080",
            "--expose",
            "--replicas",
            "2",
            "--env",
            "GREETING=hi",
            "--wait",
        ])
        .await?;
    ensure!(
        out.contains("deployment.apps/hello serverside-applied"),
        "{out}"
    );
    ensure!(
        out.contains("deployment \"hello\" is available: 2/2 available"),
        "{out}"
    );
    let service = json(kubectl, &["svc", "hello"]).await?;
    let node_port = service["spec"]["ports"][0]["nodePort"]
        .as_u64()
        .context("no nodePort")?;
    ensure!(service["spec"]["type"] == "NodePort", "{service}");
    ensure!(
        out.contains(&format!("reach it at: http://127.0.0.1:{node_port}/")),
        "{out}"
    );
    let deployment = json(kubectl, &["deploy", "hello"]).await?;
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    // The local file went to the built-in registry, tagged by its content.
    let image = container["image"].as_str().unwrap_or_default();
    ensure!(
        image.starts_with("registry.skiff.local/hello:sha-") && out.contains(image),
        "{container}\n{out}"
    );
    ensure!(container["env"][0]["value"] == "hi", "{container}");
    let body = kubectl
        .get_through_port_forward("deployment/hello", 8080, "/from-the-cli")
        .await?;
    ensure!(body.contains("hi /from-the-cli"), "{body}");
    Ok(())
}

/// `skiff run --node-port N` serves on that NodePort of the node's address; `skiff logs -f`
/// of its http-server pod prints the request line that arrives after it started following.
async fn logs_follow(skiff: &Skiff, kubectl: &Kubectl) -> anyhow::Result<()> {
    let server = guest("http-server")?;
    let port = skiff_tests::free_node_port()?;
    let out = skiff
        .ok(&[
            "run",
            "logger",
            "--image",
            &server,
            "--port",
            "8080",
            "--expose",
            "--node-port",
            &port.to_string(),
            "--wait",
        ])
        .await?;
    ensure!(
        out.contains(&format!("reach it at: http://127.0.0.1:{port}/")),
        "{out}"
    );
    let service = json(kubectl, &["svc", "logger"]).await?;
    ensure!(service["spec"]["ports"][0]["nodePort"] == port, "{service}");
    // The node's proxy learns the Service's endpoints a moment after Available.
    poll("the chosen NodePort answers", || async {
        Ok(
            skiff_tests::http_get(([127, 0, 0, 1], port).into(), "/by-node-port")
                .await
                .is_ok_and(|a| a.contains("hello from http-server /by-node-port")),
        )
    })
    .await?;
    let mut follow = skiff.spawn(&["logs", "-f", "deployment/logger"])?;
    follow.line_matching(|l| l.contains("listening on")).await?;
    kubectl
        .get_through_port_forward("svc/logger", 8080, "/a-new-line")
        .await?;
    let line = follow.line_matching(|l| l.contains("/a-new-line")).await?;
    ensure!(line.contains("GET /a-new-line"), "{line}");
    let tail = skiff
        .ok(&["logs", "deployment/logger", "--tail", "1"])
        .await?;
    ensure!(
        tail.lines().count() == 1 && tail.contains("GET /a-new-line"),
        "{tail}"
    );
    Ok(())
}

/// restart makes revision 2 with the restartedAt stamp; undo brings revision 1's template
/// back (no stamp); status waits for each.
async fn rollout(skiff: &Skiff, kubectl: &Kubectl) -> anyhow::Result<()> {
    let stamp = |d: &Value| {
        d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .clone()
    };
    let out = skiff
        .ok(&["rollout", "restart", "deployment/hello"])
        .await?;
    ensure!(out.trim() == "deployment.apps/hello restarted", "{out}");
    ensure!(
        stamp(&json(kubectl, &["deploy", "hello"]).await?).is_string(),
        "no restartedAt"
    );
    let out = skiff
        .ok(&["rollout", "status", "deployment/hello", "--timeout", "90"])
        .await?;
    ensure!(
        out.trim_end()
            .ends_with("deployment \"hello\" successfully rolled out"),
        "{out}"
    );
    let sets = json(kubectl, &["rs", "-l", "app=hello"]).await?;
    ensure!(sets["items"].as_array().map(Vec::len) == Some(2), "{sets}");

    let out = skiff.ok(&["rollout", "undo", "deployment/hello"]).await?;
    ensure!(out.trim() == "deployment.apps/hello rolled back", "{out}");
    ensure!(
        stamp(&json(kubectl, &["deploy", "hello"]).await?).is_null(),
        "the stamp stayed"
    );
    let out = skiff
        .ok(&["rollout", "status", "deployment/hello", "--timeout", "90"])
        .await?;
    ensure!(out.contains("successfully rolled out"), "{out}");
    poll("3 pods of the first template ready", || async {
        let d = json(kubectl, &["deploy", "hello"]).await?;
        Ok(d["status"]["updatedReplicas"] == 3
            && d["status"]["availableReplicas"] == 3
            && d["status"]["replicas"] == 3)
    })
    .await
}

/// `kubectl get <args> -o json`, parsed.
pub async fn json(kubectl: &Kubectl, args: &[&str]) -> anyhow::Result<Value> {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend(["-o", "json"]);
    Ok(serde_json::from_str(&kubectl.ok(&all).await?)?)
}
