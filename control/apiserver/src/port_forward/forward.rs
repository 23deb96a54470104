//! One forwarded connection: a data and an error stream from kubectl become one HTTP/2
//! request through the pod's node tunnel, `POST /portForward/<ns>/<pod>/<port>` with the
//! pod's uid and IP in headers, whose request body is what kubectl sends and whose answer
//! body is what the pod sends back. A failure goes to the error stream in the kubelet's
//! words ("error forwarding port P to pod N, uid U: ..."), which kubectl prints.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::spdy::session::StreamOut;
use crate::tunnels::{TunnelRequestBody, Tunnels};

/// The agent must answer (connected, or why not) within this.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// An agent's refusal is read up to this size.
const MAX_REFUSAL: usize = 16 * 1024;
/// Names the pod's uid (the agent's sandbox id) to the agent.
pub(crate) const POD_UID_HEADER: &str = "skiff-pod-uid";
/// Names the pod's IP to the agent.
pub(crate) const POD_IP_HEADER: &str = "skiff-pod-ip";

/// The pod whose ports are forwarded, and how its node is reached.
pub(super) struct PodTarget {
    pub(super) namespace: String,
    pub(super) name: String,
    pub(super) uid: String,
    pub(super) ip: String,
    pub(super) node: String,
    pub(super) tunnels: Arc<Tunnels>,
}

/// The client went away: what is written to it is lost.
#[derive(Debug)]
pub(super) struct ClientGone;

/// Where a forward writes what goes to the client: a SPDY stream, or a WebSocket channel.
pub(super) trait Downstream: Clone + Send + Sync + 'static {
    /// Sends `data` to the client.
    fn send(&self, data: Bytes) -> impl Future<Output = Result<(), ClientGone>> + Send;
    /// Tells the client no more data comes (where the protocol can say so).
    fn finish(&self) -> impl Future<Output = Result<(), ClientGone>> + Send;
}

impl Downstream for StreamOut {
    async fn send(&self, data: Bytes) -> Result<(), ClientGone> {
        StreamOut::send(self, data).await.map_err(|_| ClientGone)
    }

    async fn finish(&self) -> Result<(), ClientGone> {
        StreamOut::finish(self).await.map_err(|_| ClientGone)
    }
}

/// One stream of a pair (or one channel), as the forwarding uses it.
pub(super) struct Half<O> {
    /// What the client sends (`None` for the error stream, whose data is discarded).
    pub(super) data: Option<mpsc::Receiver<Bytes>>,
    pub(super) reset: CancellationToken,
    pub(super) out: O,
}

/// Why a connection could not be forwarded; kubectl prints it after the kubelet's prefix.
#[derive(Debug, thiserror::Error)]
enum ForwardError {
    #[error(
        "node \"{0}\" has no tunnel to this API server (the node agent is down, starting, or cannot reach this replica)"
    )]
    NoTunnel(String),
    #[error("the tunnel of node \"{node}\" failed: {source}")]
    Tunnel { node: String, source: hyper::Error },
    #[error("node \"{0}\" did not answer within {ANSWER_TIMEOUT:?}")]
    Timeout(String),
    /// The agent's own words.
    #[error("{0}")]
    Agent(String),
    #[error("building the node request: {0}")]
    Request(#[from] http::Error),
}

/// Forwards one connection to `port` of `pod`, then ends both streams.
pub(super) async fn run<O: Downstream>(
    data: Half<O>,
    error: Half<O>,
    port: u16,
    pod: Arc<PodTarget>,
) {
    let data_out = data.out.clone();
    let outcome = exchange(data, port, &pod).await;
    if let Err(e) = outcome {
        let _ = data_out.finish().await;
        let message = format!(
            "error forwarding port {port} to pod {}, uid {}: {e}",
            pod.name, pod.uid
        );
        tracing::info!(namespace = %pod.namespace, "{message}");
        // kubectl may be gone already: nothing to do about a failed write.
        let _ = error.out.send(Bytes::from(message)).await;
    }
    let _ = error.out.finish().await;
}

/// The request to the agent, and the copy of its answer to the data stream.
async fn exchange<O: Downstream>(
    data: Half<O>,
    port: u16,
    pod: &PodTarget,
) -> Result<(), ForwardError> {
    let Half {
        data: upload,
        reset,
        out,
    } = data;
    let node = pod.node.clone();
    let mut tunnel = pod
        .tunnels
        .sender(&node)
        .ok_or_else(|| ForwardError::NoTunnel(node.clone()))?;
    let body = upload.map_or_else(TunnelRequestBody::new, TunnelRequestBody::streaming);
    let request = forward_request(pod, port, body)?;
    let lost = |source| ForwardError::Tunnel {
        node: node.clone(),
        source,
    };
    let answer = tokio::time::timeout(ANSWER_TIMEOUT, async {
        tunnel.ready().await.map_err(lost)?;
        tunnel.send_request(request).await.map_err(lost)
    });
    let answer = tokio::select! {
        answer = answer => answer.map_err(|_| ForwardError::Timeout(node.clone()))??,
        () = reset.cancelled() => return Ok(()),
    };
    if answer.status() != StatusCode::OK {
        return Err(ForwardError::Agent(refusal(answer.into_body()).await));
    }
    copy_answer(answer.into_body(), &reset, &out)
        .await
        .map_err(lost)
}

/// The agent's request for one connection: `POST /portForward/<ns>/<pod>/<port>` to the pod's
/// node, naming the pod's uid and IP, whose body is what kubectl sends.
fn forward_request(
    pod: &PodTarget,
    port: u16,
    body: TunnelRequestBody,
) -> Result<Request<TunnelRequestBody>, http::Error> {
    Request::post(format!(
        "/portForward/{}/{}/{port}",
        pod.namespace, pod.name
    ))
    .header(header::HOST, &pod.node)
    .header(POD_UID_HEADER, &pod.uid)
    .header(POD_IP_HEADER, &pod.ip)
    .body(body)
}

/// The agent's refusal in its own words (up to [`MAX_REFUSAL`] bytes), or why it could not
/// be read.
async fn refusal(body: Incoming) -> String {
    let text = Limited::new(body, MAX_REFUSAL).collect().await;
    text.map_or_else(
        |e| format!("reading the node's answer: {e}"),
        |b| String::from_utf8_lossy(&b.to_bytes()).trim().to_owned(),
    )
}

/// Copies the agent's answer to the client until it ends (then tells the client so), kubectl
/// resets the stream, or the client is gone. An error is the tunnel's.
async fn copy_answer<O: Downstream>(
    mut body: Incoming,
    reset: &CancellationToken,
    out: &O,
) -> Result<(), hyper::Error> {
    loop {
        let frame = tokio::select! {
            frame = body.frame() => frame,
            // kubectl reset the stream: dropping the answer resets the agent's stream too.
            () = reset.cancelled() => return Ok(()),
        };
        let Some(frame) = frame else { break };
        let frame = frame?;
        if let Ok(chunk) = frame.into_data()
            && out.send(chunk).await.is_err()
        {
            return Ok(());
        }
    }
    let _ = out.finish().await;
    Ok(())
}
