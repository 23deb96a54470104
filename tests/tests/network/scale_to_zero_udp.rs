//! UDP wakes a Service scaled to zero too (issue 16, part of `scale_to_zero`'s scenario):
//! two udp-echo Deployments sleep; a datagram from the host to the first one's NodePort
//! scales it back to 1 and is answered (held by the node proxy while the pod starts, not
//! dropped), and a guest's first datagram to the second one's ClusterIP is answered the
//! same way.

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use skiff_tests::Kubectl;
use skiff_tests::fleet::poll;
use std::time::{Duration, Instant};

use crate::scale_to_zero::{replicas, sleeper};
use crate::support::{WAIT, client_pod, finished, logs, node_port, wait_endpoints};

/// The udp-echo example's port.
const PORT: u16 = 7001;
/// How long the first datagram may wait for the Deployment to wake.
const WAKE: Duration = Duration::from_secs(40);

/// The sleeping udp-echo Deployments: `sleepy-udp-np` behind a NodePort, `sleepy-udp`
/// behind a ClusterIP, both UDP.
pub fn udp_sleepers() -> anyhow::Result<Vec<Value>> {
    let mut objects = Vec::new();
    for (name, node_port) in [("sleepy-udp-np", true), ("sleepy-udp", false)] {
        let [deployment, mut service] = sleeper(name, "udp-echo", PORT, node_port)?;
        service["spec"]["ports"][0]["protocol"] = json!("UDP");
        objects.extend([deployment, service]);
    }
    Ok(objects)
}

/// Both wake on their first datagram, which is answered.
pub async fn udp_wakes(kubectl: &Kubectl) -> anyhow::Result<()> {
    for name in ["sleepy-udp-np", "sleepy-udp"] {
        poll(&format!("{name} scaled to 0"), WAIT, || async {
            Ok(replicas(kubectl, name).await? == "0")
        })
        .await?;
        wait_endpoints(kubectl, "default", name, 0).await?;
    }
    let port = node_port(kubectl, "sleepy-udp-np").await?;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let started = Instant::now();
    socket.send_to(b"wake up", ("127.0.0.1", port)).await?;
    let mut buf = [0u8; 64];
    let (n, _) = tokio::time::timeout(WAKE, socket.recv_from(&mut buf))
        .await
        .context("the datagram that woke sleepy-udp-np was not answered")??;
    ensure!(&buf[..n] == b"wake up", "answered {:?}", &buf[..n]);
    eprintln!("cold UDP datagram answered in {:?}", started.elapsed());
    let now = replicas(kubectl, "sleepy-udp-np").await?;
    ensure!(now == "1", "sleepy-udp-np after waking: replicas {now}");

    let target = format!("sleepy-udp:{PORT}");
    let mut pod = client_pod("wakes-udp", "stz-node", &target, "udp")?;
    let env = &mut pod["spec"]["containers"][0]["env"];
    if let Some(env) = env.as_array_mut() {
        env.push(json!({"name": "UDP_WAIT_MS", "value": WAKE.as_millis().to_string()}));
    }
    kubectl
        .ok_stdin(&["apply", "-f", "-"], &pod.to_string())
        .await?;
    let phase = finished(kubectl, "wakes-udp").await?;
    let log = logs(kubectl, "default", "wakes-udp", "client").await?;
    ensure!(
        phase == "Succeeded"
            && log.contains(&format!("reply 0 from {target}: ping 0"))
            && log.contains(&format!("reply 2 from {target}: ping 2")),
        "the UDP client of the sleeping ClusterIP ended {phase}:\n{log}"
    );
    let now = replicas(kubectl, "sleepy-udp").await?;
    ensure!(now == "1", "sleepy-udp after waking: replicas {now}");
    Ok(())
}
