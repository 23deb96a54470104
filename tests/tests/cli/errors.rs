//! Failures read as kubectl's do, with exit code 1: a missing object (the same line kubectl
//! prints), an unknown type, an invalid object (422), a manifest that does not parse or lacks
//! its kind (nothing of it applied), and a file that is not WebAssembly (nothing created).

use anyhow::ensure;
use skiff_tests::Kubectl;

use crate::support::Skiff;

pub async fn read_as_kubectl(skiff: &Skiff, kubectl: &Kubectl) -> anyhow::Result<()> {
    for args in [
        &["get", "deployment", "nope"][..],
        &["get", "pods", "nope"],
        &["delete", "deployment", "nope"],
        &["get", "widgets"],
        &["describe", "svc", "nope"],
    ] {
        let ours = skiff.fails(args, "").await?;
        let theirs = kubectl.fails(args, "").await?;
        ensure!(
            ours == theirs,
            "skiff {args:?} printed {ours:?}, kubectl {theirs:?}"
        );
    }
    let scale = skiff
        .fails(&["scale", "deploy/nope", "--replicas", "2"], "")
        .await?;
    ensure!(
        scale == "Error from server (NotFound): deployments.apps \"nope\" not found\n",
        "{scale:?}"
    );

    bad_manifests(skiff, kubectl).await
}

/// A 422, a broken or kindless manifest (nothing of it applied), a text file as image.
async fn bad_manifests(skiff: &Skiff, kubectl: &Kubectl) -> anyhow::Result<()> {
    let invalid = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\nspec:\n  replicas: -1\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: x, image: y}]}}\n";
    let refused = skiff.fails(&["apply", "-f", "-"], invalid).await?;
    ensure!(
        refused.contains("\"bad\" is invalid") && refused.contains("spec.replicas"),
        "{refused}"
    );

    // A good document before a broken one: nothing is applied.
    let broken = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\nkind: [\n";
    let refused = skiff.fails(&["apply", "-f", "-"], broken).await?;
    ensure!(
        refused.starts_with("error: error parsing STDIN: document 2:"),
        "{refused}"
    );
    let kindless = "apiVersion: v1\nmetadata: {name: first}\n";
    let refused = skiff.fails(&["apply", "-f", "-"], kindless).await?;
    ensure!(refused.contains("[kind not set]"), "{refused}");
    ensure!(
        kubectl
            .fails(&["get", "cm", "first"], "")
            .await?
            .contains("NotFound"),
        "first was applied"
    );

    let text = skiff_tests::scratch_dir("cli-notwasm")?.join("app.wasm");
    std::fs::write(&text, "this is text")?;
    let refused = skiff
        .fails(
            &["run", "notwasm", "--image", &text.display().to_string()],
            "",
        )
        .await?;
    ensure!(refused.contains("is not a WebAssembly binary"), "{refused}");
    ensure!(
        kubectl
            .fails(&["get", "deploy", "notwasm"], "")
            .await?
            .contains("NotFound"),
        "notwasm was created"
    );
    Ok(())
}
