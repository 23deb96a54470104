//! `POST /portForward/<namespace>/<pod>/<port>` on a tunnel: one connection `kubectl
//! port-forward` forwards. The API server names the pod's uid (`Skiff-Pod-Uid`, the sandbox
//! id) and virtual IP (`Skiff-Pod-Ip`); the agent asks the pod network where that pod's
//! `port` really listens, as the pod itself would reach it (the pod is the source, so a
//! listener bound to the pod's localhost is reached too, as the kubelet's port-forward
//! reaches it inside the pod's network namespace), connects, and answers 200 with a body
//! of what the pod sends while the request body goes to the pod. Anything else is answered
//! with the reason, which the API server puts on kubectl's error stream.
//!
//! Both directions are bounded: the answer body is read from the socket only as HTTP/2
//! window allows, and the request body is written to the socket before more is taken.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::ready;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use skiff_runtime_wasm::network::{PodNetwork, PodRef, is_real_allowed};
use skiff_runtime_wasm::{ContainerState, Runtime};
use std::convert::Infallible;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio_util::io::ReaderStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::serve::{TunnelBody, text};
use super::source::{POD_UID_HEADER, PodKey};

/// The header in which the API server names the pod's IP.
pub const POD_IP_HEADER: &str = "skiff-pod-ip";
/// Bytes read from the pod at once (one HTTP/2 DATA frame or a few).
const READ_CHUNK: usize = 32 << 10;
/// Where port-forward requests arrive.
pub const PORT_FORWARD_PREFIX: &str = "/portForward/";

/// Why a port of a pod cannot be reached, in the kubelet's and container runtimes' words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortForwardError {
    #[error("{0}")]
    BadRequest(String),
    #[error("pod not found (\"{pod}\"): it does not run on this node")]
    PodNotFound { pod: String },
    #[error("pod \"{pod}\" has no running container")]
    NotRunning { pod: String },
    #[error("failed to connect to localhost:{port} inside the pod: {reason}")]
    Connect { port: u16, reason: String },
}

impl PortForwardError {
    fn status(&self) -> StatusCode {
        match self {
            PortForwardError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PortForwardError::PodNotFound { .. } => StatusCode::NOT_FOUND,
            PortForwardError::NotRunning { .. } => StatusCode::CONFLICT,
            PortForwardError::Connect { .. } => StatusCode::BAD_GATEWAY,
        }
    }
}

/// How the tunnel finds the real address of a port of a pod on this node.
pub trait PodPorts: Send + Sync {
    /// Where `port` of `pod` (whose virtual IP is `ip`) really listens: a loopback address.
    fn locate(
        &self,
        pod: PodKey<'_>,
        ip: IpAddr,
        port: u16,
    ) -> Result<SocketAddr, PortForwardError>;
}

/// [`PodPorts`] over the agent's runtime (which pods run here) and its pod network.
pub struct RuntimePorts {
    runtime: Runtime,
    network: Arc<dyn PodNetwork>,
}

impl RuntimePorts {
    pub fn new(runtime: Runtime, network: Arc<dyn PodNetwork>) -> RuntimePorts {
        RuntimePorts { runtime, network }
    }
}

impl PodPorts for RuntimePorts {
    fn locate(
        &self,
        pod: PodKey<'_>,
        ip: IpAddr,
        port: u16,
    ) -> Result<SocketAddr, PortForwardError> {
        let full_name = format!("{}_{}", pod.name, pod.namespace);
        let containers = self
            .runtime
            .pod_status(pod.uid)
            .map_err(|_| PortForwardError::PodNotFound { pod: full_name })?;
        if !containers
            .iter()
            .any(|c| matches!(c.state, ContainerState::Running { .. }))
        {
            let pod = pod.name.to_owned();
            return Err(PortForwardError::NotRunning { pod });
        }
        let source = PodRef {
            ip,
            namespace: Arc::from(pod.namespace),
        };
        let refused = |reason: String| PortForwardError::Connect { port, reason };
        let real = self
            .network
            .connect(&source, SocketAddr::new(ip, port))
            .map_err(|e| refused(e.to_string()))?;
        if !is_real_allowed(&real) {
            return Err(refused(format!(
                "the pod network named {real}, not a loopback address"
            )));
        }
        Ok(real)
    }
}

/// The pod, uid, IP and port a request names.
fn parse<B>(request: &Request<B>) -> Result<(PodKey<'_>, IpAddr, u16), PortForwardError> {
    let bad = |what: &str| PortForwardError::BadRequest(what.to_owned());
    let rest = request.uri().path().strip_prefix(PORT_FORWARD_PREFIX);
    let parts: Vec<&str> = rest.map(|r| r.split('/').collect()).unwrap_or_default();
    let [namespace, name, port] = parts.as_slice() else {
        return Err(bad("the path is /portForward/<namespace>/<pod>/<port>"));
    };
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| bad(&format!("port \"{port}\" is not a port number above 0")))?;
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let uid = header(POD_UID_HEADER).filter(|u| !u.is_empty());
    let uid =
        uid.ok_or_else(|| bad(&format!("the request names no pod uid ({POD_UID_HEADER})")))?;
    let ip = header(POD_IP_HEADER).and_then(|v| v.parse::<IpAddr>().ok());
    let ip = ip.ok_or_else(|| bad(&format!("the request names no pod IP ({POD_IP_HEADER})")))?;
    let pod = PodKey {
        namespace,
        name,
        uid,
    };
    Ok((pod, ip, port))
}

/// Answers one port-forward request; `shutdown` ends the connection.
pub async fn answer(
    request: Request<Incoming>,
    ports: Option<&Arc<dyn PodPorts>>,
    shutdown: &CancellationToken,
) -> Response<TunnelBody> {
    let Some(ports) = ports else {
        return text(StatusCode::NOT_FOUND, "port-forward is not served here");
    };
    let connected = match parse(&request) {
        Ok((pod, ip, port)) => connect(ports.as_ref(), pod, ip, port).await,
        Err(e) => Err(e),
    };
    let stream = match connected {
        Ok(stream) => stream,
        Err(e) => return text(e.status(), e.to_string()),
    };
    let (from_pod, to_pod) = stream.into_split();
    let upload = AbortOnDropHandle::new(tokio::spawn(upload(request.into_body(), to_pod)));
    // The upload lives as long as the answer body: when kubectl's side is gone (the body is
    // dropped) or the pod closed the connection (the body ends), it is aborted.
    let frames = ReaderStream::with_capacity(from_pod, READ_CHUNK)
        .take_until(shutdown.clone().cancelled_owned())
        .take_while(|read| {
            if let Err(e) = read {
                tracing::debug!("port-forward: reading from the pod: {e}");
            }
            ready(read.is_ok())
        })
        .map(move |read| {
            let _owner = &upload;
            Ok::<_, Infallible>(Frame::data(read.unwrap_or_default()))
        });
    Response::new(StreamBody::new(frames).boxed_unsync())
}

/// Locates and connects to the pod's port.
async fn connect(
    ports: &dyn PodPorts,
    pod: PodKey<'_>,
    ip: IpAddr,
    port: u16,
) -> Result<TcpStream, PortForwardError> {
    let real = ports.locate(pod, ip, port)?;
    let stream = TcpStream::connect(real)
        .await
        .map_err(|e| PortForwardError::Connect {
            port,
            reason: e.to_string(),
        })?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Writes what kubectl sends to the pod, then closes the pod's reading side.
async fn upload(mut body: Incoming, mut to_pod: OwnedWriteHalf) {
    while let Some(frame) = body.frame().await {
        let chunk: Bytes = match frame.map(Frame::into_data) {
            Ok(Ok(chunk)) => chunk,
            Ok(Err(_trailers)) => continue,
            Err(e) => {
                tracing::debug!("port-forward: the request body ended: {e}");
                break;
            }
        };
        if to_pod.write_all(&chunk).await.is_err() {
            return;
        }
    }
    let _ = to_pod.shutdown().await;
}

#[cfg(test)]
mod tests;
