//! Metadata-only reads (`Accept: application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1`,
//! `as=PartialObjectMetadataList` for lists) over raw HTTPS: get, list pages and a watch answer
//! each object's whole `metadata` and nothing else, as kube-apiserver does; the wrong shape and
//! a transformation nobody makes are 406. Then the same through kube-rs (`get_metadata`,
//! `list_metadata`, `watch_metadata`) on a core and a grouped kind.

use std::time::Duration;

use anyhow::{Context, ensure};
use http::Method;
use serde_json::{Value, json};
use skiff_tests::{ApiClient, Replica, ReplicaOptions, run_bounded};

use crate::manifests::api_ready;

const CMS: &str = "/api/v1/namespaces/default/configmaps";
const METADATA: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
const METADATA_LIST: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

#[test]
fn metadata_only_reads_answer_partial_object_metadata() {
    run_bounded(
        "metadata_only_reads_answer_partial_object_metadata",
        Duration::from_secs(180),
        async {
            let options = ReplicaOptions::new("partial-metadata")
                .args(["--disable-scheduler", "--disable-controller-manager"]);
            let replica = Replica::start(options).await?;
            api_ready(&replica).await?;
            let admin = ApiClient::admin(&replica)?;
            for i in 0..5 {
                let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": format!("cm{i}"), "labels": {"i": i.to_string()}},
                    "data": {"v": "x"}});
                admin.json(Method::POST, CMS, &cm).await?.ok()?;
            }
            raw_get(&admin).await?;
            raw_list_pages(&admin).await?;
            not_acceptable(&admin).await?;
            raw_watch(&admin).await?;
            super::partial_metadata_kube::through_kube_rs(&replica).await
        },
    );
}

/// GET with `accept`: the status, `Content-Type` and parsed body.
async fn get_as(
    admin: &ApiClient,
    path: &str,
    accept: &str,
) -> anyhow::Result<(u16, String, Value)> {
    let raw = admin.send_raw(Method::GET, path, "", accept, "").await?;
    let body = serde_json::from_slice(&raw.body).unwrap_or(Value::Null);
    Ok((raw.status.as_u16(), raw.content_type, body))
}

async fn raw_get(admin: &ApiClient) -> anyhow::Result<()> {
    let path = format!("{CMS}/cm1");
    let full = admin.get(&path).await?.ok()?;
    let (status, content_type, partial) = get_as(admin, &path, METADATA).await?;
    ensure!(
        status == 200 && content_type == "application/json",
        "{status} {content_type}"
    );
    let want = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
        "metadata": full["metadata"]});
    ensure!(partial == want, "got {partial}, want {want}");
    let beta = METADATA.replace("v=v1", "v=v1beta1");
    let (_, _, partial) = get_as(admin, &path, &beta).await?;
    ensure!(partial["apiVersion"] == "meta.k8s.io/v1beta1", "{partial}");
    // client-go's metadata client asks for protobuf first: answered in JSON, which it reads
    // by the Content-Type.
    let client_go = format!(
        "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,{METADATA},application/json"
    );
    let (status, content_type, partial) = get_as(admin, &path, &client_go).await?;
    ensure!(
        status == 200 && content_type == "application/json",
        "{status} {content_type}"
    );
    ensure!(partial == want, "{partial}");
    Ok(())
}

/// Pages of 2 as PartialObjectMetadataList: the list metadata and every item's metadata as
/// the full list has them.
async fn raw_list_pages(admin: &ApiClient) -> anyhow::Result<()> {
    let full = admin.get(CMS).await?.ok()?;
    let mut items = Vec::new();
    let mut path = format!("{CMS}?limit=2");
    let mut pages = 0;
    loop {
        let (status, _, page) = get_as(admin, &path, METADATA_LIST).await?;
        ensure!(status == 200, "{status} {page}");
        ensure!(
            page["kind"] == "PartialObjectMetadataList" && page["apiVersion"] == "meta.k8s.io/v1",
            "{page}"
        );
        // The list metadata (resourceVersion, continue) is the full list's, page for page.
        let plain = admin.get(&path).await?.ok()?;
        ensure!(page["metadata"] == plain["metadata"], "{page} vs {plain}");
        for item in page["items"].as_array().context("items")? {
            ensure!(
                item["kind"] == "PartialObjectMetadata" && item.get("data").is_none(),
                "{item}"
            );
            items.push(item["metadata"].clone());
        }
        pages += 1;
        match page["metadata"]["continue"].as_str() {
            Some(token) if !token.is_empty() => path = format!("{CMS}?limit=2&continue={token}"),
            _ => break,
        }
    }
    let want: Vec<Value> = full["items"]
        .as_array()
        .context("items")?
        .iter()
        .map(|i| i["metadata"].clone())
        .collect();
    ensure!(
        pages == 3 && items == want,
        "{pages} pages: {items:?}, want {want:?}"
    );
    Ok(())
}

async fn not_acceptable(admin: &ApiClient) -> anyhow::Result<()> {
    let cases = [
        (
            format!("{CMS}/cm0"),
            METADATA_LIST,
            "you requested PartialObjectMetadataList, but the requested object is not a list (*core.ConfigMap)",
        ),
        (
            CMS.to_owned(),
            METADATA,
            "you requested PartialObjectMetadata, but the requested object is a list (*core.ConfigMapList)",
        ),
        (
            CMS.to_owned(),
            "application/json;as=Foo;g=meta.k8s.io;v=v1",
            "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
        ),
        (
            format!("{CMS}/cm0"),
            "text/html",
            "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
        ),
    ];
    for (path, accept, message) in cases {
        let (status, _, body) = get_as(admin, &path, accept).await?;
        ensure!(
            status == 406
                && body["kind"] == "Status"
                && body["reason"] == "NotAcceptable"
                && body["code"] == 406
                && body["message"] == message,
            "GET {path} as {accept}: {status} {body}"
        );
    }
    Ok(())
}

/// A metadata watch from the current state with bookmarks: ADDED for each ConfigMap, then a
/// create and a delete made while it runs, and a BOOKMARK, every object PartialObjectMetadata.
async fn raw_watch(admin: &ApiClient) -> anyhow::Result<()> {
    let watcher = admin.clone();
    let path = format!("{CMS}?watch=1&allowWatchBookmarks=true&timeoutSeconds=7");
    let stream =
        tokio::spawn(async move { watcher.send_raw(Method::GET, &path, "", METADATA, "").await });
    tokio::time::sleep(Duration::from_millis(800)).await;
    let during = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "during"}, "data": {"v": "x"}});
    let created = admin.json(Method::POST, CMS, &during).await?.ok()?;
    let path = format!("{CMS}/during");
    admin
        .send(Method::DELETE, &path, "application/json", "")
        .await?
        .ok()?;
    let answer = stream.await??;
    ensure!(
        answer.content_type == "application/json",
        "{}",
        answer.content_type
    );
    let mut seen = Vec::new();
    for line in answer.body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let event: Value = serde_json::from_slice(line)?;
        let object = &event["object"];
        ensure!(
            object["kind"] == "PartialObjectMetadata"
                && object["apiVersion"] == "meta.k8s.io/v1"
                && object.get("data").is_none(),
            "{event}"
        );
        let name = object["metadata"]["name"].as_str().unwrap_or("-");
        seen.push(format!("{} {name}", event["type"].as_str().unwrap_or("?")));
        if event["type"] == "ADDED" && name == "during" {
            ensure!(
                object["metadata"] == created["metadata"],
                "{event} vs {created}"
            );
        }
    }
    ensure!(seen.iter().any(|s| s == "BOOKMARK -"), "{seen:?}");
    // Only this test's ConfigMaps (the server may add its own, as kube-root-ca.crt).
    seen.retain(|s| s.contains(" cm") || s.ends_with(" during"));
    let want = [
        "ADDED cm0",
        "ADDED cm1",
        "ADDED cm2",
        "ADDED cm3",
        "ADDED cm4",
        "ADDED during",
        "DELETED during",
    ];
    ensure!(seen == want, "{seen:?}");
    Ok(())
}
