//! Scale-to-zero (issue 16 item 6): a Deployment of the http-server example annotated
//! `skiff.io/scale-to-zero-idle: 10s` behind a NodePort Service. After a request and 10 s
//! without one, the controller scales it to 0; the next request through the NodePort is
//! held by the node proxy, which scales the Deployment back to 1, and is answered 200.
//! A guest's connection to the ClusterIP of a sleeping tcp-echo Deployment is held and
//! woken the same way, and so are UDP datagrams (`scale_to_zero_udp`). The node itself
//! may scale only a marked Deployment at 0 replicas.

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use skiff_tests::fleet::{example, poll};
use skiff_tests::{ApiClient, Fleet, Kubectl, run_bounded};
use std::time::{Duration, Instant};

use crate::support::{
    LIMIT, WAIT, client_pod, finished, http_get, logs, node_port, wait_endpoints,
};

/// The idle time the test sets.
/// (Reports of connections are asynchronous: a request at the very end of the idle time
/// can race the scale-down, so the warm request comes well before it.)
const IDLE: Duration = Duration::from_secs(10);

#[test]
fn an_idle_deployment_scales_to_zero_and_the_next_request_wakes_it() {
    run_bounded("scale_to_zero", LIMIT, scenario());
}

pub(crate) async fn replicas(kubectl: &Kubectl, name: &str) -> anyhow::Result<String> {
    let jsonpath = "jsonpath={.spec.replicas}";
    Ok(kubectl
        .ok(&["get", "deployment", name, "-o", jsonpath])
        .await?
        .trim()
        .to_owned())
}

/// A Deployment of `image` that scales to zero after [`IDLE`], and its Service on `port`.
pub(crate) fn sleeper(
    name: &str,
    image: &str,
    port: u16,
    node_port: bool,
) -> anyhow::Result<[Value; 2]> {
    let labels = json!({"app": name});
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default",
                     "annotations": {"skiff.io/scale-to-zero-idle": format!("{}s", IDLE.as_secs())}},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"terminationGracePeriodSeconds": 1,
                                       "containers": [{"name": "c", "image": example(image)?}]}}},
    });
    let kind = if node_port { "NodePort" } else { "ClusterIP" };
    let service = json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
        "spec": {"type": kind, "selector": labels, "ports": [{"port": port, "targetPort": port}]},
    });
    Ok([deployment, service])
}

/// The node rule: a node may patch the scale of a Deployment marked for scale-to-zero only
/// while it has 0 replicas; not of `sleepy` now (1 replica), nor of an unmarked one at 0.
async fn node_may_wake_only_a_sleeping_marked_deployment(fleet: &Fleet) -> anyhow::Result<()> {
    let replica = &fleet.cluster.replicas[0];
    let agent = fleet.agents.first().context("no agent")?;
    let credential: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        agent.data_dir.join("credential.json"),
    )?)?;
    let token = credential["token"].as_str().context("no node token")?;
    let node = ApiClient::with_token(replica, Some(token))?;
    let plain = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "plain", "namespace": "default"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "plain"}},
                 "template": {"metadata": {"labels": {"app": "plain"}},
                              "spec": {"containers": [{"name": "c", "image": example("http-server")?}]}}},
    });
    fleet
        .kubectl
        .ok_stdin(&["apply", "-f", "-"], &plain.to_string())
        .await?;
    for name in ["sleepy", "plain"] {
        let path = format!("/apis/apps/v1/namespaces/default/deployments/{name}/scale");
        let answer = node
            .merge_patch(&path, &json!({"spec": {"replicas": 3}}))
            .await?;
        let message = answer.expect_status(403, "Forbidden")?;
        ensure!(
            message.contains("cannot patch"),
            "the node scaling {name}: {message}"
        );
    }
    Ok(())
}

async fn scenario() -> anyhow::Result<()> {
    let fleet = Fleet::start(1, &[], &["stz-node"]).await?;
    let kubectl = &fleet.kubectl;
    let [deployment, service] = sleeper("sleepy", "http-server", 8080, true)?;
    let [echo, echo_service] = sleeper("sleepy-echo", "tcp-echo", 7000, false)?;
    for object in [deployment, service, echo, echo_service] {
        kubectl
            .ok_stdin(&["apply", "-f", "-"], &object.to_string())
            .await?;
    }
    wait_endpoints(kubectl, "default", "sleepy", 1).await?;
    let port = node_port(kubectl, "sleepy").await?;
    let addr = format!("127.0.0.1:{port}");
    let mark = r"jsonpath={.metadata.annotations.skiff\.io/scale-to-zero-deployment}";
    poll("the Service marked for scale-to-zero", WAIT, || async {
        Ok(kubectl
            .ok(&["get", "service", "sleepy", "-o", mark])
            .await?
            .trim()
            == "sleepy")
    })
    .await?;
    node_may_wake_only_a_sleeping_marked_deployment(&fleet).await?;
    // The proxies' table follows the mark within moments.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let warm = http_get(&addr, "/warm").await?;
    ensure!(warm.starts_with("HTTP/1.1 200"), "warm request: {warm:?}");
    let last_request = Instant::now();
    // Created now, they fall asleep while `sleepy` idles (created earlier, on a loaded
    // machine they delayed the checks above past `sleepy`'s own idle time).
    for object in crate::scale_to_zero_udp::udp_sleepers()? {
        kubectl
            .ok_stdin(&["apply", "-f", "-"], &object.to_string())
            .await?;
    }

    poll("the idle Deployment scaled to 0", WAIT, || async {
        Ok(replicas(kubectl, "sleepy").await? == "0")
    })
    .await?;
    let idle_for = last_request.elapsed();
    ensure!(
        idle_for >= IDLE,
        "scaled to 0 only {idle_for:?} after a request"
    );
    wait_endpoints(kubectl, "default", "sleepy", 0).await?;

    let started = Instant::now();
    let cold = http_get(&addr, "/cold").await?;
    ensure!(
        cold.starts_with("HTTP/1.1 200") && cold.contains("/cold"),
        "the request that woke the Deployment: {cold:?}"
    );
    let replicas_now = replicas(kubectl, "sleepy").await?;
    ensure!(replicas_now == "1", "after waking: replicas {replicas_now}");
    eprintln!("cold request answered in {:?}", started.elapsed());
    guest_wakes_a_cluster_ip(kubectl).await?;
    crate::scale_to_zero_udp::udp_wakes(kubectl).await
}

/// A guest's connections to the ClusterIP of the sleeping tcp-echo Deployment: the first
/// is held while it wakes, and every one is echoed.
async fn guest_wakes_a_cluster_ip(kubectl: &Kubectl) -> anyhow::Result<()> {
    poll("the idle echo Deployment scaled to 0", WAIT, || async {
        Ok(replicas(kubectl, "sleepy-echo").await? == "0")
    })
    .await?;
    wait_endpoints(kubectl, "default", "sleepy-echo", 0).await?;
    let pod = client_pod("wakes-echo", "stz-node", "sleepy-echo:7000", "tcp")?;
    kubectl
        .ok_stdin(&["apply", "-f", "-"], &pod.to_string())
        .await?;
    let phase = finished(kubectl, "wakes-echo").await?;
    let log = logs(kubectl, "default", "wakes-echo", "client").await?;
    ensure!(
        phase == "Succeeded" && log.contains("reply 2 from sleepy-echo:7000: ping 2"),
        "the client of the sleeping ClusterIP ended {phase}:\n{log}"
    );
    let replicas_now = replicas(kubectl, "sleepy-echo").await?;
    ensure!(replicas_now == "1", "after waking: replicas {replicas_now}");
    Ok(())
}
