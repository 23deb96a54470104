//! Port-forward over Kubernetes' WebSocket channel protocol (`v4.channel.k8s.io`), which
//! kube-rs and the official Python client speak: `skiff port-forward` to a pod and to a
//! Service whose port maps to another target port answers an HTTP GET on the local port;
//! kube-rs' `Api::portforward` to a port nothing listens on gets the kubelet's error on the
//! port's error channel; and the Python client's `kubernetes.stream.portforward` reaches the
//! pod's HTTP server.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, ensure};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use skiff_tests::Kubectl;
use tokio::process::Command;
use tokio::time::timeout;

use crate::support::{Skiff, guest};

/// The app's port in the pod, and the Service's port in front of it.
const APP_PORT: &str = "8080";
const SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: pf-front
spec:
  selector:
    app: pf-hello
  ports:
  - name: web
    port: 80
    targetPort: 8080
";
const SCRIPT_LIMIT: Duration = Duration::from_secs(60);

/// Every check, against the `skiff up` whose user kubeconfig is `kubeconfig`.
pub async fn channel_protocol(
    skiff: &Skiff,
    kubectl: &Kubectl,
    kubeconfig: &Path,
) -> anyhow::Result<()> {
    let hello = guest("http-hello")?;
    skiff
        .ok(&[
            "run", "pf-hello", "--image", &hello, "--port", APP_PORT, "--wait",
        ])
        .await?;
    skiff.ok_stdin(&["apply", "-f", "-"], SERVICE).await?;
    let pod = kubectl
        .ok(&["get", "pods", "-l", "app=pf-hello", "-o", "name"])
        .await?;
    let pod = pod.trim().trim_start_matches("pod/").to_owned();
    ensure!(!pod.is_empty(), "no pf-hello pod");

    let answer = through_skiff(skiff, &format!("pod/{pod}"), APP_PORT, "/to-the-pod").await?;
    ensure!(answer.contains("/to-the-pod"), "{answer}");
    // Service port 80 is the pod's 8080.
    let answer = through_skiff(skiff, "service/pf-front", "80", "/to-the-service").await?;
    ensure!(answer.contains("/to-the-service"), "{answer}");

    closed_port_is_reported(kubeconfig, &pod).await?;
    let out = python_portforward(kubeconfig, &pod).await?;
    ensure!(
        out.contains("HTTP/1.1 200") && out.contains("/from-python"),
        "{out}"
    );

    skiff.ok(&["delete", "deployment", "pf-hello"]).await?;
    skiff.ok(&["delete", "service", "pf-front"]).await?;
    Ok(())
}

/// One HTTP GET of `path` through `skiff port-forward TARGET :REMOTE`; the answer.
async fn through_skiff(
    skiff: &Skiff,
    target: &str,
    remote: &str,
    path: &str,
) -> anyhow::Result<String> {
    let mut forward = skiff.spawn(&["port-forward", target, &format!(":{remote}")])?;
    let line = forward
        .line_matching(|l| l.starts_with("Forwarding from 127.0.0.1:"))
        .await?;
    let port: u16 = line
        .trim_start_matches("Forwarding from 127.0.0.1:")
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .with_context(|| format!("no port in {line:?}"))?;
    let answer = skiff_tests::http_get(([127, 0, 0, 1], port).into(), path).await;
    drop(forward);
    answer.with_context(|| format!("GET through skiff port-forward {target}"))
}

/// kube-rs' `Api::portforward` to port 9 of the pod, where nothing listens: the server's
/// words arrive on the port's error channel.
async fn closed_port_is_reported(kubeconfig: &Path, pod: &str) -> anyhow::Result<()> {
    let kubeconfig = Kubeconfig::read_from(kubeconfig)?;
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    let pods: Api<Pod> = Api::default_namespaced(kube::Client::try_from(config)?);
    let mut forwarder = pods.portforward(pod, &[9]).await?;
    let error = forwarder.take_error(9).context("no error channel")?;
    let message = timeout(Duration::from_secs(30), error)
        .await
        .context("no error within 30s")?
        .context("the error channel closed without a message")?;
    ensure!(
        message.contains(&format!("error forwarding port 9 to pod {pod}")),
        "{message}"
    );
    // The server closes the WebSocket once the port's forward has failed; kube-rs' own CLOSE
    // may then find the socket gone, which is no failure of the server's.
    let joined = timeout(Duration::from_secs(10), forwarder.join())
        .await
        .context("the server did not close the WebSocket")?;
    if let Err(e) = joined {
        eprintln!("kube-rs after the server's close: {e}");
    }
    Ok(())
}

/// `tests/python/portforward_check.py`: the Python client's portforward; its output.
async fn python_portforward(kubeconfig: &Path, pod: &str) -> anyhow::Result<String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/portforward_check.py");
    let run = Command::new("python3")
        .arg(&script)
        .arg(kubeconfig)
        .arg(pod)
        .arg(APP_PORT)
        .kill_on_drop(true)
        .output();
    let output = timeout(SCRIPT_LIMIT, run)
        .await
        .context("the Python port-forward script timed out")??;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(
        output.status.success() && stdout.lines().last() == Some("OK"),
        "python portforward failed ({}):\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(stdout)
}
