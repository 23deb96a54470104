//! `kubectl port-forward` through the API server and the agent's tunnel, with the real
//! kubectl (which tries a WebSocket carrying SPDY first, then plain SPDY/3.1): to a pod,
//! twice at once, to a Service (kubectl picks the pod and the target port itself), a
//! megabyte through an echo server both ways, over the WebSocket and over plain SPDY; a port
//! nothing listens on, a crash-looping pod and a pod on a dead agent give errors that say so,
//! a node's credential may not forward, and every kubectl is killed with nothing left
//! listening, nor connected at the pod.

use serde_json::{Value, json};
use skiff_tests::fleet::node_kubeconfig;
use skiff_tests::{Kubectl, free_port, run_bounded};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::port_forward_support::{PortForward, echo_round_trip, http_get};
use crate::support::{LIMIT, Setup, WAIT, guest, pod, poll, start};

const NODE: &str = "pf-node";

/// The http-server pod `web` (label app=web) and the tcp-echo pod `echo`, Running.
async fn start_pods(s: &mut Setup) -> anyhow::Result<()> {
    let web = json!({"name": "web", "image": guest("http-server")?,
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}});
    let mut web = pod("web", NODE, web, json!({}));
    web["metadata"]["labels"] = json!({"app": "web"});
    s.apply(&web).await?;
    let echo = json!({"name": "echo", "image": guest("tcp-echo")?,
        "ports": [{"containerPort": 7000}],
        "readinessProbe": {"tcpSocket": {"port": 7000}, "periodSeconds": 1}});
    s.apply(&pod("echo", NODE, echo, json!({}))).await?;
    for name in ["web", "echo"] {
        s.wait_row(name, "1/1 Running", |r| r[1] == "1/1" && r[2] == "Running")
            .await?;
    }
    Ok(())
}

fn ensure_hello(answer: &str, path: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        answer.starts_with("HTTP/1.1 200 OK")
            && answer.contains(&format!("hello from http-server {path} ")),
        "GET {path}: {answer:?}"
    );
    Ok(())
}

#[test]
fn kubectl_port_forward_reaches_a_pod_and_a_service() {
    run_bounded("port_forward_pod_and_service", LIMIT, async {
        let mut s = start(NODE).await?;
        start_pods(&mut s).await?;

        let to_pod = PortForward::start(&s.kubectl, "pod/web", ":8080").await?;
        let port = to_pod.local;
        let (one, two) = tokio::join!(http_get(port, "/one"), http_get(port, "/two"));
        ensure_hello(&one?, "/one")?;
        ensure_hello(&two?, "/two")?;
        ensure_hello(&http_get(port, "/three").await?, "/three")?;

        let service: Value = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}});
        s.apply(&service).await?;
        let local = free_port()?;
        let to_service = PortForward::start(&s.kubectl, "svc/web", &format!("{local}:80")).await?;
        anyhow::ensure!(
            to_service.local == local,
            "listening on {}",
            to_service.local
        );
        ensure_hello(&http_get(local, "/by-service").await?, "/by-service")?;

        let to_echo = PortForward::start(&s.kubectl, "pod/echo", ":7000").await?;
        echo_round_trip(to_echo.local, 1 << 20).await?;
        echo_round_trip(to_echo.local, 1000).await?;
        ensure_transport(&s, "WebSocket")?;

        // kubectl's fallback, plain SPDY/3.1, forced.
        let spdy = PortForward::start_spdy(&s.kubectl, "pod/echo", ":7000").await?;
        echo_round_trip(spdy.local, 256 << 10).await?;
        ensure_transport(&s, "SPDY/3.1")?;

        for forward in [to_pod, to_service, to_echo] {
            let stderr = forward.stderr();
            anyhow::ensure!(!stderr.contains("error"), "kubectl complained: {stderr}");
            forward.kill().await?;
        }
        nothing_is_left_at_the_pod(&s, spdy).await?;
        Ok(())
    });
}

/// The replica logged a port-forward connection over `transport`.
fn ensure_transport(s: &Setup, transport: &str) -> anyhow::Result<()> {
    let logged = s.replica.all_stderr();
    let line = format!("port-forward connection open over {transport} to pod default/");
    anyhow::ensure!(
        logged.contains(&line),
        "kubectl did not connect over {transport}"
    );
    Ok(())
}

/// Kills `forward` while one of its connections to the echo pod is open. tcp-echo serves
/// one connection at a time, so a new connection is echoed only if the agent let go of the
/// old one when kubectl died.
async fn nothing_is_left_at_the_pod(s: &Setup, forward: PortForward) -> anyhow::Result<()> {
    let mut held = TcpStream::connect(("127.0.0.1", forward.local)).await?;
    held.write_all(b"x").await?;
    let mut echoed = [0u8; 1];
    timeout(WAIT, held.read_exact(&mut echoed)).await??;
    let stderr = forward.stderr();
    anyhow::ensure!(!stderr.contains("error"), "kubectl complained: {stderr}");
    forward.kill().await?;
    let again = PortForward::start(&s.kubectl, "pod/echo", ":7000").await?;
    echo_round_trip(again.local, 1000).await?;
    again.kill().await
}

#[test]
fn port_forward_failures_are_reported_by_kubectl() {
    run_bounded("port_forward_failures", LIMIT, async {
        let mut s = start(NODE).await?;
        start_pods(&mut s).await?;
        let uid = s.pod("web").await?.unwrap_or_default()["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let refused = format!(
            "error forwarding port 9999 to pod web, uid {uid}: failed to connect to localhost:9999 inside the pod: connection refused"
        );
        forward_fails(&s, "pod/web", ":9999", &refused).await?;

        // A crash-looping pod is Running to kubectl, but between runs nothing of it runs.
        let crasher = json!({"name": "crash", "image": guest("crasher")?,
            "env": [{"name": "DELAY_MS", "value": "10"}]});
        s.apply(&pod("crasher", NODE, crasher, json!({}))).await?;
        s.wait_row("crasher", "a second restart", |r| {
            r[2] == "CrashLoopBackOff" && !matches!(r[3].as_str(), "0" | "1")
        })
        .await?;
        // klog quotes the message: the pod's name reads `\"crasher\"` there.
        let not_running = r#"error forwarding port 8080 to pod crasher, uid "#;
        let stderr = forward_fails(&s, "pod/crasher", ":8080", not_running).await?;
        let why = r#"pod \"crasher\" has no running container"#;
        anyhow::ensure!(stderr.contains(why), "{stderr}");

        only_creators_may_forward(&s).await?;
        s.agent.kill9();
        dead_node_is_reported(&s).await
    });
}

/// Forwards `ports` of `target`, makes one connection, and waits for kubectl to print
/// `wanted` (the error stream's message); returns kubectl's standard error.
async fn forward_fails(
    s: &Setup,
    target: &str,
    ports: &str,
    wanted: &str,
) -> anyhow::Result<String> {
    let mut forward = PortForward::start(&s.kubectl, target, ports).await?;
    let answer = http_get(forward.local, "/").await.unwrap_or_default();
    anyhow::ensure!(answer.is_empty(), "{target} {ports} answered {answer:?}");
    poll("kubectl prints the forwarding error", WAIT, || async {
        Ok(forward.stderr().contains(wanted))
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}; kubectl stderr: {}", forward.stderr()))?;
    let stderr = forward.stderr();
    if forward.is_running() {
        forward.kill().await?;
    }
    Ok(stderr)
}

/// A node may read its own pod, but port-forward is `create` on `pods/portforward`, which
/// it may not, even over the WebSocket (a GET).
async fn only_creators_may_forward(s: &Setup) -> anyhow::Result<()> {
    let config = node_kubeconfig(&s.agent, &s.replica.url())?;
    let as_node = Kubectl::new(&config)?;
    let out = as_node
        .run(&["port-forward", "pod/web", ":8080"], "")
        .await?;
    let wanted = format!(
        "User \"system:node:{NODE}\" cannot create resource \"pods/portforward\" in API group \"\""
    );
    anyhow::ensure!(
        !out.success && out.stderr.contains(&wanted),
        "{}",
        out.stderr
    );
    Ok(())
}

/// Once the agent's tunnel is gone, port-forward to its pod fails before any upgrade.
async fn dead_node_is_reported(s: &Setup) -> anyhow::Result<()> {
    let message = format!("node \"{NODE}\" has no tunnel to this API server");
    let mut last = String::new();
    for _ in 0..50 {
        let out = s
            .kubectl
            .run(&["port-forward", "pod/web", ":8080"], "")
            .await?;
        anyhow::ensure!(!out.success, "port-forward to a dead node: {}", out.stdout);
        if out.stderr.contains(&message) {
            let upgrade = "error: error upgrading connection:";
            anyhow::ensure!(out.stderr.contains(upgrade), "{}", out.stderr);
            return Ok(());
        }
        last = out.stderr;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    anyhow::bail!("no {message:?} from kubectl; last stderr: {last}")
}
