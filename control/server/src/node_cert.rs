//! `POST /skiff/v1/node-certificate`: a node agent, authenticated by its node bearer token,
//! receives a certificate of its own signed by the cluster CA (`CN=system:node:<name>`, DNS
//! SAN `<name>`) and its key, for the mutual TLS of the node-to-node overlay tunnels. As
//! k3s' server hands each agent its kubelet certificate and key over the authenticated
//! connection, the key is made here and travels only over the caller's TLS connection.

use http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde::Serialize;

use skiff_apiserver::ApiServer;
use skiff_pki::ClusterCa;
use skiff_respond::{self as respond, Body};

pub(crate) const PATH_NODE_CERTIFICATE: &str = "/skiff/v1/node-certificate";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NodeCertificate {
    node_name: String,
    cert_pem: String,
    key_pem: String,
}

/// Answers a node's certificate request.
pub(crate) async fn handle(
    api: &ApiServer,
    ca_cert_pem: &str,
    ca_key_pem: &str,
    request: Request<Incoming>,
) -> Response<Body> {
    if request.method() != Method::POST {
        return respond::text(StatusCode::METHOD_NOT_ALLOWED, "use POST");
    }
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .unwrap_or_default();
    let node = match api.authenticate_node(token).await {
        Ok(node) => node,
        Err(e) => {
            let status = StatusCode::from_u16(e.code).unwrap_or(StatusCode::FORBIDDEN);
            return respond::json(status, &e.to_json());
        }
    };
    let issued =
        ClusterCa::from_pem(ca_cert_pem, ca_key_pem).and_then(|ca| ca.issue_node_cert(&node));
    match issued {
        Ok(cert) => {
            tracing::info!("issued node {node} its overlay certificate");
            respond::json(
                StatusCode::OK,
                &NodeCertificate {
                    node_name: node,
                    cert_pem: cert.cert_pem,
                    key_pem: cert.key_pem,
                },
            )
        }
        Err(e) => respond::text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("issuing a certificate for node {node}: {e}"),
        ),
    }
}
