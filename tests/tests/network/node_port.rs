//! The node proxy (issue 16 item 3) with one server and two agents (127.0.0.2, 127.0.0.3):
//! NodePorts from the host reach the http-server example on both nodes, from every node;
//! a UDP NodePort echoes through both nodes; ClientIP affinity keeps one client on one
//! pod; a Service with no endpoint resets a connection at once; an established connection
//! survives endpoints being added; after a scale-down new connections reach only the pods
//! that remain. A NodePort another program
//! holds on one node is logged there, and the agent keeps running.

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use skiff_tests::fleet::example;
use skiff_tests::{Kubectl, run_bounded};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{LIMIT, http_get, logs, node_port, pods, two_nodes, wait_endpoints};

const NODES: [&str; 2] = ["127.0.0.2", "127.0.0.3"];

#[test]
fn node_ports_balance_follow_endpoints_and_keep_connections() {
    run_bounded("node_port", LIMIT, scenario());
}

/// A Deployment of `replicas` pods of `image` on `node`, labelled `app` and `half`.
fn deployment(
    name: &str,
    app: &str,
    node: &str,
    image: &str,
    replicas: u32,
) -> anyhow::Result<Value> {
    let labels = json!({"app": app, "half": name});
    Ok(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                                       "containers": [{"name": "c", "image": example(image)?}]}}},
    }))
}

/// A NodePort Service for pods labelled `app`, on `port` to `target`.
fn service(name: &str, app: &str, port: u16, target: u16, affinity: bool) -> Value {
    let mut spec = json!({"type": "NodePort", "selector": {"app": app},
                          "ports": [{"port": port, "targetPort": target}]});
    if affinity {
        spec["sessionAffinity"] = json!("ClientIP");
    }
    json!({"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": name, "namespace": "default"}, "spec": spec})
}

/// A UDP NodePort Service for the udp-echo pod.
fn udp_service() -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "udp", "namespace": "default"},
           "spec": {"type": "NodePort", "selector": {"app": "udp"},
                    "ports": [{"port": 7001, "targetPort": 7001, "protocol": "UDP"}]}})
}

/// Datagrams to the UDP NodePort on every node come back from the echo pod on net-b.
async fn udp_echoes(port: u16) -> anyhow::Result<()> {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    for ip in NODES {
        for i in 0..2 {
            let text = format!("datagram {i} through {ip}");
            socket.send_to(text.as_bytes(), (ip, port)).await?;
            let mut buf = [0; 512];
            let (n, from) =
                tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf))
                    .await
                    .with_context(|| format!("no echo of {text:?}"))??;
            ensure!(&buf[..n] == text.as_bytes(), "echoed {:?}", &buf[..n]);
            ensure!(from.port() == port, "the echo came from {from}");
        }
    }
    Ok(())
}

async fn apply(kubectl: &Kubectl, objects: &[Value]) -> anyhow::Result<()> {
    for object in objects {
        kubectl
            .ok_stdin(&["apply", "-f", "-"], &object.to_string())
            .await?;
    }
    Ok(())
}

/// Every request through `port` on every node: each answered 200.
async fn get_all(port: u16, tag: &str, per_node: usize) -> anyhow::Result<()> {
    for ip in NODES {
        for i in 0..per_node {
            let path = format!("/{tag}-{ip}-{i}");
            let response = http_get(&format!("{ip}:{port}"), &path).await?;
            ensure!(
                response.starts_with("HTTP/1.1 200") && response.contains(&path),
                "GET {path} through {ip}:{port}: {response:?}"
            );
        }
    }
    Ok(())
}

/// How many requests tagged `tag` each pod of `selector` logged.
async fn served(kubectl: &Kubectl, selector: &str, tag: &str) -> anyhow::Result<Vec<usize>> {
    let mut counts = Vec::new();
    for pod in pods(kubectl, selector).await? {
        let log = logs(kubectl, "default", &pod, "c").await?;
        counts.push(log.matches(&format!("/{tag}-")).count());
    }
    Ok(counts)
}

async fn scenario() -> anyhow::Result<()> {
    let mut fleet = two_nodes().await?;
    port_taken_on_one_node(&mut fleet)
        .await
        .context("a NodePort the host already uses")?;
    let kubectl = &fleet.kubectl;
    apply(
        kubectl,
        &[
            deployment("web-a", "web", "net-a", "http-server", 1)?,
            deployment("web-b", "web", "net-b", "http-server", 1)?,
            deployment("echo", "echo", "net-b", "tcp-echo", 1)?,
            deployment("udp", "udp", "net-b", "udp-echo", 1)?,
            service("web", "web", 80, 8080, false),
            service("sticky", "web", 80, 8080, true),
            service("empty", "nobody", 80, 8080, false),
            service("echo", "echo", 7000, 7000, false),
            udp_service(),
        ],
    )
    .await?;
    wait_endpoints(kubectl, "default", "web", 2).await?;
    wait_endpoints(kubectl, "default", "echo", 1).await?;
    wait_endpoints(kubectl, "default", "udp", 1).await?;
    let web = node_port(kubectl, "web").await?;
    ensure!(
        (30000..=32767).contains(&web),
        "nodePort {web} outside 30000-32767"
    );

    // Round robin from each node: both pods, one on each node, get requests through both.
    get_all(web, "rr", 4).await?;
    for half in ["web-a", "web-b"] {
        let log = logs(
            kubectl,
            "default",
            &pods(kubectl, &format!("half={half}")).await?[0],
            "c",
        )
        .await?;
        for ip in NODES {
            ensure!(
                log.contains(&format!("/rr-{ip}-")),
                "{half} got nothing through {ip}:\n{log}"
            );
        }
    }
    // ClientIP affinity: every request of this one client goes to one pod.
    get_all(node_port(kubectl, "sticky").await?, "sticky", 3).await?;
    let counts = served(kubectl, "app=web", "sticky").await?;
    ensure!(
        counts.iter().filter(|c| **c > 0).count() == 1,
        "sticky spread over pods: {counts:?}"
    );

    udp_echoes(node_port(kubectl, "udp").await?)
        .await
        .context("a UDP NodePort")?;
    no_endpoint_resets_at_once(node_port(kubectl, "empty").await?)
        .await
        .context("a Service without endpoints")?;
    established_survives_scale_up(kubectl, node_port(kubectl, "echo").await?)
        .await
        .context("an established connection")?;

    // Scale down: new connections reach only web-a.
    kubectl
        .ok(&["scale", "deployment", "web-b", "--replicas=0"])
        .await?;
    wait_endpoints(kubectl, "default", "web", 1).await?;
    get_all(web, "after", 3).await?;
    let counts = served(kubectl, "half=web-a", "after").await?;
    ensure!(
        counts == [6],
        "web-a served {counts:?} of the 6 requests after the scale-down"
    );
    Ok(())
}

/// A NodePort already used on 127.0.0.2 by another program: net-a logs it and keeps
/// running; net-b listens on it.
async fn port_taken_on_one_node(fleet: &mut skiff_tests::Fleet) -> anyhow::Result<()> {
    let (squatter, port) = (30000..=32767)
        .find_map(|p| {
            std::net::TcpListener::bind((NODES[0], p))
                .ok()
                .map(|l| (l, p))
        })
        .context("no free port in the NodePort range")?;
    let taken = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "taken", "namespace": "default"},
        "spec": {"type": "NodePort", "selector": {"app": "echo"},
                 "ports": [{"port": 7000, "nodePort": port}]}});
    apply(&fleet.kubectl, &[taken]).await?;
    let line = format!("cannot listen on NodePort {port}");
    let agent = fleet.agent("net-a")?;
    skiff_tests::fleet::poll(
        "net-a to report the taken port",
        crate::support::WAIT,
        || async { Ok(agent.last_stderr().contains(&line)) },
    )
    .await?;
    agent.check_running()?;
    // No endpoint yet: net-b accepts and resets (a refusal means no listener yet: net-b
    // sees the Service through its own watch, maybe after net-a reported).
    skiff_tests::fleet::poll(
        &format!("net-b to listen on {port}"),
        crate::support::WAIT,
        || async {
            let b = tokio::net::TcpStream::connect((NODES[1], port)).await;
            Ok(!b
                .as_ref()
                .is_err_and(|e| e.kind() != std::io::ErrorKind::ConnectionReset))
        },
    )
    .await?;
    drop(squatter);
    Ok(())
}

/// A NodePort of a Service with no endpoint: the connection is reset within a second (the
/// reset may even beat the end of `connect`), with no answer; it never hangs.
async fn no_endpoint_resets_at_once(port: u16) -> anyhow::Result<()> {
    for ip in NODES {
        let started = Instant::now();
        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect((ip, port)).await?;
            let _ = stream.write_all(b"GET / HTTP/1.1\r\n\r\n").await;
            let mut buf = Vec::new();
            stream.read_to_end(&mut buf).await.map(|_| buf)
        };
        let outcome = tokio::time::timeout(Duration::from_secs(5), exchange).await;
        let elapsed = started.elapsed();
        match outcome {
            Err(_) => anyhow::bail!("{ip}:{port} (no endpoint) hung"),
            Ok(Ok(buf)) => ensure!(buf.is_empty(), "{ip}:{port} (no endpoint) answered {buf:?}"),
            Ok(Err(e)) => ensure!(
                e.kind() == std::io::ErrorKind::ConnectionReset,
                "{ip}:{port} (no endpoint): {e}"
            ),
        }
        ensure!(
            elapsed < Duration::from_secs(1),
            "{ip}:{port} took {elapsed:?}"
        );
    }
    Ok(())
}

/// A connection to the echo pod, opened before the Deployment grows to 3, still echoes after.
async fn established_survives_scale_up(kubectl: &Kubectl, port: u16) -> anyhow::Result<()> {
    let mut stream = tokio::net::TcpStream::connect((NODES[0], port)).await?;
    let echo = async |stream: &mut tokio::net::TcpStream, text: &[u8]| -> anyhow::Result<()> {
        stream.write_all(text).await?;
        let mut back = vec![0; text.len()];
        tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut back))
            .await
            .context("no echo")??;
        ensure!(back == text, "echoed {back:?}");
        Ok(())
    };
    echo(&mut stream, b"before\n").await?;
    kubectl
        .ok(&["scale", "deployment", "echo", "--replicas=3"])
        .await?;
    wait_endpoints(kubectl, "default", "echo", 3).await?;
    echo(&mut stream, b"after endpoints were added\n").await?;
    Ok(())
}
