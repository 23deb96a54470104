//! Starting a control-plane replica: first start, restart, or join, from a data directory.
//!
//! `run` is what `skiff server` calls. It loads or creates the PKI, opens the store, binds the
//! listener, serves until `shutdown` fires, and drains. Every failure on the way is a
//! `LaunchError` whose message names the file, address or peer at fault.
//!
//! `run` owns everything it starts: the replica, the listener's task and the background tasks
//! (compactor, token follower, namespace emptying, system namespaces, the scheduler and the
//! controller manager with their elections), all in one
//! `TaskTracker`. Shutdown, or a start that fails half-way, cancels them and waits for them
//! before the replica stops.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::accept::serve;
use crate::components::{self, ComponentOptions};
use crate::routes::{JoinBundle, Router};
use crate::{data_dir, join};
use skiff_apiserver::{ApiServer, kubeconfig};
use skiff_pipe::Dialer;
use skiff_pki::{self as pki, Pki, PkiStore};
use skiff_replica::ops::AddReplica;
use skiff_replica::{PeerClient, Replica, ReplicaConfig, run_compactor};
use skiff_store::types::NodeId;

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
    /// The scheduler and controller manager this replica runs.
    pub components: ComponentOptions,
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
    Start(#[from] skiff_replica::StartError),
    #[error(transparent)]
    Components(#[from] components::ComponentError),
}

/// What a started replica tells its caller (printed by the CLI, used by tests).
#[derive(Clone, Debug)]
pub struct Started {
    pub id: NodeId,
    pub url: String,
    pub data_dir: PathBuf,
    /// The admin kubeconfig written into the data directory.
    pub kubeconfig: PathBuf,
    /// Connections to this replica's API server from inside the process (no TLS, no socket):
    /// what `skiff up`'s node agent calls it through.
    pub in_process: Dialer,
}

/// How long background tasks get to finish after shutdown starts (the listener's own drain
/// takes up to 5 s of it).
const TASKS_GRACE: Duration = Duration::from_secs(10);

/// The peer address in-process requests are logged with (they come from no socket).
const IN_PROCESS_PEER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// Runs one replica until `shutdown` fires. `on_ready` is called once it serves.
pub async fn run(
    options: LaunchOptions,
    shutdown: CancellationToken,
    on_ready: impl FnOnce(&Started),
) -> Result<(), LaunchError> {
    let listen_error = |source| LaunchError::Listen {
        addr: options.listen,
        source,
    };
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(listen_error)?;
    let local = listener.local_addr().map_err(listen_error)?;
    let advertise = options
        .advertise
        .clone()
        .unwrap_or_else(|| format!("https://{local}"));
    let mut sans = vec![local.ip().to_string()];
    if let Some(host) = options.advertise.as_deref().and_then(advertised_host) {
        sans.push(host);
    }
    let joining = match &options.join {
        Some(url) if !data_dir::is_member(&options.data_dir) => Some(url.clone()),
        _ => None,
    };
    let pki = match &joining {
        Some(url) => join::fetch_join_pki(&options, url, &sans).await?,
        None => PkiStore::load_or_init(&options.data_dir, &sans)?,
    };
    let node_id = data_dir::load_or_create_node_id(&options.data_dir)?;
    let peers = PeerClient::new(
        pki::client_config(pki.ca.cert_pem())?,
        pki.join_token.secret(),
    );
    let config = ReplicaConfig {
        data_dir: options.data_dir.clone(),
        node_id,
        advertise,
        snapshot_every: options.snapshot_every,
        history_revisions: options.history_revisions,
        history_age: options.history_age,
    };
    let replica = Replica::start(&config, peers.clone()).await?;
    let started = Starting {
        options: &options,
        config: &config,
        pki: &pki,
        peers: &peers,
        joining: joining.as_deref(),
        replica: &replica,
        stop: shutdown.child_token(),
        tasks: TaskTracker::new(),
    };
    let served = started.serve(listener, on_ready).await;
    // Whether serving ended or a step of the start failed, stop what was started, in order.
    started.stop_all().await;
    served
}

/// A replica whose Raft node runs, and what the rest of the start-up needs.
struct Starting<'a> {
    options: &'a LaunchOptions,
    config: &'a ReplicaConfig,
    pki: &'a Pki,
    peers: &'a PeerClient,
    /// The member to ask for admission, when this replica joins a cluster.
    joining: Option<&'a str>,
    replica: &'a Arc<Replica>,
    /// Cancelled when `shutdown` fires, or by `run` when the start fails.
    stop: CancellationToken,
    /// Every task started here; `run` waits for them before stopping the replica.
    tasks: TaskTracker,
}

impl Starting<'_> {
    /// Bootstraps or joins, serves, and returns when `stop` fires.
    async fn serve(
        &self,
        listener: TcpListener,
        on_ready: impl FnOnce(&Started),
    ) -> Result<(), LaunchError> {
        let (options, pki, replica) = (self.options, self.pki, self.replica);
        let advertise = &self.config.advertise;
        if self.joining.is_none() && options.join.is_none() {
            replica.bootstrap().await?;
            data_dir::mark_member(&options.data_dir)?;
        }
        let api = ApiServer::new(
            replica.clone(),
            pki.admin_token.clone(),
            advertise.clone(),
            self.stop.clone(),
            self.tasks.clone(),
        );
        let kubeconfig = self.write_kubeconfig()?;
        let in_process = self.start_serving(listener, api.clone())?;
        if let Some(url) = self.joining {
            let request = AddReplica {
                id: self.config.node_id,
                addr: advertise.clone(),
            };
            join::ask_to_join(self.peers, url, &request).await?;
            data_dir::mark_member(&options.data_dir)?;
        }
        self.system_namespaces(api.clone()).await;
        let endpoints_api = api.clone();
        self.tasks
            .spawn(async move { endpoints_api.run_control_plane_endpoints().await });
        components::start(
            &api,
            &in_process,
            pki.ca.cert_pem(),
            self.config.node_id,
            &options.components,
            &self.tasks,
            &self.stop,
        )
        .await?;
        on_ready(&Started {
            id: self.config.node_id,
            url: advertise.clone(),
            data_dir: options.data_dir.clone(),
            kubeconfig,
            in_process,
        });
        self.stop.cancelled().await;
        Ok(())
    }

    /// The admin kubeconfig in the data dir, pointing at the advertised URL.
    fn write_kubeconfig(&self) -> Result<PathBuf, LaunchError> {
        let options = self.options;
        kubeconfig::write(
            &options.data_dir,
            &self.config.advertise,
            self.pki.ca.cert_pem(),
            &self.pki.admin_token,
        )
        .map_err(|e| LaunchError::DataDir {
            path: options.data_dir.join("admin.kubeconfig"),
            message: e.to_string(),
        })
    }

    /// Starts serving HTTPS on `listener`, in-process connections, and the compactor;
    /// returns the in-process connections' dialer.
    fn start_serving(
        &self,
        listener: TcpListener,
        api: Arc<ApiServer>,
    ) -> Result<Dialer, LaunchError> {
        let options = self.options;
        let router = self.router(api);
        let server_tls = pki::server_config(&self.pki.serving)?;
        self.tasks.spawn(serve(
            listener,
            server_tls,
            router.clone(),
            self.stop.clone(),
        ));
        let (in_process, pipe_listener) = skiff_pipe::pipe();
        let handler = move |request| {
            let router = router.clone();
            async move { router.handle(request, IN_PROCESS_PEER).await }
        };
        self.tasks
            .spawn(skiff_pipe::serve(pipe_listener, handler, self.stop.clone()));
        self.tasks.spawn(run_compactor(
            self.replica.clone(),
            options.history_revisions,
            options.history_age,
            self.stop.clone(),
        ));
        Ok(in_process)
    }

    /// Cancels every task started here, waits for them (bounded), then stops the replica.
    async fn stop_all(&self) {
        self.stop.cancel();
        self.tasks.close();
        if tokio::time::timeout(TASKS_GRACE, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("background tasks still running {TASKS_GRACE:?} after shutdown");
        }
        self.replica.shutdown().await;
    }

    fn router(&self, api: Arc<ApiServer>) -> Arc<Router> {
        let pki = self.pki;
        Arc::new(Router {
            api,
            replica: self.replica.clone(),
            peer_secret: pki.join_token.secret().to_owned(),
            agent_secret: pki.join_token.agent_token().secret().to_owned(),
            admin_token: pki.admin_token.clone(),
            ca_pem: pki.ca.cert_pem().to_owned(),
            join_bundle: JoinBundle {
                ca_cert_pem: pki.ca.cert_pem().to_owned(),
                ca_key_pem: pki.ca.key_pem().to_owned(),
                admin_token: pki.admin_token.clone(),
            },
            shutdown: self.stop.clone(),
        })
    }

    /// Serves the system namespaces before saying we are ready (bounded: a replica that
    /// restarts without a quorum still comes up and reports where it serves, and goes on
    /// creating them in the background).
    async fn system_namespaces(&self, api: Arc<ApiServer>) {
        if tokio::time::timeout(Duration::from_secs(10), api.ensure_system_namespaces())
            .await
            .is_err()
        {
            tracing::warn!("the system namespaces are not there yet (no quorum?); serving anyway");
            self.tasks
                .spawn(async move { api.ensure_system_namespaces().await });
        }
    }
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
