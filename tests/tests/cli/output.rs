//! What `skiff get` prints (`-o yaml` that `kubectl apply -f` takes back, `-A` with its
//! NAMESPACE column, `-o wide`, `-o name`, several types) and `skiff apply` of a folder,
//! several documents and stdin, with a field-manager conflict and `--force-conflicts`.

use anyhow::ensure;
use skiff_tests::Kubectl;

use crate::NODE;
use crate::support::{Skiff, guest, poll};
use crate::workflow::json;

pub async fn formats_round_trip(skiff: &Skiff, kubectl: &Kubectl) -> anyhow::Result<()> {
    let server = guest("http-server")?;
    skiff
        .ok(&[
            "run",
            "web",
            "--image",
            &server,
            "--port",
            "8080",
            "--replicas",
            "2",
            "--wait",
        ])
        .await?;
    yaml_json_and_names(skiff, kubectl).await?;
    tables(skiff, kubectl).await?;
    describes(skiff).await?;
    skiff.ok(&["delete", "deploy", "web"]).await?;
    Ok(())
}

/// `-o yaml` that kubectl applies back, lists as `v1 List`, `-o json` and `-o name`.
async fn yaml_json_and_names(skiff: &Skiff, kubectl: &Kubectl) -> anyhow::Result<()> {
    let yaml = skiff
        .ok(&["get", "deployment", "web", "-o", "yaml"])
        .await?;
    ensure!(
        yaml.starts_with("apiVersion: apps/v1\n") && yaml.contains("kind: Deployment"),
        "{yaml}"
    );
    let applied = kubectl.ok_stdin(&["apply", "-f", "-"], &yaml).await?;
    ensure!(applied.contains("deployment.apps/web"), "{applied}");
    let list = skiff
        .ok(&["get", "pods", "-l", "app=web", "-o", "yaml"])
        .await?;
    ensure!(
        list.contains("kind: List") && list.matches("kind: Pod").count() == 2,
        "{list}"
    );
    let listed: serde_json::Value =
        serde_json::from_str(&skiff.ok(&["get", "deploy", "-o", "json"]).await?)?;
    ensure!(listed["items"][0]["kind"] == "Deployment", "{listed}");

    let names = skiff.ok(&["get", "deploy", "-o", "name"]).await?;
    ensure!(names == "deployment.apps/web\n", "{names:?}");
    let pods = skiff
        .ok(&["get", "po", "-l", "app=web", "-o", "name"])
        .await?;
    ensure!(
        pods.lines().count() == 2 && pods.lines().all(|l| l.starts_with("pod/web-")),
        "{pods}"
    );
    Ok(())
}

/// Tables: `-o wide`, `-A`, the same header as kubectl, several types.
async fn tables(skiff: &Skiff, kubectl: &Kubectl) -> anyhow::Result<()> {
    let wide = skiff.ok(&["get", "pods", "-o", "wide"]).await?;
    let header: Vec<&str> = wide
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    ensure!(
        header.starts_with(&["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]),
        "{wide}"
    );
    ensure!(
        wide.lines()
            .skip(1)
            .all(|l| l.contains(NODE) && l.contains("10.244.")),
        "{wide}"
    );
    let narrow = skiff.ok(&["get", "pods"]).await?;
    ensure!(
        !narrow.contains(NODE) && narrow.starts_with("NAME "),
        "{narrow}"
    );

    let nodes = skiff.ok(&["get", "nodes", "-A"]).await?;
    ensure!(
        nodes.starts_with("NAME ") && nodes.contains(NODE),
        "cluster-scoped: {nodes}"
    );
    let all = skiff.ok(&["get", "services", "-A"]).await?;
    ensure!(all.starts_with("NAMESPACE "), "{all}");
    ensure!(
        all.lines()
            .any(|l| l.split_whitespace().take(2).eq(["default", "kubernetes"])),
        "{all}"
    );
    let same_as_kubectl = kubectl.ok(&["get", "deployments"]).await?;
    let ours = skiff.ok(&["get", "deployments"]).await?;
    ensure!(
        header_of(&ours) == header_of(&same_as_kubectl),
        "{ours} vs {same_as_kubectl}"
    );
    let both = skiff.ok(&["get", "deploy,svc"]).await?;
    ensure!(
        both.contains("\n\nNAME ") && both.contains("web ") && both.contains("kubernetes "),
        "{both}"
    );
    Ok(())
}

/// describe: a Deployment, a Pod with its events, a Node, and the fallback layout.
async fn describes(skiff: &Skiff) -> anyhow::Result<()> {
    let pods = skiff
        .ok(&["get", "po", "-l", "app=web", "-o", "name"])
        .await?;
    let described = skiff.ok(&["describe", "deployment", "web"]).await?;
    ensure!(
        described.contains("2 desired | 2 updated | 2 total | 2 available"),
        "{described}"
    );
    let pod = pods
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("pod/")
        .to_owned();
    let described = skiff.ok(&["describe", "pod", &pod]).await?;
    let node_line = described.lines().find(|l| l.starts_with("Node:"));
    ensure!(node_line.is_some_and(|l| l.ends_with(NODE)), "{described}");
    ensure!(
        described.contains("Started") && described.contains("Events:"),
        "{described}"
    );
    let node = skiff.ok(&["describe", "node", NODE]).await?;
    ensure!(
        node.contains("Addresses:") && node.contains("InternalIP:"),
        "{node}"
    );
    let fallback = skiff.ok(&["describe", "namespace", "default"]).await?;
    ensure!(
        fallback.starts_with("Name:") && fallback.contains("phase: Active"),
        "{fallback}"
    );
    Ok(())
}

fn header_of(table: &str) -> Vec<String> {
    table
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

pub async fn apply_folders_and_conflicts(skiff: &Skiff, kubectl: &Kubectl) -> anyhow::Result<()> {
    let dir = skiff_tests::scratch_dir("cli-manifests")?;
    std::fs::write(
        dir.join("a.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\ndata:\n  k: a\n---\n# a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two\ndata:\n  k: b\n",
    )?;
    std::fs::write(
        dir.join("b.json"),
        r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "three"}, "data": {"k": "c"}}"#,
    )?;
    std::fs::write(dir.join("notes.txt"), "not a manifest")?;
    let dir_arg = dir.display().to_string();
    let out = skiff.ok(&["apply", "-f", &dir_arg]).await?;
    let want = "configmap/one serverside-applied\nconfigmap/two serverside-applied\nconfigmap/three serverside-applied\n";
    ensure!(out == want, "{out:?}");
    let three = json(kubectl, &["cm", "three", "--show-managed-fields"]).await?;
    ensure!(
        three["metadata"]["managedFields"][0]["manager"] == "skiff",
        "{three}"
    );

    // Another manager takes .data.k of `one`: skiff's apply conflicts, then forces.
    let theirs = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\ndata:\n  k: theirs\n";
    kubectl
        .ok_stdin(
            &[
                "apply",
                "--server-side",
                "--field-manager",
                "other",
                "--force-conflicts",
                "-f",
                "-",
            ],
            theirs,
        )
        .await?;
    let ours = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\ndata:\n  k: ours\n";
    let refused = skiff.fails(&["apply", "-f", "-"], ours).await?;
    ensure!(
        refused.starts_with("Error from server (Conflict): "),
        "{refused}"
    );
    let out = skiff
        .ok_stdin(&["apply", "--force-conflicts", "-f", "-"], ours)
        .await?;
    ensure!(out.trim() == "configmap/one serverside-applied", "{out}");
    poll("ours is stored", || async {
        Ok(json(kubectl, &["cm", "one"]).await?["data"]["k"] == "ours")
    })
    .await?;

    let out = skiff.ok(&["delete", "-f", &dir_arg]).await?;
    ensure!(
        out.lines().count() == 3 && out.contains("configmap \"two\" deleted"),
        "{out}"
    );
    Ok(())
}
