//! [`run`]: the whole agent. It obtains the node's credential (given by the caller, saved
//! in the data directory by an earlier run, or by joining) and its overlay certificate,
//! binds the pod network's tunnel listener on the node's address, registers the Node (with
//! the listener's port), then runs the Node heartbeat, the pod manager, the follower of the
//! control plane's replica list, the resource-metrics sampler, the tunnels to the control
//! plane (which serve `kubectl logs` and the metrics), the pod network (`skiff-overlay`)
//! and the node proxy (`skiff-proxy`: Service IPs, NodePorts on the node's address) until
//! shutdown, owning and awaiting every task.

use crate::client::client;
use crate::client::endpoints::ReplicaFollower;
use crate::credential::Credential;
use crate::host;
use crate::join::join;
use crate::metrics::{RestartCounts, Sampler};
use crate::node_object::NodeFacts;
use crate::node_sync::NodeSync;
use crate::options::{Access, AgentError, AgentOptions};
use crate::pods::PodManager;
use crate::pods::ips::Cidr;
use crate::pods::task::PodSettings;
use crate::tunnel::{NodeLogs, StatsSource, TunnelConfig, keep_tunnels};
use crate::worker::WorkerConfig;
use skiff_overlay::{NodeIdentity, Overlay, OverlayConfig, OverlayError};
use skiff_proxy::{Proxy, ProxyConfig};
use skiff_runtime_wasm::engine::PoolingConfig;
use skiff_runtime_wasm::image::BuiltinRegistry;
use skiff_runtime_wasm::{Runtime, RuntimeConfig};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Runs the agent until `shutdown` fires. Startup errors (join, credential, runtime) are
/// returned at once; a server that cannot be reached is retried with a warning each time.
pub async fn run(options: AgentOptions, shutdown: CancellationToken) -> Result<(), AgentError> {
    let default_cidr = Cidr::parse(&options.default_pod_cidr)?;
    let credential = credential(&options).await?;
    let volumes_dir = options.volumes_dir.as_deref();
    let volumes_root =
        crate::volume_root::choose(&options.data_dir, &options.node_name, volumes_dir)?;
    let (client, replicas) = client(&credential, options.in_process.clone())?;
    let node_ip = node_ip(&options, &credential);
    let Some(identity) = overlay_identity(&client, &credential.ca_cert, &shutdown).await? else {
        return Ok(());
    };
    // The node proxy routes the overlay's flows to Service IPs and serves NodePorts.
    let proxy = Proxy::new();
    let overlay_config = OverlayConfig {
        identity,
        listen: SocketAddr::new(node_ip, options.overlay_port),
        tables: Arc::default(),
        router: Some(Arc::new(proxy.clone())),
    };
    let (overlay, overlay_addr) = Overlay::bind(overlay_config, shutdown.clone()).await?;
    let mut facts = host::facts(&options.node_name, node_ip);
    facts.max_pods = options.max_pods;
    facts.overlay_port = Some(overlay_addr.port());
    let (cidr_tx, cidr_rx) = watch::channel(None);
    let node_sync = NodeSync {
        client: client.clone(),
        facts: facts.clone(),
        lease_period: options.lease_period,
        status_period: options.node_status_period,
        pod_cidr: cidr_tx,
    };
    let Some(node) = node_sync
        .register_until_done(&shutdown)
        .await
        .map_err(AgentError::Refused)?
    else {
        return Ok(());
    };
    let net = Arc::new(overlay.clone());
    let rt = runtime(&options, &credential, net.clone())?;
    let restarts = Arc::new(crate::metrics::RestartCounts::default());
    let pods = PodManager {
        client,
        rt: rt.clone(),
        net,
        cfg: Arc::new(worker_config(&options, &facts, node_ip, volumes_root)),
        settings: Arc::new(pod_settings(&options, restarts.clone())),
        pod_cidr: cidr_rx,
        default_cidr,
    };
    let (servers_tx, servers_rx) = watch::channel(replicas.urls());
    let follower = ReplicaFollower {
        client: pods.client.clone(),
        replicas: replicas.clone(),
        fallback: credential.servers.first().cloned(),
        publish: servers_tx,
        save: saves_credential(&options).then(|| (options.data_dir.clone(), credential.clone())),
    };
    let sampler = Arc::new(Sampler::new(
        rt.clone(),
        &options.node_name,
        options.metrics_period,
        restarts,
    ));
    let tunnels = tunnel_config(&credential, servers_rx, &sampler, &pods);
    let logs = NodeLogs::new(rt.clone(), options.data_dir.join("pods"));
    let tunnels = keep_tunnels(tunnels, Arc::new(logs), shutdown.clone());
    tracing::info!(node = %options.node_name, server = %replicas.current(), "agent running");
    tracing::info!(node = %options.node_name, %overlay_addr, "pod network listening for tunnels");
    let proxy_config = ProxyConfig {
        node: options.node_name.clone(),
        node_ip,
    };
    let proxy = skiff_proxy::run(
        proxy,
        overlay.clone(),
        pods.client.clone(),
        proxy_config,
        shutdown.clone(),
    );
    // The one owner of the agent's seven loops: all end when `shutdown` fires.
    let overlay = overlay.run(pods.client.clone());
    let (_, _, _, tunnels, (), (), ()) = tokio::join!(
        node_sync.run(node, shutdown.clone()),
        pods.run(shutdown.clone()),
        follower.run(shutdown.clone()),
        tunnels,
        sampler.run(shutdown.clone()),
        overlay,
        proxy,
    );
    if let Err(e) = tunnels {
        tracing::error!("no tunnel to the control plane (kubectl logs will not work): {e}");
    }
    rt.shutdown(Duration::ZERO).await;
    Ok(())
}

/// The node's address: `--node-ip`, or this host's address on the route towards the first
/// server of the credential (loopback when it names none).
fn node_ip(options: &AgentOptions, credential: &Credential) -> IpAddr {
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

/// The Wasm runtime: its data under `<data_dir>/runtime`, pulls from the built-in registry
/// with the node's credential, and the pooling and log settings of `options`.
fn runtime(
    options: &AgentOptions,
    credential: &Credential,
    net: Arc<Overlay>,
) -> Result<Runtime, AgentError> {
    let mut config = RuntimeConfig::new(options.data_dir.join("runtime"));
    config.oci.builtin = Some(BuiltinRegistry {
        servers: credential.servers.clone(),
        ca_pem: credential.ca_cert.clone(),
        token: credential.token.clone(),
    });
    config.engine.pooling = options.pooling_instances.map(|n| PoolingConfig {
        max_instances: n,
        ..PoolingConfig::default()
    });
    config.logs = options.container_logs;
    Ok(Runtime::new(config, net)?)
}

/// What every pod worker of this node shares: where pods live, the node's size, back-offs.
fn worker_config(
    options: &AgentOptions,
    facts: &NodeFacts,
    node_ip: IpAddr,
    volumes_root: Option<PathBuf>,
) -> WorkerConfig {
    let mut cfg = WorkerConfig::new(options.data_dir.join("pods"), &options.node_name, node_ip);
    cfg.volumes_root = volumes_root;
    cfg.node_cpu_millis = u64::from(facts.cpus) * 1000;
    cfg.node_memory_bytes = facts.memory_bytes;
    cfg.crash_backoff = options.crash_backoff;
    cfg.pull_backoff = options.pull_backoff;
    cfg.error_hold = options.error_hold;
    cfg
}

fn pod_settings(options: &AgentOptions, restarts: Arc<RestartCounts>) -> PodSettings {
    PodSettings {
        node_name: options.node_name.clone(),
        refs_resync: options.refs_resync,
        event_rate: options.event_rate,
        refs_retry: options.refs_retry,
        restarts,
    }
}

/// The tunnels to the control plane, following the replica list, serving the sampler's
/// stats and the pods' ports.
fn tunnel_config(
    credential: &Credential,
    servers: watch::Receiver<Vec<String>>,
    sampler: &Arc<Sampler>,
    pods: &PodManager,
) -> TunnelConfig {
    let mut tunnels = TunnelConfig::following(
        credential.token.clone(),
        credential.ca_cert.clone(),
        servers,
    );
    tunnels.stats = Some(StatsSource(sampler.clone()));
    tunnels.ports = Some(crate::tunnel::PortsSource(Arc::new(
        crate::tunnel::RuntimePorts::new(pods.rt.clone(), pods.net.clone()),
    )));
    tunnels
}

/// The node's overlay certificate from the API server, asked again (with a warning each
/// time) until it comes or `shutdown` fires (`None`); a refused credential ends it at once.
async fn overlay_identity(
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
fn saves_credential(options: &AgentOptions) -> bool {
    !matches!(options.access, Some(Access::Credential(_)))
}

/// The credential: given, saved, or obtained by joining (and then saved).
async fn credential(options: &AgentOptions) -> Result<Credential, AgentError> {
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
