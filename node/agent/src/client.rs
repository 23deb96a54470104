//! The agent's kube-rs client: the first control-plane URL of the credential, verified
//! against the cluster CA, with the node's bearer token. Moving to another replica when
//! this one dies is later work (the credential already lists them all).

use crate::credential::Credential;
use kube::Client;
use kube::config::AuthInfo;
use std::time::Duration;

/// Why a client could not be built from a credential.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the credential's server URL {url:?} is invalid: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("the credential's CA is not a PEM certificate")]
    BadCa,
    #[error("building the API client: {0}")]
    Build(#[source] kube::Error),
}

/// A client acting as `system:node:<name>`.
pub fn client(credential: &Credential) -> Result<Client, ClientError> {
    let url = credential.servers.first().cloned().unwrap_or_default();
    let uri: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| ClientError::BadUrl {
            url: url.clone(),
            reason: e.to_string(),
        })?;
    let ca: Vec<Vec<u8>> = rustls_pemfile::certs(&mut credential.ca_cert.as_bytes())
        .filter_map(Result::ok)
        .map(|der| der.to_vec())
        .collect();
    if ca.is_empty() {
        return Err(ClientError::BadCa);
    }
    let mut config = kube::Config::new(uri);
    config.root_cert = Some(ca);
    config.connect_timeout = Some(Duration::from_secs(10));
    // No read timeout: it would cut quiet watches. Single requests are bounded by their
    // callers (`crate::api::bounded`).
    config.auth_info = AuthInfo {
        token: Some(credential.token.clone().into()),
        ..AuthInfo::default()
    };
    Client::try_from(config).map_err(ClientError::Build)
}
