//! Request dispatch for a replica's HTTPS endpoint, and who may call what: peers present the
//! cluster secret, joining nodes the agent token's, clients the admin bearer token, node
//! tunnels (`/skiff/v1/tunnel`) and node certificate requests (`/skiff/v1/node-certificate`)
//! their node's token; `/cacerts` and health checks are open.

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use tokio_util::sync::CancellationToken;

use crate::kv_api;
use crate::node_cert;
use crate::node_join::{NodeJoin, PATH_NODE_JOIN};
use skiff_apiserver::ApiServer;
use skiff_pki::ct_eq;
use skiff_replica::{PATH_STREAM, PEER_AUTH_HEADER, Replica, accept_stream, handle_peer_request};
use skiff_respond::{self as respond, Body};
use skiff_store::codec;

pub(crate) struct Router {
    pub replica: Arc<Replica>,
    /// Everything that is not peer, store or CA traffic: the Kubernetes API.
    pub api: Arc<ApiServer>,
    /// The cluster secret peers must present.
    pub peer_secret: String,
    /// The agent token's secret, which admits node agents (not peers).
    pub agent_secret: String,
    /// The bearer token of the cluster administrator.
    pub admin_token: String,
    /// The cluster CA, served to joiners who check it against their token's pin.
    pub ca_pem: String,
    /// What an authenticated joining replica receives.
    pub join_bundle: JoinBundle,
    /// Ends the raft streams this router accepted.
    pub shutdown: CancellationToken,
}

/// The shared secrets a joining replica needs: the CA (to issue its own serving certificate)
/// and the admin token. Only sent to callers that present the cluster secret, over TLS.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct JoinBundle {
    pub ca_cert_pem: String,
    pub ca_key_pem: String,
    pub admin_token: String,
}

pub(crate) const PATH_JOIN_BUNDLE: &str = "/raft/join-bundle";

impl Router {
    /// Serves one request on the replica's HTTPS endpoint: the CA, peer traffic, node joins,
    /// node certificates, node tunnels and the store API here, the rest by the Kubernetes API.
    pub(crate) async fn handle(
        &self,
        request: Request<Incoming>,
        peer: SocketAddr,
    ) -> Response<Body> {
        let path = request.uri().path().to_owned();
        if path.as_str() == "/cacerts" {
            return respond::bytes(
                StatusCode::OK,
                "application/x-pem-file",
                self.ca_pem.clone(),
            );
        }
        if path.starts_with("/raft/") {
            return self.handle_peer(request, &path, peer).await;
        }
        if path == PATH_NODE_JOIN {
            let join = NodeJoin {
                api: &self.api,
                replica: &self.replica,
                secrets: [&self.agent_secret, &self.peer_secret],
                ca_pem: &self.ca_pem,
            };
            return join.handle(request).await;
        }
        if path == node_cert::PATH_NODE_CERTIFICATE {
            let bundle = &self.join_bundle;
            return node_cert::handle(&self.api, &bundle.ca_cert_pem, &bundle.ca_key_pem, request)
                .await;
        }
        if path == skiff_apiserver::TUNNEL_PATH {
            return self.api.accept_tunnel(request).await;
        }
        if let Some(rest) = path.strip_prefix("/kv/v1/") {
            if !self.is_admin(&request) {
                return respond::json_error(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized",
                    "a valid bearer token is required",
                );
            }
            return kv_api::handle(&self.replica, rest, request).await;
        }
        self.api.handle(request).await
    }

    /// Serves a request under `/raft/` from another replica: refused unless it presents the
    /// cluster secret; then the raft stream, the registry's peer traffic, the join bundle, or
    /// the replica's peer API.
    async fn handle_peer(
        &self,
        request: Request<Incoming>,
        path: &str,
        peer: SocketAddr,
    ) -> Response<Body> {
        let presented = request
            .headers()
            .get(PEER_AUTH_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !ct_eq(presented, self.peer_secret.as_bytes()) {
            tracing::warn!("refused {path} from {peer}: it presented a wrong cluster token");
            return respond::text(
                StatusCode::UNAUTHORIZED,
                "wrong cluster token: this replica belongs to another cluster or the token is mistyped",
            );
        }
        if path == PATH_STREAM {
            return accept_stream(self.replica.clone(), request, self.shutdown.clone());
        }
        if path.starts_with(skiff_apiserver::REGISTRY_PEER_PREFIX) {
            return self.api.serve_registry_peer(request).await;
        }
        if path == PATH_JOIN_BUNDLE {
            tracing::info!("handing the join bundle to {peer}");
            return respond::bytes(
                StatusCode::OK,
                "application/octet-stream",
                codec::encode(&self.join_bundle),
            );
        }
        handle_peer_request(&self.replica, path, request).await
    }

    fn is_admin(&self, request: &Request<Incoming>) -> bool {
        let header = request
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        match header.strip_prefix(b"Bearer ") {
            Some(token) => ct_eq(token, self.admin_token.as_bytes()),
            None => false,
        }
    }
}
