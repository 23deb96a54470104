//! `pods/portforward`: `kubectl port-forward` through the API server and the pod's node
//! agent. The request is authorised as `create` on `pods/portforward` (a WebSocket upgrade
//! is a GET, but may not pass on `get` alone), the pod must exist, be bound to a node and
//! have an IP, and that node must have a tunnel to this replica; then the connection is
//! upgraded (WebSocket carrying SPDY, or plain SPDY/3.1, as kubectl speaks; or the WebSocket
//! channel protocol, as kube-rs and the Python client speak) and each forwarded connection
//! becomes one HTTP/2 request through the node's tunnel, which the agent connects to the
//! pod's port (`node/agent/src/tunnel/port_forward.rs`).
//!
//! # Layout
//! - [`upgrade`]: which upgrade the headers ask for, and the 101 answer (pure).
//! - [`websocket`]: SPDY's bytes in WebSocket messages.
//! - [`channel`]: the channel protocol's ports, framing and channels (pure).
//! - [`channel_session`]: one WebSocket of the channel protocol: a forward per port.
//! - [`spdy`]: SPDY/3.1 frames, header compression and the session.
//! - [`pairs`]: the kubelet's stream checks and data/error pairing (pure).
//! - [`connection`]: one upgraded connection: the session and its streams.
//! - [`forward`]: one forwarded connection through the node tunnel.

mod channel;
mod channel_session;
mod connection;
mod forward;
mod pairs;
mod spdy;
mod upgrade;
mod websocket;

use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use skiff_api::status::ApiError;
use skiff_respond::Body;
use tokio_util::sync::CancellationToken;

use super::ApiServer;
use super::auth::Identity;
use super::request::{ResourceRequest, Verb};
use channel::Framing;
use forward::PodTarget;
use upgrade::Transport;

impl ApiServer {
    /// Serves `GET` or `POST pods/<name>/portforward`: checks, then `101 Switching
    /// Protocols` and a task (in the server's `TaskTracker`) that serves the connection.
    pub(crate) async fn port_forward(
        &self,
        identity: &Identity,
        resource: &ResourceRequest,
        mut request: Request<Incoming>,
    ) -> Result<Response<Body>, ApiError> {
        let mut create = resource.clone();
        create.verb = Verb::Create;
        if !matches!(identity, Identity::Admin) {
            self.authorize(identity, &create, None).await?;
        }
        if !matches!(resource.verb, Verb::Get | Verb::Create) {
            return Err(ApiError::method_not_allowed(
                "pods/portforward is reached with GET (WebSocket) or POST (SPDY)",
            ));
        }
        let name = resource.name.as_deref().unwrap_or_default();
        let namespace = resource.namespace.as_deref().unwrap_or_default();
        let pod = self
            .objects
            .must_get(resource.info, resource.namespace.as_deref(), name)
            .await?;
        // As kube-apiserver: the pod's location first, then the upgrade.
        let target = self.pod_target(&pod, namespace, name)?;
        let transport = upgrade::negotiate(request.version(), request.method(), request.headers())?;
        let ports = match &transport {
            Transport::Channel { protocol, .. } => {
                channel::requested_ports(request.uri().query(), Framing::of(protocol))?
            }
            Transport::Spdy | Transport::WebSocket { .. } => Vec::new(),
        };
        let on_upgrade = hyper::upgrade::on(&mut request);
        let answer = upgrade::switching(&transport);
        let serve = upgraded(
            on_upgrade,
            transport,
            ports,
            Arc::new(target),
            self.shutdown.clone(),
        );
        self.tasks.spawn(serve);
        Ok(answer)
    }

    /// Where pod `name` runs, or why its ports cannot be reached (kube-apiserver's words for
    /// an unscheduled pod).
    fn pod_target(&self, pod: &Value, namespace: &str, name: &str) -> Result<PodTarget, ApiError> {
        let field = |value: &Value| value.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let Some(node) = field(&pod["spec"]["nodeName"]) else {
            return Err(ApiError::bad_request(format!(
                "pod {name} does not have a host assigned"
            )));
        };
        let Some(ip) = field(&pod["status"]["podIP"]) else {
            return Err(ApiError::bad_request(format!(
                "pod {name} does not have an IP address yet: it is not running"
            )));
        };
        if self.tunnels.sender(&node).is_none() {
            return Err(ApiError::unavailable(format!(
                "cannot forward ports of pod \"{name}\": node \"{node}\" has no tunnel to this API server (the node agent is down, starting, or cannot reach this replica)"
            )));
        }
        Ok(PodTarget {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            uid: field(&pod["metadata"]["uid"]).unwrap_or_default(),
            ip,
            node,
            tunnels: self.tunnels.clone(),
        })
    }
}

/// The owner of one upgraded connection: waits for the upgrade, then serves it until
/// kubectl leaves or `shutdown` fires.
async fn upgraded(
    on_upgrade: OnUpgrade,
    transport: Transport,
    ports: Vec<u16>,
    pod: Arc<PodTarget>,
    shutdown: CancellationToken,
) {
    let upgraded = tokio::select! {
        upgraded = on_upgrade => match upgraded {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::info!(pod = %pod.name, "port-forward upgrade failed: {e}");
                return;
            }
        },
        () = shutdown.cancelled() => return,
    };
    let (namespace, name) = (&pod.namespace, &pod.name);
    tracing::info!("port-forward connection open over {transport} to pod {namespace}/{name}");
    let io = TokioIo::new(upgraded);
    match transport {
        Transport::Spdy => {
            let (input, output) = tokio::io::split(io);
            connection::serve(input, output, pod, shutdown).await;
        }
        Transport::WebSocket { .. } => {
            let (input, output) = websocket::byte_stream(io).await;
            connection::serve(input, output, pod, shutdown).await;
        }
        Transport::Channel { protocol, .. } => {
            channel_session::serve(io, Framing::of(protocol), ports, pod, shutdown).await;
        }
    }
}
