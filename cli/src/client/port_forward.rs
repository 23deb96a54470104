//! `skiff port-forward TYPE/NAME [LOCAL:]REMOTE...`: listens on 127.0.0.1 and carries each
//! accepted connection to the pod through kube-rs' `Api::portforward` (the WebSocket
//! port-forward protocol, which skiff's API server serves and relays over the node's tunnel).
//! A Service or Deployment is resolved to one running pod of its selector, and a Service
//! port to its target port, as kubectl does. Runs until SIGINT or SIGTERM.
//!
//! kube-rs speaks the `v4.channel.k8s.io` WebSocket protocol, one WebSocket per accepted
//! connection; a failure the server reports on the port's error channel (say, nothing
//! listens on the pod's port) is printed as kubectl prints it, and ends that connection.

use clap::Args;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::discovery;
use super::failure::Failure;
use super::get::encode;
use super::session::Session;

#[derive(Args, Debug)]
pub struct PortForwardArgs {
    /// pod/NAME, service/NAME or deployment/NAME (a bare NAME is a pod).
    pub target: String,
    /// Ports as LOCAL:REMOTE, :REMOTE (any free local port) or PORT (the same both sides).
    #[arg(required = true)]
    pub ports: Vec<String>,
}

pub async fn run(session: &Session, args: &PortForwardArgs) -> Result<(), Failure> {
    let pairs: Vec<(u16, String)> = args
        .ports
        .iter()
        .map(|p| parse_pair(p))
        .collect::<Result<_, _>>()?;
    let (pod, service) = find_pod(session, &args.target).await?;
    let phase = pod["status"]["phase"].as_str().unwrap_or("Unknown");
    if phase != "Running" {
        return Err(Failure::Usage(format!(
            "unable to forward port because pod is not running. Current status={phase}"
        )));
    }
    let pod_name = pod["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let shutdown = crate::signals::shutdown_token()
        .map_err(|e| Failure::Usage(format!("installing signal handlers: {e}")))?;
    let tasks = TaskTracker::new();
    let pods: Api<Pod> = Api::namespaced(session.client.clone(), &session.namespace);
    for (local, remote) in pairs {
        let remote = remote_port(&pod, service.as_ref(), &remote)?;
        let listener = TcpListener::bind(("127.0.0.1", local))
            .await
            .map_err(|e| Failure::Usage(format!("unable to listen on port {local}: {e}")))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Failure::Usage(e.to_string()))?;
        println!("Forwarding from {bound} -> {remote}");
        // Tests and scripts read the line as soon as it is printed.
        let _ = std::io::Write::flush(&mut std::io::stdout());
        tasks.spawn(accept(
            listener,
            pods.clone(),
            pod_name.clone(),
            remote,
            shutdown.clone(),
            tasks.clone(),
        ));
    }
    shutdown.cancelled().await;
    tasks.close();
    tasks.wait().await;
    Ok(())
}

/// Accepts connections until `shutdown`, each forwarded on a task of `tasks`.
async fn accept(
    listener: TcpListener,
    pods: Api<Pod>,
    pod: String,
    port: u16,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => return,
        };
        let Ok((socket, _)) = accepted else { continue };
        println!("Handling connection for {port}");
        let (pods, pod, stop) = (pods.clone(), pod.clone(), shutdown.clone());
        tasks.spawn(async move {
            tokio::select! {
                result = forward(socket, &pods, &pod, port) => {
                    if let Err(e) = result {
                        eprintln!("error: an error occurred forwarding {port}: {e}");
                    }
                }
                () = stop.cancelled() => {}
            }
        });
    }
}

async fn forward(
    mut socket: TcpStream,
    pods: &Api<Pod>,
    pod: &str,
    port: u16,
) -> Result<(), String> {
    let mut forwarder = pods
        .portforward(pod, &[port])
        .await
        .map_err(|e| e.to_string())?;
    let mut upstream = forwarder
        .take_stream(port)
        .ok_or_else(|| "the API server opened no stream".to_owned())?;
    let failure = forwarder
        .take_error(port)
        .ok_or_else(|| "the API server opened no error channel".to_owned())?;
    tokio::select! {
        copied = tokio::io::copy_bidirectional(&mut socket, &mut upstream) => {
            copied.map_err(|e| e.to_string())?;
        }
        // The server's words on the port's error channel end the connection, as in kubectl.
        Some(message) = failure => return Err(message),
    }
    drop(upstream);
    // Every byte has been copied both ways; kube-rs' closing handshake may still fail when
    // the server closed first, which loses nothing.
    let _ = forwarder.join().await;
    Ok(())
}

/// `8080:80` -> (8080, "80"); `:80` -> (0, "80"); `80` -> (80, "80").
pub fn parse_pair(arg: &str) -> Result<(u16, String), Failure> {
    let bad = || {
        Failure::Usage(format!(
            "invalid port pair \"{arg}\": expected LOCAL:REMOTE"
        ))
    };
    let (local, remote) = arg.split_once(':').unwrap_or((arg, arg));
    let local = if local.is_empty() {
        0
    } else {
        local.parse().map_err(|_| bad())?
    };
    if remote.is_empty() {
        return Err(bad());
    }
    Ok((local, remote.to_owned()))
}

/// The pod to forward to, and the Service when the target was one.
pub async fn find_pod(session: &Session, target: &str) -> Result<(Value, Option<Value>), Failure> {
    let (kind, name) = target.split_once('/').unwrap_or(("pod", target));
    let resource = discovery::resolve(session, kind).await?;
    let object = session
        .get_json(&resource.object_path(&session.namespace, name))
        .await?;
    let (selector, service) = match resource.kind.as_str() {
        "Pod" => return Ok((object, None)),
        "Service" => (object["spec"]["selector"].clone(), Some(object)),
        _ => (object["spec"]["selector"]["matchLabels"].clone(), None),
    };
    let labels: Vec<String> = selector
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    let path = format!(
        "/api/v1/namespaces/{}/pods?labelSelector={}",
        session.namespace,
        encode(&labels.join(","))
    );
    let pods = session.get_json(&path).await?;
    let items = pods["items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let ready = |p: &&Value| {
        p["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    };
    let running = |p: &&Value| p["status"]["phase"] == "Running";
    // As kubectl: a ready pod of the selector, else a running one.
    let chosen = items
        .iter()
        .find(|p| running(p) && ready(p))
        .or_else(|| items.iter().find(running));
    let pod = chosen
        .cloned()
        .ok_or_else(|| Failure::Usage(format!("no running pod found for {target}")))?;
    Ok((pod, service))
}

/// The pod's port for `remote`: a number, a container port's name, or (through a Service)
/// the target port of the Service port `remote`.
fn remote_port(pod: &Value, service: Option<&Value>, remote: &str) -> Result<u16, Failure> {
    let named = |name: &str| {
        pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["ports"].as_array().into_iter().flatten())
            .find(|p| p["name"] == name)
            .and_then(|p| p["containerPort"].as_u64())
            .and_then(|p| u16::try_from(p).ok())
    };
    let unknown = || {
        Failure::Usage(format!(
            "Pod '{}' does not have a named port '{remote}'",
            pod["metadata"]["name"].as_str().unwrap_or_default()
        ))
    };
    if let Some(service) = service {
        let number: Option<u64> = remote.parse().ok();
        let port = service["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["port"].as_u64() == number || p["name"] == remote)
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "Service {} does not have a service port {remote}",
                    service["metadata"]["name"].as_str().unwrap_or_default()
                ))
            })?;
        return match &port["targetPort"] {
            Value::String(name) => named(name).ok_or_else(unknown),
            Value::Number(n) => n
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(unknown),
            _ => port["port"]
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(unknown),
        };
    }
    match remote.parse::<u16>() {
        Ok(number) => Ok(number),
        Err(_) => named(remote).ok_or_else(unknown),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn port_pairs() {
        assert_eq!(super::parse_pair("8080:80").unwrap(), (8080, "80".into()));
        assert_eq!(super::parse_pair(":http").unwrap(), (0, "http".into()));
        assert_eq!(super::parse_pair("80").unwrap(), (80, "80".into()));
        assert!(super::parse_pair("x:80").is_err());
        assert!(super::parse_pair("80:").is_err());
    }
}
