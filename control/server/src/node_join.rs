//! `POST /skiff/v1/node-join`: a node agent presents the agent token's secret (or the cluster
//! secret, as k3s accepts the server token from agents) and a node name, and receives a
//! credential of its own, the cluster CA and every control-plane replica's URL. The agent
//! never holds the admin token.

use http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde::{Deserialize, Serialize};

use skiff_apiserver::{ApiServer, NodeJoinError};
use skiff_pki::ct_eq;
use skiff_replica::Replica;
use skiff_respond::{self as respond, Body};

pub(crate) const PATH_NODE_JOIN: &str = "/skiff/v1/node-join";
/// Largest join request body.
const MAX_BODY: usize = 4096;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JoinRequest {
    node_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JoinAnswer<'a> {
    node_name: &'a str,
    token: String,
    servers: Vec<String>,
    ca_cert: &'a str,
}

/// What the join endpoint needs besides the request.
pub(crate) struct NodeJoin<'a> {
    pub api: &'a ApiServer,
    pub replica: &'a Replica,
    /// Secrets that admit a node: the agent token's and the cluster token's.
    pub secrets: [&'a str; 2],
    pub ca_pem: &'a str,
}

impl NodeJoin<'_> {
    pub(crate) async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        if request.method() != Method::POST {
            return respond::text(StatusCode::METHOD_NOT_ALLOWED, "use POST");
        }
        if !self.admits(&request) {
            return respond::text(
                StatusCode::UNAUTHORIZED,
                "wrong join token: use the agent token (<server data-dir>/agent-token) of this cluster",
            );
        }
        let body = match respond::read_body(request.into_body(), MAX_BODY).await {
            Ok(body) => body,
            Err(e) => return respond::text(e.status(), e.to_string()),
        };
        let asked: JoinRequest = match serde_json::from_slice(&body) {
            Ok(asked) => asked,
            Err(e) => {
                return respond::text(
                    StatusCode::BAD_REQUEST,
                    format!("the join request must be JSON {{\"nodeName\": \"...\"}}: {e}"),
                );
            }
        };
        let name = asked.node_name.as_str();
        match self.api.issue_node_credential(name).await {
            Ok(token) => {
                tracing::info!("node {name} joined");
                respond::json(
                    StatusCode::OK,
                    &JoinAnswer {
                        node_name: name,
                        token,
                        servers: self.replica.members().into_iter().map(|m| m.1).collect(),
                        ca_cert: self.ca_pem,
                    },
                )
            }
            Err(e) => {
                let status = match &e {
                    NodeJoinError::BadName { .. } => StatusCode::BAD_REQUEST,
                    NodeJoinError::AlreadyJoined { .. } => StatusCode::CONFLICT,
                    NodeJoinError::Store { .. } => StatusCode::SERVICE_UNAVAILABLE,
                };
                respond::text(status, e.to_string())
            }
        }
    }

    fn admits(&self, request: &Request<Incoming>) -> bool {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
            .unwrap_or_default();
        // Both compared, so the time taken does not say which one matched.
        let matches = self.secrets.map(|s| ct_eq(presented, s.as_bytes()));
        !presented.is_empty() && matches.iter().any(|m| *m)
    }
}
