//! The node's identity, settled before anything runs: its credential (given, saved in the
//! data directory, or obtained by joining), its address, and its overlay certificate.

use crate::credential::Credential;
use crate::host;
use crate::join::join;
use crate::options::{Access, AgentError, AgentOptions};
use skiff_overlay::{NodeIdentity, OverlayError};
use std::net::IpAddr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The node's address: `--node-ip`, or this host's address on the route towards the first
/// server of the credential (loopback when it names none).
pub(super) fn node_ip(options: &AgentOptions, credential: &Credential) -> IpAddr {
    if let Some(ip) = options.node_ip {
        return ip;
    }
    let server = credential
        .servers
        .first()
        .and_then(|s| s.parse::<http::Uri>().ok());
    let server_host = server
        .as_ref()
        .and_then(|u| u.host())
        .unwrap_or("127.0.0.1");
    host::address_towards(server_host)
}

/// The node's overlay certificate from the API server, asked again (with a warning each
/// time) until it comes or `shutdown` fires (`None`); a refused credential ends it at once.
pub(super) async fn overlay_identity(
    client: &kube::Client,
    ca_pem: &str,
    shutdown: &CancellationToken,
) -> Result<Option<NodeIdentity>, AgentError> {
    let mut delay = Duration::from_millis(500);
    loop {
        match NodeIdentity::fetch(client, ca_pem).await {
            Ok(identity) => return Ok(Some(identity)),
            Err(e @ OverlayError::Refused(_)) => return Err(e.into()),
            Err(e) => {
                tracing::warn!("getting the node's overlay certificate: {e}; retrying in {delay:?}")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// Whether the credential lives in the data directory (so a new replica list is saved
/// there): not when the caller handed it in.
pub(super) fn saves_credential(options: &AgentOptions) -> bool {
    !matches!(options.access, Some(Access::Credential(_)))
}

/// The credential: given, saved, or obtained by joining (and then saved).
pub(super) async fn credential(options: &AgentOptions) -> Result<Credential, AgentError> {
    if let Some(Access::Credential(given)) = &options.access {
        return Ok(given.clone());
    }
    let path = Credential::path(&options.data_dir);
    if let Some(saved) = Credential::load(&options.data_dir)? {
        if saved.node_name != options.node_name {
            return Err(AgentError::OtherNode {
                path,
                saved: saved.node_name,
                wanted: options.node_name.clone(),
            });
        }
        return Ok(saved);
    }
    let Some(Access::Join { server, token }) = &options.access else {
        return Err(AgentError::NoCredential(path));
    };
    let joined = join(server, token, &options.node_name).await?;
    joined.save(&options.data_dir)?;
    tracing::info!(node = %joined.node_name, path = %path.display(), "joined the cluster; credential saved");
    Ok(joined)
}
