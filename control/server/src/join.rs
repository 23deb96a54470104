//! Joining a cluster: fetch the CA and admin token from a member (authenticated by the join
//! token's CA pin), then, once this replica serves, ask the cluster to add it.

use std::time::Duration;

use skiff_pki::{self as pki, JoinToken, Pki};
use skiff_replica::PeerClient;
use skiff_replica::ops::{AddReplica, AddReplicaError, PATH_ADD_REPLICA};

use crate::data_dir;
use crate::launch::{LaunchError, LaunchOptions};
use crate::routes::{JoinBundle, PATH_JOIN_BUNDLE};

/// Authenticates the cluster by the token's CA pin, then fetches the CA and admin token.
pub(crate) async fn fetch_join_pki(
    options: &LaunchOptions,
    url: &str,
    sans: &[String],
) -> Result<Pki, LaunchError> {
    let raw = options.token.as_deref().ok_or(LaunchError::MissingToken)?;
    let token = JoinToken::parse(raw.trim()).and_then(JoinToken::require_server)?;
    let ca_pem = pki::fetch_ca(url, &token)
        .await
        .map_err(|source| LaunchError::Join {
            url: url.to_owned(),
            source,
        })?;
    let client = PeerClient::new(pki::client_config(&ca_pem)?, token.secret());
    let bundle: JoinBundle = client
        .call(url, PATH_JOIN_BUNDLE, &(), Duration::from_secs(10))
        .await
        .map_err(|e| LaunchError::JoinRefused {
            url: url.to_owned(),
            message: e.to_string(),
        })?;
    // Every replica accepts the same admin token: put the cluster's in place before the PKI
    // loader would invent one. An existing file is kept (never overwritten).
    let paths = pki::PkiPaths::new(&options.data_dir);
    paths.create_dirs().map_err(|e| LaunchError::DataDir {
        path: paths.dir.clone(),
        message: e.to_string(),
    })?;
    if !paths.admin_token.exists() {
        data_dir::write_secret(&paths.admin_token, &format!("{}\n", bundle.admin_token)).map_err(
            |e| LaunchError::DataDir {
                path: paths.admin_token.clone(),
                message: e.to_string(),
            },
        )?;
    }
    Ok(Pki::install_joined(
        &options.data_dir,
        &bundle.ca_cert_pem,
        &bundle.ca_key_pem,
        &token,
        sans,
    )?)
}

/// Asks the member at `url` to add this replica (learner, then voter), and waits for it.
pub(crate) async fn ask_to_join(
    peers: &PeerClient,
    url: &str,
    request: &AddReplica,
) -> Result<(), LaunchError> {
    let answer: Result<Result<(), AddReplicaError>, _> = peers
        .call(url, PATH_ADD_REPLICA, request, Duration::from_secs(120))
        .await;
    let message = match answer {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(refusal)) => refusal.to_string(),
        Err(e) => e.to_string(),
    };
    Err(LaunchError::JoinRefused {
        url: url.to_owned(),
        message,
    })
}
