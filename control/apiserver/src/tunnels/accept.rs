//! `GET /skiff/v1/tunnel` with `Upgrade: skiff-tunnel/1`: a node agent, authenticated by
//! its node token, opens a tunnel. After `101 Switching Protocols` this replica runs an
//! HTTP/2 client over the connection and registers it under the node's name.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use skiff_api::status::ApiError;
use skiff_respond::Body;
use tokio_util::sync::CancellationToken;

use super::Tunnels;
use crate::auth::{self, Identity};
use crate::{ApiServer, respond};

/// Where agents open tunnels.
pub const TUNNEL_PATH: &str = "/skiff/v1/tunnel";
/// The `Upgrade` protocol of a tunnel.
pub const TUNNEL_PROTOCOL: &str = "skiff-tunnel/1";

/// HTTP/2 pings on an idle tunnel, so a vanished agent is noticed and unregistered.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);

impl ApiServer {
    /// The node a bearer token belongs to: 401 for an unknown token, 403 for a token that is
    /// not a node's.
    pub async fn authenticate_node(&self, token: &[u8]) -> Result<String, ApiError> {
        match auth::authenticate(token, &self.fixed_tokens, &self.tokens, &self.objects).await? {
            Some(Identity::Node(node)) => Ok(node),
            Some(other) => Err(ApiError::forbidden(format!(
                "User \"{}\" cannot open a node tunnel: only nodes can",
                other.user_name()
            ))),
            None => Err(ApiError::unauthorized()),
        }
    }

    /// Serves `GET /skiff/v1/tunnel`: authenticates the node, answers 101 and hands the
    /// connection to a task that keeps the tunnel until it closes or the server stops.
    pub async fn accept_tunnel(&self, mut request: Request<Incoming>) -> Response<Body> {
        let token = auth::bearer(
            request
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes()),
        );
        let node = match token {
            Some(token) => self.authenticate_node(token).await,
            None => Err(ApiError::unauthorized()),
        };
        let node = match node {
            Ok(node) => node,
            Err(e) => return respond::status(&e, false),
        };
        let upgrade = request
            .headers()
            .get(header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if request.method() != Method::GET || !upgrade.eq_ignore_ascii_case(TUNNEL_PROTOCOL) {
            let wrong = ApiError::bad_request(format!(
                "a tunnel is opened with GET {TUNNEL_PATH} and Upgrade: {TUNNEL_PROTOCOL}"
            ));
            return respond::status(&wrong, false);
        }
        let on_upgrade = hyper::upgrade::on(&mut request);
        let tunnels = self.tunnels.clone();
        let shutdown = self.shutdown.clone();
        self.tasks
            .spawn(keep_tunnel(on_upgrade, node, tunnels, shutdown));
        let mut response = Response::new(skiff_respond::full(bytes::Bytes::new()));
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(
            header::CONNECTION,
            header::HeaderValue::from_static("Upgrade"),
        );
        headers.insert(
            header::UPGRADE,
            header::HeaderValue::from_static(TUNNEL_PROTOCOL),
        );
        response
    }
}

/// The owner of one tunnel: takes the upgraded connection, registers its HTTP/2 client
/// under `node`, drives it until it closes or `shutdown` fires, then unregisters it.
async fn keep_tunnel(
    on_upgrade: hyper::upgrade::OnUpgrade,
    node: String,
    tunnels: Arc<Tunnels>,
    shutdown: CancellationToken,
) {
    let upgraded = tokio::select! {
        upgraded = on_upgrade => match upgraded {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::warn!(%node, "node tunnel upgrade failed: {e}");
                return;
            }
        },
        () = shutdown.cancelled() => return,
    };
    let handshake = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
        .keep_alive_while_idle(true)
        .handshake(upgraded);
    let (sender, connection) = match handshake.await {
        Ok(pair) => pair,
        Err(e) => {
            tracing::warn!(%node, "node tunnel: HTTP/2 handshake failed: {e}");
            return;
        }
    };
    let id = tunnels.register(&node, sender);
    tracing::info!(%node, "node tunnel open");
    tokio::select! {
        ended = connection => match ended {
            Ok(()) => tracing::info!(%node, "node tunnel closed"),
            Err(e) => tracing::info!(%node, "node tunnel closed: {e}"),
        },
        () = shutdown.cancelled() => {}
    }
    tunnels.unregister(&node, id);
}
