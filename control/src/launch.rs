//! Starting a control-plane replica: first start, restart, or join, from a data directory.
//!
//! `run` is what `skiff server` calls. It loads or creates the PKI, opens the store, binds the
//! listener, serves until `shutdown` fires, and drains. Every failure on the way is a
//! `LaunchError` whose message names the file, address or peer at fault.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::apiserver::{ApiServer, kubeconfig};
use crate::pki::{self, JoinToken, Pki, PkiStore};
use crate::replica::ops::AddReplica;
use crate::replica::peer_client::PeerClient;
use crate::replica::{Replica, ReplicaConfig, compactor};
use crate::server::routes::{JoinBundle, PATH_JOIN_BUNDLE};
use crate::server::{Router, serve};
use crate::store::types::NodeId;

/// Everything `skiff server` can be told.
#[derive(Clone, Debug)]
pub struct LaunchOptions {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// URL peers and clients use to reach this replica (default `https://<listen>`).
    pub advertise: Option<String>,
    /// Join the cluster at this URL (ignored once the data directory belongs to a cluster).
    pub join: Option<String>,
    pub token: Option<String>,
    pub snapshot_every: u64,
    pub history_revisions: u64,
    pub history_age: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
    #[error(transparent)]
    Tls(#[from] pki::TlsError),
    #[error("invalid --token: {0}")]
    Token(#[from] pki::TokenError),
    #[error("--join needs --token (the contents of the first replica's <data-dir>/token)")]
    MissingToken,
    #[error("joining {url}: {source}")]
    Join { url: String, source: pki::JoinError },
    #[error("joining {url}: {message}")]
    JoinRefused { url: String, message: String },
    #[error("{path}: {message}")]
    DataDir { path: PathBuf, message: String },
    #[error(transparent)]
    Start(#[from] crate::replica::StartError),
}

/// What a started replica tells its caller (printed by the CLI, used by tests).
#[derive(Clone, Debug)]
pub struct Started {
    pub id: NodeId,
    pub url: String,
    pub data_dir: PathBuf,
    /// The admin kubeconfig written into the data directory.
    pub kubeconfig: PathBuf,
}

/// Runs one replica until `shutdown` fires. `on_ready` is called once it serves.
pub async fn run(
    options: LaunchOptions,
    shutdown: CancellationToken,
    on_ready: impl FnOnce(&Started),
) -> Result<(), LaunchError> {
    let listener =
        TcpListener::bind(options.listen)
            .await
            .map_err(|source| LaunchError::Listen {
                addr: options.listen,
                source,
            })?;
    let local = listener
        .local_addr()
        .map_err(|source| LaunchError::Listen {
            addr: options.listen,
            source,
        })?;
    let advertise = options
        .advertise
        .clone()
        .unwrap_or_else(|| format!("https://{local}"));
    let mut sans = vec![local.ip().to_string()];
    if let Some(host) = options.advertise.as_deref().and_then(advertised_host) {
        sans.push(host);
    }

    let joining = match &options.join {
        Some(url) if !is_member(&options.data_dir) => Some(url.clone()),
        _ => None,
    };
    let pki = match &joining {
        Some(url) => fetch_join_pki(&options, url, &sans).await?,
        None => PkiStore::load_or_init(&options.data_dir, &sans)?,
    };
    let node_id = load_or_create_node_id(&options.data_dir)?;
    let client_tls = pki::client_config(pki.ca.cert_pem())?;
    let peers = PeerClient::new(client_tls, pki.join_token.secret());
    let config = ReplicaConfig {
        data_dir: options.data_dir.clone(),
        node_id,
        advertise: advertise.clone(),
        snapshot_every: options.snapshot_every,
        history_revisions: options.history_revisions,
        history_age: options.history_age,
    };
    let replica = Replica::start(&config, peers.clone()).await?;
    if joining.is_none() && options.join.is_none() {
        replica.bootstrap().await?;
        mark_member(&options.data_dir)?;
    }

    let api = ApiServer::new(
        replica.clone(),
        pki.admin_token.clone(),
        advertise.clone(),
        shutdown.clone(),
    );
    let kubeconfig = kubeconfig::write(
        &options.data_dir,
        &advertise,
        pki.ca.cert_pem(),
        &pki.admin_token,
    )
    .map_err(|e| LaunchError::DataDir {
        path: options.data_dir.join("admin.kubeconfig"),
        message: e.to_string(),
    })?;
    let router = Arc::new(Router {
        api: api.clone(),
        replica: replica.clone(),
        peer_secret: pki.join_token.secret().to_owned(),
        admin_token: pki.admin_token.clone(),
        ca_pem: pki.ca.cert_pem().to_owned(),
        join_bundle: JoinBundle {
            ca_cert_pem: pki.ca.cert_pem().to_owned(),
            ca_key_pem: pki.ca.key_pem().to_owned(),
            admin_token: pki.admin_token.clone(),
        },
        shutdown: shutdown.clone(),
    });
    let server_tls = pki::server_config(&pki.serving)?;
    let server = tokio::spawn(serve(listener, server_tls, router, shutdown.clone()));
    let compaction = tokio::spawn(compactor::run(
        replica.clone(),
        options.history_revisions,
        options.history_age,
        shutdown.clone(),
    ));

    if let Some(url) = &joining {
        let request = AddReplica {
            id: node_id,
            addr: advertise.clone(),
        };
        let answer: Result<Result<(), String>, _> = peers
            .call(
                url,
                crate::replica::ops::PATH_ADD_REPLICA,
                &request,
                Duration::from_secs(120),
            )
            .await;
        let refused = match answer {
            Ok(Ok(())) => None,
            Ok(Err(message)) => Some(message),
            Err(e) => Some(e.to_string()),
        };
        if let Some(message) = refused {
            shutdown.cancel();
            let _ = server.await;
            replica.shutdown().await;
            return Err(LaunchError::JoinRefused {
                url: url.clone(),
                message,
            });
        }
        mark_member(&options.data_dir)?;
    }

    // Serve the system namespaces before saying we are ready (bounded: a replica that restarts
    // without a quorum still comes up and reports where it serves).
    if tokio::time::timeout(Duration::from_secs(10), api.ensure_system_namespaces())
        .await
        .is_err()
    {
        tracing::warn!("the system namespaces are not there yet (no quorum?); serving anyway");
        tokio::spawn(async move { api.ensure_system_namespaces().await });
    }
    on_ready(&Started {
        id: node_id,
        url: advertise,
        data_dir: options.data_dir.clone(),
        kubeconfig,
    });
    shutdown.cancelled().await;
    let _ = server.await;
    let _ = compaction.await;
    replica.shutdown().await;
    Ok(())
}

/// Written once the replica has bootstrapped a cluster or been admitted to one.
const MEMBER_MARKER: &str = "cluster-member";

/// A data directory that has bootstrapped or joined belongs to a cluster already.
fn is_member(data_dir: &Path) -> bool {
    data_dir.join(MEMBER_MARKER).exists()
}

fn mark_member(data_dir: &Path) -> Result<(), LaunchError> {
    let path = data_dir.join(MEMBER_MARKER);
    std::fs::write(&path, "1\n").map_err(|e| LaunchError::DataDir {
        path,
        message: format!("cannot write: {e}"),
    })
}

/// Authenticates the cluster by the token's CA pin, then fetches the CA and admin token.
async fn fetch_join_pki(
    options: &LaunchOptions,
    url: &str,
    sans: &[String],
) -> Result<Pki, LaunchError> {
    let raw = options.token.as_deref().ok_or(LaunchError::MissingToken)?;
    let token = JoinToken::parse(raw.trim())?;
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
        write_secret(&paths.admin_token, &format!("{}\n", bundle.admin_token)).map_err(|e| {
            LaunchError::DataDir {
                path: paths.admin_token.clone(),
                message: e.to_string(),
            }
        })?;
    }
    Ok(Pki::install_joined(
        &options.data_dir,
        &bundle.ca_cert_pem,
        &bundle.ca_key_pem,
        &token,
        sans,
    )?)
}

/// The replica's Raft id, random at first start and kept in `<data-dir>/node-id`.
fn load_or_create_node_id(data_dir: &Path) -> Result<NodeId, LaunchError> {
    let path = data_dir.join("node-id");
    let err = |message: String| LaunchError::DataDir {
        path: path.clone(),
        message,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => u64::from_str_radix(text.trim(), 16).map_err(|e| {
            err(format!(
                "not a node id ({e}); the file is corrupt, restore it from a backup"
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id: NodeId = rand::random::<u64>() >> 1 | 1;
            std::fs::write(&path, format!("{id:016x}\n"))
                .map_err(|e| err(format!("cannot write: {e}")))?;
            Ok(id)
        }
        Err(e) => Err(err(format!("cannot read: {e}"))),
    }
}

/// Creates `path` with mode 0600; fails if it exists.
fn write_secret(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// The host part of an advertise URL like `https://host:port`, for the serving certificate.
fn advertised_host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    (!host.is_empty()).then(|| host.to_owned())
}
