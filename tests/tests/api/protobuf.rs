//! Kubernetes protobuf against a real server: every served kind created through protobuf and
//! through JSON gives the same object, read back and listed as protobuf it is the JSON
//! object, a protobuf watch sends length-prefixed `WatchEvent`s, and truncated or garbage
//! bodies get a 400 Status (in protobuf, for a client that asks for it).

use std::time::Duration;

use anyhow::{Context, ensure};
use http::{Method, StatusCode};
use serde_json::{Value, json};
use skiff_api::protobuf::{self, CONTENT_TYPE};
use skiff_tests::{ApiClient, run_bounded};

use crate::manifests::one_replica;
use crate::protobuf_objects::{normalized, served_objects};

/// What client-go's typed clients send.
const ACCEPT_PROTOBUF: &str = "application/vnd.kubernetes.protobuf, */*";

#[test]
fn protobuf_round_trips_every_served_kind() {
    run_bounded(
        "protobuf_round_trips_every_served_kind",
        Duration::from_secs(120),
        async {
            let replica = one_replica("protobuf-kinds").await?;
            let admin = ApiClient::admin(&replica)?;
            for (path, object) in served_objects() {
                same_through_both(&admin, &path, object)
                    .await
                    .with_context(|| path.clone())?;
            }
            Ok(())
        },
    );
}

/// Creates `object` as `<name>-json` through JSON and `<name>-pb` through protobuf, and
/// requires the two stored objects to be the same; then reads and lists the protobuf one as
/// protobuf and requires what the JSON reads say.
async fn same_through_both(admin: &ApiClient, path: &str, object: Value) -> anyhow::Result<()> {
    let name = object["metadata"]["name"]
        .as_str()
        .context("name")?
        .to_owned();
    let mut as_json = object.clone();
    as_json["metadata"]["name"] = json!(format!("{name}-json"));
    let from_json = admin.json(Method::POST, path, &as_json).await?.ok()?;
    let mut as_pb = object;
    as_pb["metadata"]["name"] = json!(format!("{name}-pb"));
    let body = protobuf::encode_object(&as_pb)?;
    let created = admin
        .send_raw(Method::POST, path, CONTENT_TYPE, ACCEPT_PROTOBUF, body)
        .await?;
    ensure!(
        created.status == StatusCode::CREATED && created.content_type == CONTENT_TYPE,
        "protobuf create: {} {} {:?}",
        created.status,
        created.content_type,
        String::from_utf8_lossy(&created.body)
    );
    let from_pb = protobuf::decode_object(&created.body)?;
    ensure!(
        normalized(&from_pb) == normalized(&from_json),
        "stored through protobuf:\n{from_pb:#}\nthrough JSON:\n{from_json:#}"
    );
    let one = format!("{path}/{name}-pb");
    let read = admin
        .send_raw(Method::GET, &one, "", ACCEPT_PROTOBUF, "")
        .await?;
    let read_json = admin.get(&one).await?.ok()?;
    ensure!(
        protobuf::decode_object(&read.body)? == read_json,
        "GET {one}"
    );
    let listed = admin
        .send_raw(Method::GET, path, "", ACCEPT_PROTOBUF, "")
        .await?;
    let mut list = protobuf::decode_object(&listed.body)?;
    let mut list_json = admin.get(path).await?.ok()?;
    // The list's own resourceVersion is the store's revision at each read: any write in
    // between (a controller's, say) moves it. The items must be the same.
    for answer in [&mut list, &mut list_json] {
        if let Some(meta) = answer["metadata"].as_object_mut() {
            meta.remove("resourceVersion");
        }
    }
    // A list's items carry no apiVersion and kind in protobuf (the messages have no TypeMeta).
    for item in list_json["items"].as_array_mut().into_iter().flatten() {
        if let Some(item) = item.as_object_mut() {
            item.remove("apiVersion");
            item.remove("kind");
        }
    }
    ensure!(
        list == list_json,
        "LIST {path} as protobuf:\n{list}\nas JSON:\n{list_json}"
    );
    let names: Vec<&str> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["metadata"]["name"].as_str())
        .collect();
    let both = [format!("{name}-json"), format!("{name}-pb")];
    ensure!(
        both.iter().all(|n| names.contains(&n.as_str())),
        "{names:?}"
    );
    Ok(())
}

#[test]
fn protobuf_watch_and_bad_bodies() {
    run_bounded(
        "protobuf_watch_and_bad_bodies",
        Duration::from_secs(90),
        async {
            let replica = one_replica("protobuf-watch").await?;
            let admin = ApiClient::admin(&replica)?;
            watch(&admin).await?;
            bad_bodies(&admin).await?;
            fields_protobuf_cannot_name(&admin).await
        },
    );
}

/// A protobuf watch from the current state: an ADDED for the existing ConfigMap, then the
/// events of a create and a delete made while it runs.
async fn watch(admin: &ApiClient) -> anyhow::Result<()> {
    let path = "/api/v1/namespaces/default/configmaps";
    let cm = |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}});
    admin.json(Method::POST, path, &cm("before")).await?.ok()?;
    let watcher = admin.clone();
    let stream = tokio::spawn(async move {
        watcher
            .send_raw(
                Method::GET,
                &format!("{path}?watch=1&timeoutSeconds=3"),
                "",
                "application/vnd.kubernetes.protobuf;stream=watch",
                "",
            )
            .await
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    admin.json(Method::POST, path, &cm("during")).await?.ok()?;
    admin
        .send(
            Method::DELETE,
            &format!("{path}/during"),
            "application/json",
            "",
        )
        .await?
        .ok()?;
    let answer = stream.await??;
    ensure!(
        answer.content_type == protobuf::WATCH_CONTENT_TYPE,
        "{}",
        answer.content_type
    );
    let mut rest: &[u8] = &answer.body;
    let mut seen = Vec::new();
    while !rest.is_empty() {
        let (kind, object, tail) = protobuf::decode_watch_frame(rest)?;
        seen.push(format!(
            "{kind} {}={}",
            object["metadata"]["name"].as_str().unwrap_or("?"),
            object["data"]["k"]
        ));
        rest = tail;
    }
    let want = [
        r#"ADDED before="before""#,
        r#"ADDED during="during""#,
        r#"DELETED during="during""#,
    ];
    ensure!(seen == want, "{seen:?}");
    Ok(())
}

/// Truncated, garbage and prefix-less protobuf bodies are 400, answered as a protobuf Status
/// when asked for; a body in protobuf of a kind that has no message is 415.
async fn bad_bodies(admin: &ApiClient) -> anyhow::Result<()> {
    let path = "/api/v1/namespaces/default/configmaps";
    let good = protobuf::encode_object(
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok"}}),
    )?;
    let garbage = [b"k8s\0".as_slice(), &[0xff; 40]].concat();
    let bodies: [(&str, Vec<u8>); 4] = [
        ("truncated", good[..good.len() - 3].to_vec()),
        ("garbage", garbage),
        ("no prefix", b"{\"kind\":\"ConfigMap\"}".to_vec()),
        ("empty", Vec::new()),
    ];
    for (what, body) in bodies {
        let answer = admin
            .send(Method::POST, path, CONTENT_TYPE, body.clone())
            .await?;
        let message = answer.expect_status(400, "BadRequest").context(what)?;
        ensure!(message.contains("protobuf"), "{what}: {message}");
        let raw = admin
            .send_raw(Method::POST, path, CONTENT_TYPE, ACCEPT_PROTOBUF, body)
            .await?;
        let status = protobuf::decode_object(&raw.body).context(what)?;
        ensure!(
            raw.status == StatusCode::BAD_REQUEST
                && status["kind"] == "Status"
                && status["code"] == 400,
            "{what}: {status}"
        );
    }
    let missing = admin
        .send_raw(
            Method::GET,
            &format!("{path}/absent"),
            "",
            ACCEPT_PROTOBUF,
            "",
        )
        .await?;
    let status = protobuf::decode_object(&missing.body)?;
    ensure!(
        status["reason"] == "NotFound" && status["code"] == 404,
        "{status}"
    );
    Ok(())
}

/// A protobuf body names fields by number: a record of a number its message does not have is
/// dropped, as kube-apiserver's decoder drops it, even under `fieldValidation=Strict`. The
/// kind is still checked against the path.
async fn fields_protobuf_cannot_name(admin: &ApiClient) -> anyhow::Result<()> {
    let path = "/api/v1/namespaces/default/configmaps";
    let raw: &[u8] = &[
        0x0a, 0x07, 0x0a, 0x05, b'e', b'x', b't', b'r', b'a', // metadata { name: "extra" }
        0x12, 0x06, 0x0a, 0x01, b'k', 0x12, 0x01, b'v', // data { k: v }
        0x98, 0x06, 0x01, // field 99 (not in ConfigMap), varint 1
    ];
    let mut body = b"k8s\0".to_vec();
    body.extend_from_slice(&[0x0a, 0x0f, 0x0a, 0x02, b'v', b'1', 0x12, 0x09]);
    body.extend_from_slice(b"ConfigMap");
    body.extend_from_slice(&[0x12, raw.len() as u8]);
    body.extend_from_slice(raw);
    let strict = format!("{path}?fieldValidation=Strict");
    let created = admin
        .send(Method::POST, &strict, CONTENT_TYPE, body)
        .await?
        .ok()?;
    ensure!(
        created["metadata"]["name"] == "extra" && created["data"] == json!({"k": "v"}),
        "{created}"
    );
    let pod = protobuf::encode_object(
        &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "not-a-config-map"}}),
    )?;
    let answer = admin.send(Method::POST, path, CONTENT_TYPE, pod).await?;
    let message = answer.expect_status(400, "BadRequest")?;
    ensure!(message.contains("does not match"), "{message}");
    Ok(())
}
