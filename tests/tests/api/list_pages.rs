//! Pagination and `resourceVersionMatch` over plain HTTPS: `limit`/`continue` pages are one
//! snapshot at the first page's resourceVersion (writes between pages do not show), a garbage
//! or foreign continue token is 400, a compacted one 410 Expired, and the ListOptions
//! combinations kube-apiserver refuses are its 422s.

use std::time::Duration;

use anyhow::{Context, ensure};
use http::Method;
use serde_json::{Value, json};
use skiff_tests::{ApiClient, Replica, ReplicaOptions, run_bounded};
use tokio::time::{Instant, sleep};

use crate::manifests::api_ready;

const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn configmap(name: &str, value: &str) -> Value {
    json!({ "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": name }, "data": { "v": value } })
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn lists_page_at_one_revision_and_check_their_options() {
    run_bounded(
        "lists_page_at_one_revision_and_check_their_options",
        Duration::from_secs(180),
        async {
            // Keep only 10 revisions of history, so a continue token can expire in the test.
            let options = ReplicaOptions::new("list-pages").args([
                "--disable-scheduler",
                "--disable-controller-manager",
                "--history-revisions",
                "10",
                "--history-seconds",
                "0",
            ]);
            let replica = Replica::start(options).await?;
            api_ready(&replica).await?;
            let admin = ApiClient::admin(&replica)?;
            for i in 0..7 {
                let cm = configmap(&format!("cm{i}"), "old");
                admin.json(Method::POST, CMS, &cm).await?.ok()?;
            }
            snapshot_pages(&admin).await?;
            resource_version_match(&admin).await?;
            expired_continue(&admin).await
        },
    );
}

/// Pages of 3 read at the first page's revision: a ConfigMap created and one changed between
/// pages do not show; the last page has no continue token.
async fn snapshot_pages(admin: &ApiClient) -> anyhow::Result<()> {
    let first = admin.get(&format!("{CMS}?limit=3")).await?.ok()?;
    let rv = first["metadata"]["resourceVersion"]
        .as_str()
        .context("rv")?
        .to_owned();
    ensure!(names(&first) == ["cm0", "cm1", "cm2"], "{first}");
    admin
        .json(Method::POST, CMS, &configmap("cm9", "new"))
        .await?
        .ok()?;
    admin
        .merge_patch(&format!("{CMS}/cm5"), &json!({ "data": { "v": "new" } }))
        .await?
        .ok()?;
    let mut token = first["metadata"]["continue"]
        .as_str()
        .context("continue")?
        .to_owned();
    let mut rest = Vec::new();
    loop {
        let page = admin
            .get(&format!("{CMS}?limit=3&continue={token}"))
            .await?
            .ok()?;
        ensure!(page["metadata"]["resourceVersion"] == rv.as_str(), "{page}");
        for item in page["items"].as_array().into_iter().flatten() {
            ensure!(item["data"]["v"] == "old", "a later write shows: {item}");
        }
        rest.extend(names(&page));
        match page["metadata"]["continue"].as_str() {
            Some(next) => token = next.to_owned(),
            None => break,
        }
    }
    ensure!(rest == ["cm3", "cm4", "cm5", "cm6"], "{rest:?}");
    // The whole list now has both writes.
    let now = admin.get(CMS).await?.ok()?;
    ensure!(names(&now).len() == 8, "{now}");

    let garbage = admin
        .get(&format!("{CMS}?limit=3&continue=not-a-token"))
        .await?;
    let message = garbage.expect_status(400, "BadRequest")?;
    ensure!(message.contains("invalid continue token"), "{message}");
    // A token of the configmaps list does not continue the secrets list.
    let secrets = "/api/v1/namespaces/default/secrets";
    let foreign = admin
        .get(&format!("{secrets}?limit=3&continue={token}"))
        .await?;
    foreign.expect_status(400, "BadRequest")?;
    let pinned = admin
        .get(&format!(
            "{CMS}?limit=3&continue={token}&resourceVersion={rv}"
        ))
        .await?;
    let message = pinned.expect_status(400, "BadRequest")?;
    ensure!(
        message.contains("not allowed when using continue"),
        "{message}"
    );
    Ok(())
}

/// `Exact` reads the past revision; `NotOlderThan` the present; a revision in the future is
/// 504; contradictory options are 422 Invalid on `ListOptions.meta.k8s.io`.
async fn resource_version_match(admin: &ApiClient) -> anyhow::Result<()> {
    let before = admin.get(CMS).await?.ok()?;
    let rv_text = before["metadata"]["resourceVersion"]
        .as_str()
        .context("rv")?
        .to_owned();
    let rv: u64 = rv_text.parse()?;
    admin
        .json(Method::POST, CMS, &configmap("cm10", "new"))
        .await?
        .ok()?;
    let exact = admin
        .get(&format!(
            "{CMS}?resourceVersion={rv}&resourceVersionMatch=Exact"
        ))
        .await?
        .ok()?;
    ensure!(
        exact["metadata"]["resourceVersion"] == rv_text.as_str(),
        "{exact}"
    );
    ensure!(!names(&exact).contains(&"cm10".to_owned()), "{exact}");
    let newer = admin
        .get(&format!(
            "{CMS}?resourceVersion={rv}&resourceVersionMatch=NotOlderThan"
        ))
        .await?
        .ok()?;
    ensure!(names(&newer).contains(&"cm10".to_owned()), "{newer}");
    let future = rv + 1_000_000;
    let answer = admin
        .get(&format!(
            "{CMS}?resourceVersion={future}&resourceVersionMatch=NotOlderThan"
        ))
        .await?;
    let message = answer.expect_status(504, "Timeout")?;
    ensure!(message.contains("Too large resource version"), "{message}");
    let refused = [
        (
            "resourceVersionMatch=Exact",
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
        ),
        (
            "resourceVersion=0&resourceVersionMatch=Exact",
            "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
        ),
        (
            "resourceVersion=5&resourceVersionMatch=Latest",
            "Unsupported value: \"Latest\"",
        ),
    ];
    for (query, text) in refused {
        let answer = admin.get(&format!("{CMS}?{query}")).await?;
        let message = answer.expect_status(422, "Invalid")?;
        ensure!(
            message.starts_with("ListOptions.meta.k8s.io \"\" is invalid")
                && message.contains(text),
            "{query}: {message}"
        );
    }
    Ok(())
}

/// A continue token whose revision has been compacted away is 410 Expired.
async fn expired_continue(admin: &ApiClient) -> anyhow::Result<()> {
    let first = admin.get(&format!("{CMS}?limit=2")).await?.ok()?;
    let token = first["metadata"]["continue"]
        .as_str()
        .context("continue")?
        .to_owned();
    let rv = first["metadata"]["resourceVersion"]
        .as_str()
        .context("rv")?
        .to_owned();
    // Twelve writes, then wait for the compactor (every 5 s, keeping 10 revisions).
    for i in 0..12 {
        let patch = json!({ "data": { "v": format!("w{i}") } });
        admin
            .merge_patch(&format!("{CMS}/cm0"), &patch)
            .await?
            .ok()?;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let at = admin
            .get(&format!(
                "{CMS}?resourceVersion={rv}&resourceVersionMatch=Exact"
            ))
            .await?;
        if at.status.as_u16() == 410 {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "revision {rv} not compacted: {}",
            at.body
        );
        sleep(Duration::from_millis(500)).await;
    }
    let answer = admin
        .get(&format!("{CMS}?limit=2&continue={token}"))
        .await?;
    let message = answer.expect_status(410, "Expired")?;
    ensure!(
        message.contains("The provided continue parameter is too old"),
        "{message}"
    );
    Ok(())
}
