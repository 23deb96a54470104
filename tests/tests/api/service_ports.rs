//! NodePort allocation on Service updates, through the API: a node port asked for that another
//! Service holds is 422 "provided port is already allocated" (on create and on update); a
//! changed, removed or type-dropped node port is released in the same transaction, so another
//! Service can take it at once; an added port or a change to NodePort allocates one.

use std::time::Duration;

use anyhow::{Context, ensure};
use http::Method;
use serde_json::{Value, json};
use skiff_tests::{ApiClient, run_bounded};

use crate::manifests::one_replica;

#[test]
fn node_ports_follow_service_updates() {
    run_bounded(
        "node_ports_follow_service_updates",
        Duration::from_secs(90),
        scenario(),
    );
}

const SERVICES: &str = "/api/v1/namespaces/default/services";

fn node_port_svc(name: &str, ports: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
           "spec": {"type": "NodePort", "selector": {"app": name}, "ports": ports}})
}

fn node_ports(svc: &Value) -> Vec<Option<u64>> {
    svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["nodePort"].as_u64())
        .collect()
}

async fn patch(api: &ApiClient, name: &str, body: Value) -> anyhow::Result<skiff_tests::Answer> {
    api.merge_patch(&format!("{SERVICES}/{name}"), &body).await
}

fn expect_taken(answer: skiff_tests::Answer, index: usize, port: u64) -> anyhow::Result<()> {
    let message = answer.expect_status(422, "Invalid")?;
    let want = format!(
        "spec.ports[{index}].nodePort: Invalid value: {port}: provided port is already allocated"
    );
    ensure!(
        message.contains(&want),
        "422 message {message:?}, want {want:?}"
    );
    Ok(())
}

async fn scenario() -> anyhow::Result<()> {
    let replica = one_replica("svc-ports").await?;
    let api = ApiClient::admin(&replica)?;
    let create = |svc: Value| {
        let api = api.clone();
        async move { api.json(Method::POST, SERVICES, &svc).await }
    };

    let a = create(node_port_svc("a", json!([{"port": 80, "nodePort": 30080}])))
        .await?
        .ok()?;
    ensure!(node_ports(&a) == [Some(30080)], "{a}");
    expect_taken(
        create(node_port_svc("b", json!([{"port": 80, "nodePort": 30080}]))).await?,
        0,
        30080,
    )?;
    let b = create(node_port_svc("b", json!([{"port": 80}])))
        .await?
        .ok()?;
    let b_port = node_ports(&b)[0].context("b got no node port")?;

    // Update onto a port in use: refused, and b keeps its own.
    let onto_a = json!({"spec": {"ports": [{"port": 80, "nodePort": 30080}]}});
    expect_taken(patch(&api, "b", onto_a.clone()).await?, 0, 30080)?;
    let b = api.get(&format!("{SERVICES}/b")).await?.ok()?;
    ensure!(node_ports(&b) == [Some(b_port)], "{b}");

    // a moves to 30081: 30080 is free for b at once, and b's old port for a third Service.
    patch(
        &api,
        "a",
        json!({"spec": {"ports": [{"port": 80, "nodePort": 30081}]}}),
    )
    .await?
    .ok()?;
    let b = patch(&api, "b", onto_a).await?.ok()?;
    ensure!(node_ports(&b) == [Some(30080)], "{b}");
    create(node_port_svc(
        "c",
        json!([{"port": 80, "nodePort": b_port}]),
    ))
    .await?
    .ok()?;

    // A port added gets a node port; removed, it is released.
    let two = json!({"spec": {"ports": [
        {"name": "http", "port": 80, "nodePort": 30080},
        {"name": "extra", "port": 81}]}});
    let b = patch(&api, "b", two).await?.ok()?;
    let extra = node_ports(&b)[1].context("the added port got no node port")?;
    let one = json!({"spec": {"ports": [{"name": "http", "port": 80, "nodePort": 30080}]}});
    patch(&api, "b", one).await?.ok()?;
    create(node_port_svc("d", json!([{"port": 80, "nodePort": extra}])))
        .await?
        .ok()?;

    // NodePort -> ClusterIP drops and releases a's port; back to NodePort allocates again.
    let a = patch(&api, "a", json!({"spec": {"type": "ClusterIP"}}))
        .await?
        .ok()?;
    ensure!(node_ports(&a) == [None], "{a}");
    create(node_port_svc("e", json!([{"port": 80, "nodePort": 30081}])))
        .await?
        .ok()?;
    let a = patch(&api, "a", json!({"spec": {"type": "NodePort"}}))
        .await?
        .ok()?;
    let again = node_ports(&a)[0].context("a got no node port back")?;
    ensure!(again != 30081, "{a}");

    // Deleting releases too.
    api.send(
        Method::DELETE,
        &format!("{SERVICES}/e"),
        "application/json",
        "",
    )
    .await?
    .ok()?;
    create(node_port_svc("f", json!([{"port": 80, "nodePort": 30081}])))
        .await?
        .ok()?;
    Ok(())
}
