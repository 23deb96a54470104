//! Issuing a node its own credential when its agent joins (k3s' node password and kubelet
//! client certificate, as a bearer token): the token lives in a Secret
//! `kube-system/node-token-<node>` of type `skiff.io/node-token`, which the token index then
//! authenticates as `system:node:<node>`. The caller (the server's router) has already checked
//! the join token; here the node name is checked and the Secret created, once per name.

use base64::Engine;
use serde_json::json;
use skiff_api::status::ApiError;

use super::ApiServer;
use super::auth::{NODE_TOKEN_TYPE, TOKEN_NAMESPACE};
use super::request::{Query, ResourceRequest, Verb};

/// Why a node could not join.
#[derive(Debug, thiserror::Error)]
pub enum NodeJoinError {
    #[error("invalid node name {name:?}: {reasons}")]
    BadName { name: String, reasons: String },
    #[error(
        "a node named {name:?} has already joined; to join again under this name, delete its credential first: kubectl -n kube-system delete secret {secret}"
    )]
    AlreadyJoined { name: String, secret: String },
    #[error("storing the credential of node {name:?}: {source}")]
    Store { name: String, source: ApiError },
}

/// The name of the Secret holding a node's credential.
pub fn node_token_secret(node: &str) -> String {
    format!("node-token-{node}")
}

impl ApiServer {
    /// Creates the credential of node `name` and returns its bearer token. A name that
    /// already has one is refused (the first agent keeps it), so a join token cannot be used
    /// to take over a node that exists.
    pub async fn issue_node_credential(&self, name: &str) -> Result<String, NodeJoinError> {
        let mut reasons = skiff_api::validate::names::dns1123_subdomain(name);
        if name.len() > 240 {
            reasons.push("must be no more than 240 characters".into());
        }
        if !reasons.is_empty() {
            return Err(NodeJoinError::BadName {
                name: name.to_owned(),
                reasons: reasons.join("; "),
            });
        }
        let token = skiff_pki::generate_bearer_token();
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let secret_name = node_token_secret(name);
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret", "type": NODE_TOKEN_TYPE,
            "metadata": {"name": secret_name, "namespace": TOKEN_NAMESPACE,
                         "labels": {"skiff.io/node": name}},
            "data": {"token": b64(&token), "node-name": b64(name)},
        });
        let request = ResourceRequest {
            verb: Verb::Create,
            info: skiff_api::resources::find("", "v1", "secrets").expect("secrets are served"),
            namespace: Some(TOKEN_NAMESPACE.to_owned()),
            name: None,
            subresource: None,
            query: Query::default(),
        };
        match self.create(&request, secret).await {
            Ok(_) => Ok(token),
            Err(e) if e.reason == "AlreadyExists" => Err(NodeJoinError::AlreadyJoined {
                name: name.to_owned(),
                secret: secret_name,
            }),
            Err(source) => Err(NodeJoinError::Store {
                name: name.to_owned(),
                source,
            }),
        }
    }
}
