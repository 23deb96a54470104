//! NetworkPolicy enforced by the overlay (issue 16 item 5), with real `skiff` processes and the
//! real kubectl: one server and two agents on their own loopback addresses.
//! - a policy isolating the echo pods for ingress refuses clients on the other node (TCP and
//!   UDP) and on the echo pod's own node; replaced by one allowing a namespace by its labels,
//!   clients of that namespace pass (TCP, and UDP with its replies) and another namespace's
//!   are still refused;
//! - NodePort traffic from the host (`policy_host`): refused by the isolating policy through
//!   both nodes while connections established before it keep echoing; the namespace policy
//!   also allows an `ipBlock` of net-a's address, which NodePort flows through net-a are
//!   judged by (across nodes: net-b judges what net-a states), not those through net-b;
//! - an address outside the overlay (a TCP listener this test binds on 127.0.0.9) is refused
//!   without a policy, reached once an egress `ipBlock` covers it, and still refused to a
//!   pod that policy does not select.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use skiff_tests::fleet::example;
use skiff_tests::{Kubectl, run_bounded};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::policy_host::{self, NET_A, NET_B};
use crate::support::{LIMIT, apply, client_pod_in, finished_in, logs, two_nodes};

/// How long the agents' watches are given to bring a policy change.
const SETTLE: Duration = Duration::from_secs(2);

#[test]
fn an_ingress_policy_is_enforced_and_a_namespace_selector_honoured() {
    run_bounded("policy_ingress", LIMIT, ingress_scenario());
}

#[test]
fn egress_outside_the_overlay_needs_an_ip_block() {
    run_bounded("policy_egress", LIMIT, egress_scenario());
}

fn namespace(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": name, "labels": labels}})
}

fn policy(namespace: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": {"name": name, "namespace": namespace}, "spec": spec})
}

/// The echo pod (TCP 7000, UDP 7001) in `echoes` on `net-b`, once Ready; its IP.
async fn start_echo(kubectl: &Kubectl) -> anyhow::Result<String> {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "echo", "namespace": "echoes", "labels": {"app": "echo"}},
        "spec": {"nodeName": "net-b", "terminationGracePeriodSeconds": 1, "containers": [
            {"name": "tcp", "image": example("tcp-echo")?},
            {"name": "udp", "image": example("udp-echo")?},
            // Echo servers serve one connection at a time: one each for the connections
            // `policy_host` keeps open across policy changes.
            {"name": "held-a", "image": example("tcp-echo")?, "env": [{"name": "PORT", "value": "7002"}]},
            {"name": "held-b", "image": example("tcp-echo")?, "env": [{"name": "PORT", "value": "7003"}]},
        ]},
    });
    apply(kubectl, &[pod]).await?;
    let ready = [
        "-n",
        "echoes",
        "wait",
        "--for=condition=Ready",
        "pod/echo",
        "--timeout=90s",
    ];
    kubectl.ok(&ready).await?;
    let ip = kubectl
        .ok(&[
            "-n",
            "echoes",
            "get",
            "pod",
            "echo",
            "-o",
            "jsonpath={.status.podIP}",
        ])
        .await?;
    Ok(ip.trim().to_owned())
}

/// Runs the clients `(namespace, name, node, target, proto, passes)` at once and checks each
/// ended as expected: every call answered, or (refused) none.
async fn run_clients(
    kubectl: &Kubectl,
    clients: &[(&str, &str, &str, &str, &str, bool)],
) -> anyhow::Result<()> {
    for (namespace, name, node, target, proto, _) in clients {
        let pod = client_pod_in(namespace, name, node, target, proto)?;
        apply(kubectl, &[pod]).await?;
    }
    for (namespace, name, _, target, proto, passes) in clients {
        let phase = finished_in(kubectl, namespace, name).await?;
        let log = logs(kubectl, namespace, name, "client").await?;
        let answered = log.contains(&format!("reply 2 from {target}: ping 2"));
        let refused = !log.contains("reply ") && log.contains(&format!("error 2 calling {target}"));
        let ok = if *passes {
            phase == "Succeeded" && answered
        } else {
            phase == "Failed" && refused
        };
        ensure!(
            ok,
            "client {namespace}/{name} ({proto} to {target}) should {} but ended {phase}:\n{log}",
            if *passes { "pass" } else { "be refused" }
        );
    }
    Ok(())
}

async fn ingress_scenario() -> anyhow::Result<()> {
    let fleet = two_nodes().await?;
    let kubectl = &fleet.kubectl;
    let namespaces = [
        namespace("echoes", json!({})),
        namespace("team", json!({"env": "prod"})),
        namespace("other", json!({"env": "test"})),
    ];
    apply(kubectl, &namespaces).await?;
    let echo = start_echo(kubectl).await?;
    let (tcp, udp) = (format!("{echo}:7000"), format!("{echo}:7001"));
    let ports = policy_host::expose_echo(kubectl).await?;
    let mut established = policy_host::establish(ports).await?;

    let isolate =
        json!({"podSelector": {"matchLabels": {"app": "echo"}}, "policyTypes": ["Ingress"]});
    apply(kubectl, &[policy("echoes", "echo-ingress", isolate)]).await?;
    let listed = kubectl.ok(&["-n", "echoes", "get", "netpol"]).await?;
    ensure!(
        listed.contains("echo-ingress") && listed.contains("app=echo"),
        "kubectl get netpol:\n{listed}"
    );
    let described = kubectl
        .ok(&["-n", "echoes", "describe", "networkpolicy", "echo-ingress"])
        .await?;
    ensure!(
        described.contains("isolated for ingress connectivity"),
        "kubectl describe networkpolicy:\n{described}"
    );
    tokio::time::sleep(SETTLE).await;
    run_clients(
        kubectl,
        &[
            ("default", "deny-tcp", "net-a", &tcp, "tcp", false),
            ("default", "deny-udp", "net-a", &udp, "udp", false),
            ("default", "deny-local", "net-b", &tcp, "tcp", false),
        ],
    )
    .await?;
    for node in [NET_A, NET_B] {
        policy_host::outside_through(node, ports, false).await?;
    }
    policy_host::established_still_echo(&mut established).await?;

    let from_prod = json!({"podSelector": {"matchLabels": {"app": "echo"}}, "ingress": [
        {"from": [{"namespaceSelector": {"matchLabels": {"env": "prod"}}},
                  {"ipBlock": {"cidr": format!("{NET_A}/32")}}]}]});
    apply(kubectl, &[policy("echoes", "echo-ingress", from_prod)]).await?;
    tokio::time::sleep(SETTLE).await;
    run_clients(
        kubectl,
        &[
            ("team", "prod-tcp", "net-a", &tcp, "tcp", true),
            ("team", "prod-udp", "net-a", &udp, "udp", true),
            ("team", "prod-local", "net-b", &tcp, "tcp", true),
            ("other", "test-tcp", "net-a", &tcp, "tcp", false),
            ("other", "test-udp", "net-a", &udp, "udp", false),
        ],
    )
    .await?;
    policy_host::outside_through(NET_A, ports, true).await?;
    policy_host::outside_through(NET_B, ports, false).await
}

/// A TCP echo listener on `addr`: the number of connections it accepted.
async fn outside_listener(addr: &str) -> anyhow::Result<(std::net::SocketAddr, Arc<AtomicUsize>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .context("binding the outside listener")?;
    let bound = listener.local_addr()?;
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    Ok((bound, accepted))
}

async fn egress_scenario() -> anyhow::Result<()> {
    let fleet = two_nodes().await?;
    let kubectl = &fleet.kubectl;
    // Not 127.0.0.1: that is every pod's own localhost.
    let (outside, accepted) = outside_listener("127.0.0.9:0").await?;
    let target = outside.to_string();
    run_clients(
        kubectl,
        &[("default", "no-policy", "net-a", &target, "tcp", false)],
    )
    .await?;
    ensure!(
        accepted.load(Ordering::SeqCst) == 0,
        "a refused pod reached {outside}"
    );

    let bad = policy(
        "default",
        "bad",
        json!({"podSelector": {}, "egress": [
        {"to": [{"ipBlock": {"cidr": "127.0.0.9/33"}}]}]}),
    );
    let refused = kubectl.run(&["apply", "-f", "-"], &bad.to_string()).await?;
    ensure!(
        !refused.success && refused.stderr.contains("must be a valid CIDR"),
        "an invalid ipBlock was not refused: {refused:?}"
    );
    let allow = json!({"podSelector": {"matchLabels": {"egress": "outside"}},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": {"cidr": format!("{}/32", outside.ip())}}],
                    "ports": [{"protocol": "TCP", "port": outside.port()}]}]});
    apply(kubectl, &[policy("default", "to-outside", allow)]).await?;
    tokio::time::sleep(SETTLE).await;
    let mut allowed = client_pod_in("default", "allowed", "net-a", &target, "tcp")?;
    allowed["metadata"]["labels"]["egress"] = json!("outside");
    apply(kubectl, &[allowed]).await?;
    run_clients(
        kubectl,
        &[("default", "unselected", "net-b", &target, "tcp", false)],
    )
    .await?;
    let phase = finished_in(kubectl, "default", "allowed").await?;
    let log = logs(kubectl, "default", "allowed", "client").await?;
    ensure!(
        phase == "Succeeded" && log.contains(&format!("reply 2 from {target}: ping 2")),
        "the pod the ipBlock allows ended {phase}:\n{log}"
    );
    let count = accepted.load(Ordering::SeqCst);
    ensure!(
        count == 3,
        "the outside listener accepted {count} connections, not 3"
    );
    Ok(())
}
