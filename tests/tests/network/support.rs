//! Pods of the example guests for the network tests, and waiting for their outcome.

use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use skiff_tests::fleet::{AGENT_FAST, example, poll};
use skiff_tests::{Agent, Fleet, Kubectl};

/// Every test's bound.
pub const LIMIT: Duration = Duration::from_secs(300);
/// How long one condition may take to hold.
pub const WAIT: Duration = Duration::from_secs(90);

/// A `client` pod (restartPolicy Never) calling `target` `count` times over `proto`.
pub fn client_pod(name: &str, node: &str, target: &str, proto: &str) -> anyhow::Result<Value> {
    client_pod_in("default", name, node, target, proto)
}

/// [`client_pod`] in `namespace`.
pub fn client_pod_in(
    namespace: &str,
    name: &str,
    node: &str,
    target: &str,
    proto: &str,
) -> anyhow::Result<Value> {
    Ok(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"role": "client"}},
        "spec": {"nodeName": node, "restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                 "containers": [{"name": "client", "image": example("client")?, "env": [
                     {"name": "TARGET", "value": target}, {"name": "PROTO", "value": proto},
                     {"name": "COUNT", "value": "3"}, {"name": "INTERVAL_MS", "value": "100"},
                 ]}]},
    }))
}

/// The pod's phase once it finished (Succeeded or Failed), within [`WAIT`].
pub async fn finished(kubectl: &Kubectl, pod: &str) -> anyhow::Result<String> {
    finished_in(kubectl, "default", pod).await
}

/// [`finished`] for a pod of `namespace`.
pub async fn finished_in(kubectl: &Kubectl, namespace: &str, pod: &str) -> anyhow::Result<String> {
    let args = [
        "-n",
        namespace,
        "get",
        "pod",
        pod,
        "-o",
        "jsonpath={.status.phase}",
    ];
    poll(&format!("pod {pod} finished"), WAIT, || async {
        let out = kubectl.run(&args, "").await?;
        Ok(matches!(out.stdout.trim(), "Succeeded" | "Failed"))
    })
    .await?;
    let phase = kubectl.ok(&args).await?;
    Ok(phase.trim().to_owned())
}

/// `status.podIP` of a pod, once it has one.
pub async fn pod_ip(kubectl: &Kubectl, namespace: &str, pod: &str) -> anyhow::Result<String> {
    let args = [
        "-n",
        namespace,
        "get",
        "pod",
        pod,
        "-o",
        "jsonpath={.status.podIP}",
    ];
    poll(&format!("pod {pod} has an IP"), WAIT, || async {
        Ok(!kubectl.ok(&args).await?.trim().is_empty())
    })
    .await?;
    Ok(kubectl.ok(&args).await?.trim().to_owned())
}

/// The log of a pod's container.
pub async fn logs(
    kubectl: &Kubectl,
    namespace: &str,
    pod: &str,
    container: &str,
) -> anyhow::Result<String> {
    kubectl
        .ok(&["-n", namespace, "logs", pod, "-c", container])
        .await
        .with_context(|| format!("logs of {namespace}/{pod}/{container}"))
}

/// One server and two agents, `net-a` on 127.0.0.2 and `net-b` on 127.0.0.3, both Ready and
/// publishing their overlay port.
pub async fn two_nodes() -> anyhow::Result<Fleet> {
    let mut fleet = Fleet::start(1, &[], &[]).await?;
    let replica = &fleet.cluster.replicas[0];
    let (url, token) = (replica.url(), replica.agent_token()?);
    for (name, ip) in [("net-a", "127.0.0.2"), ("net-b", "127.0.0.3")] {
        let mut args = AGENT_FAST.to_vec();
        args.extend(["--server", &url, "--token", &token, "--node-ip", ip]);
        let mut agent = Agent::prepare(name, &args)?;
        agent.spawn()?;
        fleet.agents.push(agent);
    }
    for name in ["net-a", "net-b"] {
        fleet.wait_ready_status(name, "True").await?;
        let jsonpath = r"jsonpath={.metadata.annotations.skiff\.io/overlay-port}";
        let port = fleet
            .kubectl
            .ok(&["get", "node", name, "-o", jsonpath])
            .await?;
        ensure!(
            port.trim().parse::<u16>().is_ok(),
            "node {name} publishes no overlay port: {port:?}"
        );
    }
    Ok(fleet)
}

/// Applies each object (JSON) with kubectl.
pub async fn apply(kubectl: &Kubectl, objects: &[Value]) -> anyhow::Result<()> {
    for object in objects {
        kubectl
            .ok_stdin(&["apply", "-f", "-"], &object.to_string())
            .await?;
    }
    Ok(())
}

/// Waits until Service `service`'s EndpointSlices list exactly `count` ready addresses.
pub async fn wait_endpoints(
    kubectl: &Kubectl,
    namespace: &str,
    service: &str,
    count: usize,
) -> anyhow::Result<()> {
    let selector = format!("kubernetes.io/service-name={service}");
    let jsonpath = r#"jsonpath={range .items[*].endpoints[?(@.conditions.ready==true)]}{.addresses[0]}{" "}{end}"#;
    let args = [
        "-n",
        namespace,
        "get",
        "endpointslices",
        "-l",
        &selector,
        "-o",
        jsonpath,
    ];
    poll(
        &format!("{count} ready endpoints of {service}"),
        WAIT,
        || async { Ok(kubectl.ok(&args).await?.split_whitespace().count() == count) },
    )
    .await?;
    // The proxies' watches follow within moments.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    Ok(())
}

/// A Service's first NodePort.
pub async fn node_port(kubectl: &Kubectl, service: &str) -> anyhow::Result<u16> {
    let out = kubectl
        .ok(&[
            "get",
            "service",
            service,
            "-o",
            "jsonpath={.spec.ports[0].nodePort}",
        ])
        .await?;
    out.trim()
        .parse()
        .with_context(|| format!("service {service} has no nodePort: {out:?}"))
}

/// `GET path` over plain HTTP/1.1 to `addr`: the whole response (the server closes).
pub async fn http_get(addr: &str, path: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        anyhow::Ok(String::from_utf8_lossy(&response).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(40), exchange)
        .await
        .with_context(|| format!("GET http://{addr}{path} timed out"))?
        .with_context(|| format!("GET http://{addr}{path}"))
}

/// Pod names with label selector `selector` in the default namespace.
pub async fn pods(kubectl: &Kubectl, selector: &str) -> anyhow::Result<Vec<String>> {
    let out = kubectl
        .ok(&[
            "get",
            "pods",
            "-l",
            selector,
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ])
        .await?;
    Ok(out.split_whitespace().map(str::to_owned).collect())
}

/// A pod's `container_network_receive_bytes_total` and `..._transmit_bytes_total` on its
/// node's /metrics (through the API server's node proxy).
pub async fn pod_network_bytes(
    kubectl: &Kubectl,
    node: &str,
    namespace: &str,
    pod: &str,
) -> anyhow::Result<(u64, u64)> {
    let page = kubectl
        .ok(&[
            "get",
            "--raw",
            &format!("/api/v1/nodes/{node}/proxy/metrics"),
        ])
        .await?;
    let labels = format!("{{interface=\"eth0\",namespace=\"{namespace}\",pod=\"{pod}\"}} ");
    let sample = |family: &str| -> anyhow::Result<u64> {
        let prefix = format!("{family}{labels}");
        let line = page
            .lines()
            .find(|l| l.starts_with(&prefix))
            .with_context(|| format!("no {prefix} on {node}'s /metrics:\n{page}"))?;
        Ok(line[prefix.len()..].trim().parse()?)
    };
    Ok((
        sample("container_network_receive_bytes_total")?,
        sample("container_network_transmit_bytes_total")?,
    ))
}
