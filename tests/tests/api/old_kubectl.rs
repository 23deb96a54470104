//! kubectl 1.20 (Debian 12's `kubernetes-client`, extracted into /opt/kubectl-1.20 by
//! scripts/setup.sh): it validates manifests itself against `/openapi/v2`, which it asks for
//! only as protobuf, and computes `apply`'s strategic merge patches from that document.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::Value;
use skiff_tests::{Kubectl, run_bounded};

use crate::manifests::{deployment_yaml, one_replica};

/// Where scripts/setup.sh puts Debian's kubectl 1.20.
const KUBECTL_1_20: &str = "/opt/kubectl-1.20/kubectl";

#[test]
fn kubectl_1_20_validates_and_applies() {
    run_bounded(
        "kubectl_1_20_validates_and_applies",
        Duration::from_secs(120),
        async {
            ensure!(
                Path::new(KUBECTL_1_20).exists(),
                "{KUBECTL_1_20} is missing: run scripts/setup.sh"
            );
            let replica = one_replica("kubectl-1-20").await?;
            let kubectl = Kubectl::for_replica(&replica)?.with_program(KUBECTL_1_20);
            apply(&kubectl).await?;
            validation(&kubectl).await?;
            let out = kubectl
                .ok(&[
                    "create",
                    "deployment",
                    "typed",
                    "--image=registry.local/typed.wasm",
                ])
                .await?;
            ensure!(out.trim() == "deployment.apps/typed created", "{out:?}");
            let out = kubectl.ok(&["get", "deployments"]).await?;
            ensure!(
                out.lines().count() == 3 && out.contains("typed") && out.contains("web"),
                "{out}"
            );
            Ok(())
        },
    );
}

async fn containers(kubectl: &Kubectl) -> anyhow::Result<Vec<(String, String)>> {
    let out = kubectl
        .ok(&["get", "deployment", "web", "-o", "json"])
        .await?;
    let web: Value = serde_json::from_str(&out).context(out)?;
    let list = web["spec"]["template"]["spec"]["containers"]
        .as_array()
        .context("containers")?;
    Ok(list
        .iter()
        .map(|c| {
            let field = |f: &str| c[f].as_str().unwrap_or_default().to_owned();
            (field("name"), field("image"))
        })
        .collect())
}

/// Create, then change one container's image and drop the other: the patch kubectl 1.20
/// computes from `/openapi/v2` merges containers by name and deletes the dropped one.
async fn apply(kubectl: &Kubectl) -> anyhow::Result<()> {
    let first = deployment_yaml("web", 1, "app-v1.wasm");
    let out = kubectl.ok_stdin(&["apply", "-f", "-"], &first).await?;
    ensure!(out.trim() == "deployment.apps/web created", "{out:?}");
    let second = first.replace("app-v1.wasm", "app-v2.wasm");
    let side = second
        .find("      - name: side")
        .context("side container")?;
    let second = &second[..side];
    let out = kubectl.ok_stdin(&["apply", "-f", "-"], second).await?;
    ensure!(out.trim() == "deployment.apps/web configured", "{out:?}");
    let now = containers(kubectl).await?;
    ensure!(
        now == [("app".to_owned(), "app-v2.wasm".to_owned())],
        "{now:?}"
    );
    Ok(())
}

/// kubectl 1.20 refuses an unknown field itself, naming the schema it read.
async fn validation(kubectl: &Kubectl) -> anyhow::Result<()> {
    let bad = deployment_yaml("bad", 1, "x.wasm").replace("  replicas: 1", "  replicaz: 1");
    let err = kubectl.fails(&["apply", "-f", "-"], &bad).await?;
    ensure!(
        err.contains(r#"unknown field "replicaz" in io.k8s.api.apps.v1.DeploymentSpec"#),
        "{err}"
    );
    Ok(())
}
