//! kubectl's listing surface on one replica: `get --chunk-size` over many objects (every
//! page requested, nothing lost or repeated), `--sort-by`, `--show-labels`, `--watch-only`,
//! `api-resources -o wide` with verbs, `api-versions`, `kubectl events` and
//! `get events --field-selector`.

use std::time::Duration;

use anyhow::ensure;
use http::Method;
use skiff_tests::{ApiClient, Kubectl, run_bounded};

use crate::manifests::{event_json, expect_header, one_replica};

#[test]
fn kubectl_chunks_sorts_watches_and_discovers() {
    run_bounded(
        "kubectl_chunks_sorts_watches_and_discovers",
        Duration::from_secs(180),
        async {
            let replica = one_replica("kubectl-listing").await?;
            let kubectl = Kubectl::for_replica(&replica)?;
            let admin = ApiClient::admin(&replica)?;
            chunks_and_sorting(&kubectl).await?;
            watch_only(&kubectl).await?;
            discovery(&kubectl).await?;
            events(&kubectl, &admin).await
        },
    );
}

/// 25 ConfigMaps listed in chunks of 2 (13 requests) come out once each; sorting by a data
/// value reverses their name order; `--show-labels` adds the LABELS column.
async fn chunks_and_sorting(kubectl: &Kubectl) -> anyhow::Result<()> {
    let mut manifest = String::new();
    for i in 0..25 {
        manifest.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm{i:02}\n  labels:\n    idx: \"{i}\"\ndata:\n  rank: \"{:02}\"\n",
            99 - i
        ));
    }
    kubectl.ok_stdin(&["create", "-f", "-"], &manifest).await?;
    let out = kubectl
        .run(
            &["get", "configmaps", "--chunk-size=2", "-o", "name", "-v=6"],
            "",
        )
        .await?;
    ensure!(out.success, "{out:?}");
    let responses: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("\"Response\"") && l.contains("configmaps?"))
        .collect();
    let pages = responses.len();
    let continued = responses.iter().filter(|l| l.contains("continue=")).count();
    ensure!(
        pages == 13 && continued == 12,
        "{pages} requests, {continued} continued:\n{}",
        out.stderr
    );
    let listed: Vec<&str> = out.stdout.lines().collect();
    let expected: Vec<String> = (0..25).map(|i| format!("configmap/cm{i:02}")).collect();
    ensure!(listed == expected, "chunked list: {listed:?}");

    let sorted = kubectl
        .ok(&[
            "get",
            "configmaps",
            "--sort-by=.data.rank",
            "-o",
            "name",
            "--chunk-size=4",
        ])
        .await?;
    let sorted: Vec<&str> = sorted.lines().collect();
    let reversed: Vec<String> = expected.iter().rev().cloned().collect();
    ensure!(sorted == reversed, "--sort-by=.data.rank: {sorted:?}");

    let shown = kubectl
        .ok(&["get", "configmaps", "cm07", "cm11", "--show-labels"])
        .await?;
    expect_header(&shown, &["NAME", "DATA", "AGE", "LABELS"])?;
    let rows: Vec<Vec<&str>> = shown
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    ensure!(rows.len() == 2, "{shown}");
    ensure!(rows[0][0] == "cm07" && rows[0][3] == "idx=7", "{shown}");
    ensure!(rows[1][0] == "cm11" && rows[1][3] == "idx=11", "{shown}");
    Ok(())
}

/// `--watch-only` prints the header, then only what changes after it started.
async fn watch_only(kubectl: &Kubectl) -> anyhow::Result<()> {
    let mut watch = kubectl.spawn(&["get", "configmaps", "--watch-only"])?;
    // kubectl prints nothing before its watch is established; give it a moment.
    tokio::time::sleep(Duration::from_secs(2)).await;
    kubectl
        .ok(&["create", "configmap", "late", "--from-literal=a=b"])
        .await?;
    let row = watch
        .line_matching(Duration::from_secs(20), |l| !l.starts_with("NAME"))
        .await?;
    ensure!(
        row.starts_with("late ") && row.contains(" 1 "),
        "first row: {row:?}"
    );
    ensure!(
        watch.seen.iter().all(|l| !l.starts_with("cm")),
        "existing objects printed: {:?}",
        watch.seen
    );
    watch.kill().await
}

/// `api-resources -o wide` lists every resource with its verbs; `api-versions` every group.
async fn discovery(kubectl: &Kubectl) -> anyhow::Result<()> {
    let wide = kubectl.ok(&["api-resources", "-o", "wide"]).await?;
    expect_header(
        &wide,
        &[
            "NAME",
            "SHORTNAMES",
            "APIVERSION",
            "NAMESPACED",
            "KIND",
            "VERBS",
            "CATEGORIES",
        ],
    )?;
    let row = |name: &str| {
        wide.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_default()
            .to_owned()
    };
    let all_verbs = "create,delete,deletecollection,get,list,patch,update,watch";
    let deployments = row("deployments");
    ensure!(
        deployments.contains("apps/v1") && deployments.contains(all_verbs),
        "{deployments}"
    );
    let reviews = row("selfsubjectaccessreviews");
    ensure!(
        reviews.split_whitespace().nth(4) == Some("create"),
        "{reviews}"
    );
    let versions = kubectl.ok(&["api-versions"]).await?;
    for group in [
        "v1",
        "apps/v1",
        "batch/v1",
        "rbac.authorization.k8s.io/v1",
        "policy/v1",
    ] {
        ensure!(
            versions.lines().any(|l| l == group),
            "{group} missing:\n{versions}"
        );
    }
    Ok(())
}

/// `kubectl events` prints the namespace's events; `--for` and `get events --field-selector`
/// narrow them.
async fn events(kubectl: &Kubectl, admin: &ApiClient) -> anyhow::Result<()> {
    let events = "/api/v1/namespaces/default/events";
    for (name, object, message) in [
        ("e1", "web", "Scaled up web"),
        ("e2", "api", "Scaled up api"),
    ] {
        let event = event_json(name, "Deployment", object, "uid-1", message);
        admin.json(Method::POST, events, &event).await?.ok()?;
    }
    let out = kubectl.ok(&["events"]).await?;
    expect_header(
        &out,
        &["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
    )?;
    ensure!(
        out.contains("Deployment/web")
            && out.contains("Scaled up web")
            && out.contains("Deployment/api"),
        "{out}"
    );
    let out = kubectl.ok(&["events", "--for", "deployment/api"]).await?;
    ensure!(
        out.contains("Scaled up api") && !out.contains("Scaled up web"),
        "{out}"
    );
    let out = kubectl
        .ok(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=web",
            "-o",
            "name",
        ])
        .await?;
    ensure!(out.trim() == "event/e1", "{out:?}");
    let out = kubectl
        .run(&["get", "events", "--field-selector", "type=Warning"], "")
        .await?;
    ensure!(
        out.success
            && out
                .stderr
                .contains("No resources found in default namespace."),
        "{out:?}"
    );
    Ok(())
}
