//! NetworkPolicy on traffic from outside the cluster through a NodePort, and on flows that
//! were established before a policy changed (part of `policy`'s ingress scenario).
//!
//! skiff judges a NodePort flow as coming from the address of the node that received it
//! (as kube-proxy's masquerade with `externalTrafficPolicy: Cluster`): pod and namespace
//! selectors never match it, an `ipBlock` of the node's address does. A policy change
//! applies to new flows; TCP connections established before it are not cut (the overlay
//! judges a flow when it opens, as conntrack-based implementations such as Calico's and
//! Cilium's let established connections run).

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde_json::json;
use skiff_tests::Kubectl;
use skiff_tests::fleet::poll;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::support::{WAIT, apply};

/// The nodes' addresses (`two_nodes`): `net-a`, and `net-b` where the echo pod runs.
pub const NET_A: &str = "127.0.0.2";
pub const NET_B: &str = "127.0.0.3";
/// How long a refused round is given to be answered anyway.
const ANSWER_WAIT: Duration = Duration::from_secs(2);

/// The NodePorts of the echo pod: TCP 7000, UDP 7001, and the TCP echoes 7002 and 7003
/// that serve the connections kept open (one connection at a time each).
#[derive(Debug, Clone, Copy)]
pub struct EchoPorts {
    pub tcp: u16,
    pub udp: u16,
    pub held: [u16; 2],
}

/// Exposes the echo pod of `echoes` on NodePorts and waits until both nodes echo through
/// them.
pub async fn expose_echo(kubectl: &Kubectl) -> anyhow::Result<EchoPorts> {
    let service = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "echo-np", "namespace": "echoes"},
        "spec": {"type": "NodePort", "selector": {"app": "echo"}, "ports": [
            {"name": "tcp", "port": 7000, "protocol": "TCP"},
            {"name": "udp", "port": 7001, "protocol": "UDP"},
            {"name": "held-a", "port": 7002, "protocol": "TCP"},
            {"name": "held-b", "port": 7003, "protocol": "TCP"}]},
    });
    apply(kubectl, &[service]).await?;
    let jsonpath = "jsonpath={.spec.ports[*].nodePort}";
    let args = ["-n", "echoes", "get", "service", "echo-np", "-o", jsonpath];
    let out = kubectl.ok(&args).await?;
    let ports: Vec<u16> = out
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    let [tcp, udp, held_a, held_b] = ports[..] else {
        bail!("echo-np has not its 4 NodePorts: {out:?}");
    };
    let ports = EchoPorts {
        tcp,
        udp,
        held: [held_a, held_b],
    };
    poll("the echo NodePorts answer on both nodes", WAIT, || async {
        for node in [NET_A, NET_B] {
            if tcp_round(node, ports.tcp, "up").await.is_err()
                || udp_round(node, ports.udp, "up").await.is_err()
            {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await?;
    Ok(ports)
}

/// One TCP echo over a new connection to `node:port`.
pub async fn tcp_round(node: &str, port: u16, msg: &str) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect((node, port)).await?;
    echo(&mut stream, msg).await
}

/// One UDP echo from a new socket to `node:port`.
pub async fn udp_round(node: &str, port: u16, msg: &str) -> anyhow::Result<String> {
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    socket.send_to(msg.as_bytes(), (node, port)).await?;
    let mut buf = [0u8; 1024];
    let received = tokio::time::timeout(ANSWER_WAIT, socket.recv_from(&mut buf)).await;
    let (n, _) = received.context("no UDP answer")??;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// Writes `msg` on `stream` and reads its echo.
pub async fn echo(stream: &mut TcpStream, msg: &str) -> anyhow::Result<String> {
    let exchange = async {
        stream.write_all(msg.as_bytes()).await?;
        let mut buf = vec![0u8; msg.len()];
        stream.read_exact(&mut buf).await?;
        anyhow::Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    tokio::time::timeout(ANSWER_WAIT, exchange)
        .await
        .context("no TCP answer")?
}

/// One connection through each node's NodePort, established now (before any policy).
pub async fn establish(ports: EchoPorts) -> anyhow::Result<Vec<TcpStream>> {
    let mut held = Vec::new();
    for (node, port) in [NET_A, NET_B].into_iter().zip(ports.held) {
        let mut stream = TcpStream::connect((node, port)).await?;
        let reply = echo(&mut stream, "before").await?;
        ensure!(reply == "before", "NodePort on {node} answered {reply:?}");
        held.push(stream);
    }
    Ok(held)
}

/// Connections established before a policy refused their source still echo.
pub async fn established_still_echo(held: &mut [TcpStream]) -> anyhow::Result<()> {
    for stream in held {
        let reply = echo(stream, "after").await;
        ensure!(
            matches!(reply.as_deref(), Ok("after")),
            "an established NodePort connection was cut by a policy change: {reply:?}"
        );
    }
    Ok(())
}

/// Checks that TCP and UDP through `node`'s NodePorts pass (`passes`) or are refused.
pub async fn outside_through(node: &str, ports: EchoPorts, passes: bool) -> anyhow::Result<()> {
    let tcp = tcp_round(node, ports.tcp, "outside").await;
    let udp = udp_round(node, ports.udp, "outside").await;
    let answered = |r: &anyhow::Result<String>| matches!(r.as_deref(), Ok("outside"));
    ensure!(
        answered(&tcp) == passes && answered(&udp) == passes,
        "through the NodePorts of {node} traffic should {} (TCP {tcp:?}, UDP {udp:?})",
        if passes { "pass" } else { "be refused" }
    );
    Ok(())
}
