//! The agent's tunnels to the control plane, which serve container logs (`kubectl logs`),
//! the node's resource metrics (`kubectl top`) and connections to pods' ports (`kubectl
//! port-forward`) without the agent ever listening on a port: the agent dials every
//! replica it knows
//! (`GET /skiff/v1/tunnel`, upgraded), and on each connection it is the HTTP/2 *server*
//! while the replica is the client, as k3s agents tunnel to their servers. Requests can
//! only arrive over a connection this agent opened to a server verified against the
//! cluster CA.
//!
//! # Layout
//! - [`keep_tunnels`]: one tunnel per known replica, reopened with back-off (1 s doubling
//!   to 30 s), following changes to the list of replicas.
//! - `dial`: opening one tunnel and serving HTTP/2 on it.
//! - `serve`: the answers: `/containerLogs/<ns>/<pod>/<container>`, `/stats/summary`,
//!   `/healthz`, and `/portForward/<ns>/<pod>/<port>` ([`port_forward`]: [`PodPorts`] finds
//!   where a pod's port really listens, through the pod network).
//! - [`options`], [`render`]: the kubelet's log query and output, pure and tested by table.
//! - [`source`]: [`ContainerLogs`], how the tunnel finds a container's log.

mod dial;
pub mod options;
pub mod port_forward;
pub mod render;
mod serve;
pub mod source;

pub use dial::{TUNNEL_PATH, TUNNEL_PROTOCOL};
pub use port_forward::{PodPorts, PortForwardError, RuntimePorts};
pub use source::{ContainerLogs, LogLookupError, NodeLogs, POD_UID_HEADER, PodKey, RuntimeLogs};

use crate::metrics::NodeStatsSource;
use serve::Served;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

/// Why a tunnel could not be opened or kept.
#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    #[error("the cluster CA is not a PEM certificate: {0}")]
    BadCa(String),
    #[error("server URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("connecting to {url}: {source}")]
    Connect { url: String, source: std::io::Error },
    #[error("{url} did not open a tunnel within {after:?}")]
    Timeout { url: String, after: Duration },
    #[error("tunnel to {url}: {source}")]
    Http { url: String, source: hyper::Error },
    #[error("{url} refused the tunnel: {status}: {message}")]
    Refused {
        url: String,
        status: http::StatusCode,
        message: String,
    },
}

/// What the tunnels need.
#[derive(Debug, Clone)]
pub struct TunnelConfig {
    /// The node's bearer token (user `system:node:<name>`).
    pub token: String,
    /// The cluster CA (PEM) every replica's certificate must chain to.
    pub ca_pem: String,
    /// Every replica's URL (`https://host:port`): from the credential, and later from the
    /// `default/kubernetes` Endpoints. A tunnel is kept to each.
    pub servers: watch::Receiver<Vec<String>>,
    /// The first retry after a failure, doubled up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// The node's resource metrics, served at `/stats/summary` (404 when `None`).
    pub stats: Option<StatsSource>,
    /// Where pods' ports are, for port-forward (404 when `None`).
    pub ports: Option<PortsSource>,
}

/// Where the tunnels find pods' ports.
#[derive(Clone)]
pub struct PortsSource(pub Arc<dyn PodPorts>);

impl std::fmt::Debug for PortsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PortsSource")
    }
}

/// Where the tunnels read the node's resource metrics.
#[derive(Clone)]
pub struct StatsSource(pub Arc<dyn NodeStatsSource>);

impl std::fmt::Debug for StatsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatsSource")
    }
}

impl TunnelConfig {
    /// Tunnels to a fixed list of replicas, with the default back-off.
    pub fn new(token: String, ca_pem: String, servers: Vec<String>) -> TunnelConfig {
        let (_, servers) = watch::channel(servers);
        TunnelConfig::following(token, ca_pem, servers)
    }

    /// Tunnels to the replicas `servers` names as it changes.
    pub fn following(
        token: String,
        ca_pem: String,
        servers: watch::Receiver<Vec<String>>,
    ) -> TunnelConfig {
        TunnelConfig {
            token,
            ca_pem,
            servers,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            stats: None,
            ports: None,
        }
    }
}

/// A TLS client trusting only `ca_pem`, speaking HTTP/1.1 (the upgrade request).
fn tls_connector(ca_pem: &str) -> Result<TlsConnector, TunnelError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| TunnelError::BadCa(e.to_string()))?;
        roots
            .add(cert)
            .map_err(|e| TunnelError::BadCa(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(TunnelError::BadCa("no certificate found".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TunnelError::BadCa(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Keeps a tunnel open to every replica in `config.servers` until `shutdown` fires, then
/// closes them and returns. Fails at once only if the CA cannot be used; a replica that
/// cannot be reached is retried, with one log line per failure.
pub async fn keep_tunnels(
    config: TunnelConfig,
    logs: Arc<dyn ContainerLogs>,
    shutdown: CancellationToken,
) -> Result<(), TunnelError> {
    let tls = tls_connector(&config.ca_pem)?;
    let served = Arc::new(Served {
        logs,
        stats: config.stats.clone().map(|s| s.0),
        ports: config.ports.clone().map(|p| p.0),
    });
    let mut servers = config.servers.clone();
    let mut following = true;
    let mut running: HashMap<String, CancellationToken> = HashMap::new();
    let mut tasks = JoinSet::new();
    loop {
        let wanted = servers.borrow_and_update().clone();
        running.retain(|url, stop| {
            let keep = wanted.contains(url);
            if !keep {
                stop.cancel();
            }
            keep
        });
        for url in wanted {
            if running.contains_key(&url) {
                continue;
            }
            let stop = shutdown.child_token();
            running.insert(url.clone(), stop.clone());
            let one = Keeper {
                url,
                tls: tls.clone(),
                token: config.token.clone(),
                served: served.clone(),
                initial_backoff: config.initial_backoff,
                max_backoff: config.max_backoff,
            };
            tasks.spawn(one.run(stop));
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            changed = servers.changed(), if following => following = changed.is_ok(),
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Keeps one replica's tunnel open.
struct Keeper {
    url: String,
    tls: TlsConnector,
    token: String,
    served: Arc<Served>,
    initial_backoff: Duration,
    max_backoff: Duration,
}

/// A tunnel that stayed open this long resets the back-off.
const HEALTHY_AFTER: Duration = Duration::from_secs(30);

impl Keeper {
    async fn run(self, stop: CancellationToken) {
        let mut delay = self.initial_backoff;
        while !stop.is_cancelled() {
            let opened = tokio::time::Instant::now();
            let outcome = dial::run_tunnel(&self.url, &self.tls, &self.token, &self.served, &stop);
            let outcome = outcome.await;
            if opened.elapsed() >= HEALTHY_AFTER {
                delay = self.initial_backoff;
            }
            match outcome {
                Ok(()) if stop.is_cancelled() => return,
                Ok(()) => {
                    tracing::info!(server = %self.url, "tunnel closed by the server; reopening in {delay:?}")
                }
                Err(e) => {
                    tracing::warn!(server = %self.url, "tunnel failed: {e}; retrying in {delay:?}")
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(self.max_backoff);
        }
    }
}
