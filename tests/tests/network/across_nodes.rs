//! One server and two agents, each on its own loopback address: a client pod on node
//! `net-a` reaches an echo pod on node `net-b` over the overlay tunnel between them, also
//! through ClusterIPs (TCP and UDP, by way of the node proxy); a ClusterIP without
//! endpoints refuses every connect at once; the agents' /metrics count each pod's network
//! bytes.

use anyhow::ensure;
use serde_json::json;
use skiff_tests::fleet::{example, poll};
use skiff_tests::{Kubectl, run_bounded};

use crate::support::{
    LIMIT, WAIT, client_pod, finished, logs, pod_ip, pod_network_bytes, two_nodes,
};

#[test]
fn pods_reach_pods_of_another_node_by_ip_and_by_name() {
    run_bounded("across_nodes", LIMIT, scenario());
}

/// The echo pod (TCP on 7000, UDP on 7001, one IP) on `net-b`, a headless Service and a
/// ClusterIP Service in front of it, in namespace `echoes`.
async fn start_echo(kubectl: &Kubectl) -> anyhow::Result<()> {
    let namespace =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "echoes"}});
    kubectl
        .ok_stdin(&["apply", "-f", "-"], &namespace.to_string())
        .await?;
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "echo", "namespace": "echoes", "labels": {"app": "echo"}},
        "spec": {"nodeName": "net-b", "terminationGracePeriodSeconds": 1, "containers": [
            {"name": "tcp", "image": example("tcp-echo")?},
            {"name": "udp", "image": example("udp-echo")?},
        ]},
    });
    let ports = json!([{"name": "tcp", "port": 7000, "protocol": "TCP"},
                       {"name": "udp", "port": 7001, "protocol": "UDP"}]);
    let service = |name: &str, cluster_ip: Option<&str>| {
        let mut spec = json!({"selector": {"app": "echo"}, "ports": ports});
        if let Some(ip) = cluster_ip {
            spec["clusterIP"] = json!(ip);
        }
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": name, "namespace": "echoes"}, "spec": spec})
    };
    // A ClusterIP Service that selects no pod: refused at once.
    let mut nobody = service("nobody", None);
    nobody["spec"]["selector"] = json!({"app": "nobody"});
    for object in [
        pod,
        service("echo", Some("None")),
        service("echo-vip", None),
        nobody,
    ] {
        kubectl
            .ok_stdin(&["apply", "-f", "-"], &object.to_string())
            .await?;
    }
    Ok(())
}

async fn scenario() -> anyhow::Result<()> {
    let fleet = two_nodes().await?;
    let kubectl = &fleet.kubectl;
    start_echo(kubectl).await?;
    let echo_ip = pod_ip(kubectl, "echoes", "echo").await?;
    let b_cidr = kubectl
        .ok(&["get", "node", "net-b", "-o", "jsonpath={.spec.podCIDR}"])
        .await?;
    // Each Service answers the echo pod once its EndpointSlice lists it ready.
    for service in ["echo", "echo-vip"] {
        let selector = format!("kubernetes.io/service-name={service}");
        let jsonpath = "jsonpath={.items[*].endpoints[*].addresses}";
        let args = [
            "-n",
            "echoes",
            "get",
            "endpointslices",
            "-l",
            &selector,
            "-o",
            jsonpath,
        ];
        poll(
            &format!("the echo pod in {service}'s EndpointSlice"),
            WAIT,
            || async { Ok(kubectl.ok(&args).await?.contains(&echo_ip)) },
        )
        .await?;
    }
    // The agents' watches follow within moments.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;

    let clients = [
        ("by-ip-tcp", format!("{echo_ip}:7000"), "tcp"),
        ("by-ip-udp", format!("{echo_ip}:7001"), "udp"),
        ("by-name", "echo.echoes:7000".to_owned(), "tcp"),
        (
            "by-name-udp",
            "echo.echoes.svc.cluster.local:7001".to_owned(),
            "udp",
        ),
        ("by-vip", "echo-vip.echoes:7000".to_owned(), "tcp"),
        ("by-vip-udp", "echo-vip.echoes:7001".to_owned(), "udp"),
    ];
    for (name, target, proto) in &clients {
        let pod = client_pod(name, "net-a", target, proto)?;
        kubectl
            .ok_stdin(&["apply", "-f", "-"], &pod.to_string())
            .await?;
    }
    for (name, target, _) in &clients {
        let phase = finished(kubectl, name).await?;
        let log = logs(kubectl, "default", name, "client").await?;
        ensure!(
            phase == "Succeeded" && log.contains(&format!("reply 2 from {target}: ping 2")),
            "client {name} ({target}) ended {phase}:\n{log}\n(echo pod {echo_ip}, node net-b {b_cidr})"
        );
    }
    // A Service without endpoints refuses every connect at once (a hang would leave the
    // client running past `finished`'s wait).
    let pod = client_pod("by-vip-empty", "net-a", "nobody.echoes:7000", "tcp")?;
    kubectl
        .ok_stdin(&["apply", "-f", "-"], &pod.to_string())
        .await?;
    let phase = finished(kubectl, "by-vip-empty").await?;
    let log = logs(kubectl, "default", "by-vip-empty", "client").await?;
    ensure!(
        phase == "Failed" && log.matches("refused").count() == 3,
        "client of a Service without endpoints ended {phase}:\n{log}"
    );
    // The echo pod saw each client's own pod IP, not a relay's.
    let tcp_client = pod_ip(kubectl, "default", "by-ip-tcp").await?;
    let udp_client = pod_ip(kubectl, "default", "by-ip-udp").await?;
    let tcp_log = logs(kubectl, "echoes", "echo", "tcp").await?;
    let udp_log = logs(kubectl, "echoes", "echo", "udp").await?;
    ensure!(
        tcp_log.contains(&format!("connection from {tcp_client}:")),
        "tcp-echo did not see {tcp_client}:\n{tcp_log}"
    );
    ensure!(
        udp_log.contains(&format!("datagram of 6 bytes from {udp_client}:")),
        "udp-echo did not see {udp_client}:\n{udp_log}"
    );
    ensure!(
        !tcp_log.contains("127.0.0.") && !udp_log.contains("127.0.0."),
        "a guest saw a real address:\n{tcp_log}\n{udp_log}"
    );
    // Per-pod network bytes on each agent's /metrics: the echo pod received and sent back
    // at least the six clients' 3 pings of 6 bytes each; one TCP client sent and received
    // its 3 pings.
    let wanted = [
        ("net-b", "echoes", "echo", 6 * 3 * 6),
        ("net-a", "default", "by-ip-tcp", 3 * 6),
        ("net-a", "default", "by-ip-udp", 3 * 6),
    ];
    for (node, namespace, pod, at_least) in wanted {
        let (rx, tx) = pod_network_bytes(kubectl, node, namespace, pod).await?;
        ensure!(
            rx >= at_least && tx >= at_least,
            "pod {namespace}/{pod} on {node} shows {rx} bytes received, {tx} sent; wanted >= {at_least}"
        );
    }
    Ok(())
}
