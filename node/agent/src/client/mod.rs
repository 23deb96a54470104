//! The agent's kube-rs client, which follows the control plane's replicas: one
//! [`kube::Client`] whose requests go to whichever replica is current, moving to the next one
//! when the current one fails (see [`replicas`]). Every replica is reached with the node's
//! bearer token and verified against the cluster CA only.
//!
//! # Layout
//! - here: [`client`], building it from a credential, and [`server_client`], the client of
//!   one replica URL.
//! - [`replicas`]: [`Replicas`], the list of replica URLs and the current one, and the
//!   failover service the agent's client runs on.
//! - [`endpoints`]: replica URLs from the `default/kubernetes` Endpoints, and the loop that
//!   keeps [`Replicas`] (and the tunnels, and the saved credential) in step with them.

pub mod endpoints;
pub mod replicas;

pub use replicas::Replicas;

use crate::credential::Credential;
use kube::Client;
use kube::config::AuthInfo;
use skiff_pipe::Retry;
use std::time::Duration;

/// Why a client could not be built from a credential.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the credential's server URL {url:?} is invalid: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("the credential names no server URL")]
    NoServer,
    #[error("the credential's CA is not a PEM certificate")]
    BadCa,
    #[error("building the API client: {0}")]
    Build(#[source] kube::Error),
    #[error(transparent)]
    Pipe(skiff_pipe::PipeError),
}

/// A client acting as `system:node:<name>` on every replica the credential lists (the
/// first is used until it fails), and the handle that changes the list. Requests to
/// `in_process`'s URL go through its in-process connections.
pub fn client(
    credential: &Credential,
    in_process: Option<InProcessApi>,
) -> Result<(Client, Replicas), ClientError> {
    let replicas = Replicas::new(credential, in_process)?;
    Ok((replicas.client(), replicas))
}

/// The replica running in the agent's own process (`skiff up`): its URL, and the dialer of
/// its in-process connections (HTTP without TLS or a socket; the node's token still
/// authenticates every request).
#[derive(Clone, Debug)]
pub struct InProcessApi {
    pub url: String,
    pub dialer: skiff_pipe::Dialer,
}

/// The client of one replica: in-process when it is `in_process`'s, else over HTTPS.
fn replica_client(
    url: &str,
    ca_pem: &str,
    token: &str,
    in_process: Option<&InProcessApi>,
) -> Result<Client, ClientError> {
    match in_process {
        // No retries of 503 on the same replica, as `server_client`'s.
        Some(local) if local.url == url => {
            skiff_pipe::client(local.dialer.clone(), token, "default", Retry::Never)
                .map_err(ClientError::Pipe)
        }
        _ => server_client(url, ca_pem, token),
    }
}

/// The kube-rs client of one replica: `url`, verified against `ca_pem`, with `token`.
pub fn server_client(url: &str, ca_pem: &str, token: &str) -> Result<Client, ClientError> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| ClientError::BadUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    let ca: Vec<Vec<u8>> = rustls_pemfile::certs(&mut ca_pem.as_bytes())
        .filter_map(Result::ok)
        .map(|der| der.to_vec())
        .collect();
    if ca.is_empty() {
        return Err(ClientError::BadCa);
    }
    let mut config = kube::Config::new(uri);
    config.root_cert = Some(ca);
    config.connect_timeout = Some(Duration::from_secs(5));
    // No read timeout: it would cut quiet watches. Single requests are bounded by their
    // callers (`crate::api::bounded`).
    // No retries of 503 on the same replica: the failover service tries the next replica
    // instead (a replica cut off from its peers answers 503 to everything).
    config.default_retry = false;
    config.auth_info = AuthInfo {
        token: Some(token.to_owned().into()),
        ..AuthInfo::default()
    };
    Client::try_from(config).map_err(ClientError::Build)
}
