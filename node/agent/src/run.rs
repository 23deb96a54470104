//! [`run`]: the whole agent. It obtains the node's credential (given by the caller, saved
//! in the data directory by an earlier run, or by joining) and its overlay certificate,
//! binds the pod network's tunnel listener on the node's address, registers the Node (with
//! the listener's port), then runs the Node heartbeat, the pod manager, the follower of the
//! control plane's replica list, the resource-metrics sampler, the tunnels to the control
//! plane (which serve `kubectl logs` and the metrics), the pod network (`skiff-overlay`)
//! and the node proxy (`skiff-proxy`: Service IPs, NodePorts on the node's address) until
//! shutdown, owning and awaiting every task.

mod identity;

use crate::client::endpoints::ReplicaFollower;
use crate::client::{Replicas, client};
use crate::credential::Credential;
use crate::host;
use crate::metrics::{RestartCounts, Sampler};
use crate::node_object::NodeFacts;
use crate::node_sync::NodeSync;
use crate::options::{AgentError, AgentOptions};
use crate::pods::PodManager;
use crate::pods::ips::Cidr;
use crate::pods::task::PodSettings;
use crate::tunnel::{NodeLogs, StatsSource, TunnelConfig, keep_tunnels};
use crate::worker::WorkerConfig;
use identity::{credential, node_ip, overlay_identity, saves_credential};
use skiff_api::k8s_openapi::api::core::v1::Node;
use skiff_overlay::{NodeIdentity, Overlay, OverlayConfig};
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
    let listen = SocketAddr::new(node_ip, options.overlay_port);
    let (overlay, overlay_addr) = bind_overlay(identity, listen, &proxy, &shutdown).await?;
    let facts = node_facts(&options, node_ip, overlay_addr.port());
    let (cidr_tx, cidr_rx) = watch::channel(None);
    let node_sync = node_sync(&options, &client, &facts, cidr_tx);
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
    let loops = Loops {
        node_sync,
        node,
        pods,
        rt,
        restarts,
        replicas,
        overlay,
        overlay_addr,
        proxy,
        node_ip,
    };
    loops
        .run_until_shutdown(&options, &credential, shutdown)
        .await;
    Ok(())
}

/// What the agent holds once its Node is registered: the parts its seven loops are made of.
struct Loops {
    node_sync: NodeSync,
    /// The Node as registered, where the Node loop starts.
    node: Node,
    pods: PodManager,
    rt: Runtime,
    /// The restart counts the pod tasks write and the metrics page reads.
    restarts: Arc<RestartCounts>,
    replicas: Replicas,
    overlay: Overlay,
    /// Where the overlay's tunnel listener is bound.
    overlay_addr: SocketAddr,
    /// The node proxy, the overlay's router, not yet running.
    proxy: Proxy,
    node_ip: IpAddr,
}

impl Loops {
    /// Runs the Node loop, the pod manager, the replica follower, the tunnels, the metrics
    /// sampler, the overlay and the node proxy until `shutdown` fires, then shuts the runtime
    /// down.
    async fn run_until_shutdown(
        self,
        options: &AgentOptions,
        credential: &Credential,
        shutdown: CancellationToken,
    ) {
        let (pods, rt, replicas) = (self.pods, self.rt, self.replicas);
        let (servers_tx, servers_rx) = watch::channel(replicas.urls());
        let follower = replica_follower(options, credential, &pods, &replicas, servers_tx);
        let sampler = Arc::new(Sampler::new(
            rt.clone(),
            &options.node_name,
            options.metrics_period,
            self.restarts,
        ));
        let tunnels = tunnel_config(credential, servers_rx, &sampler, &pods);
        let logs = NodeLogs::new(rt.clone(), options.data_dir.join("pods"));
        let tunnels = keep_tunnels(tunnels, Arc::new(logs), shutdown.clone());
        tracing::info!(node = %options.node_name, server = %replicas.current(), "agent running");
        let overlay_addr = self.overlay_addr;
        tracing::info!(node = %options.node_name, %overlay_addr, "pod network listening for tunnels");
        let proxy_config = ProxyConfig {
            node: options.node_name.clone(),
            node_ip: self.node_ip,
        };
        let proxy = skiff_proxy::run(
            self.proxy,
            self.overlay.clone(),
            pods.client.clone(),
            proxy_config,
            shutdown.clone(),
        );
        // The one owner of the agent's seven loops: all end when `shutdown` fires.
        let overlay = self.overlay.run(pods.client.clone());
        let (_, _, _, tunnels, (), (), ()) = tokio::join!(
            self.node_sync.run(self.node, shutdown.clone()),
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
    }
}

/// The pod network, bound on `listen` with the node's overlay certificate, routing Service
/// flows to `proxy`; with the address its tunnel listener got.
async fn bind_overlay(
    identity: NodeIdentity,
    listen: SocketAddr,
    proxy: &Proxy,
    shutdown: &CancellationToken,
) -> Result<(Overlay, SocketAddr), AgentError> {
    let overlay_config = OverlayConfig {
        identity,
        listen,
        tables: Arc::default(),
        router: Some(Arc::new(proxy.clone())),
    };
    Ok(Overlay::bind(overlay_config, shutdown.clone()).await?)
}

/// What the Node says of this host: its facts, `--max-pods`, and the overlay's tunnel port.
fn node_facts(options: &AgentOptions, node_ip: IpAddr, overlay_port: u16) -> NodeFacts {
    let mut facts = host::facts(&options.node_name, node_ip);
    facts.max_pods = options.max_pods;
    facts.overlay_port = Some(overlay_port);
    facts
}

/// The Node loop (registration, Lease, status), publishing the Node's pod range on `pod_cidr`.
fn node_sync(
    options: &AgentOptions,
    client: &kube::Client,
    facts: &NodeFacts,
    pod_cidr: watch::Sender<Option<String>>,
) -> NodeSync {
    NodeSync {
        client: client.clone(),
        facts: facts.clone(),
        lease_period: options.lease_period,
        status_period: options.node_status_period,
        pod_cidr,
    }
}

/// The follower of the control plane's replica list: it updates `replicas`, publishes the
/// list on `publish` and saves it with the credential when the credential is ours to save.
fn replica_follower(
    options: &AgentOptions,
    credential: &Credential,
    pods: &PodManager,
    replicas: &Replicas,
    publish: watch::Sender<Vec<String>>,
) -> ReplicaFollower {
    ReplicaFollower {
        client: pods.client.clone(),
        replicas: replicas.clone(),
        fallback: credential.servers.first().cloned(),
        publish,
        save: saves_credential(options).then(|| (options.data_dir.clone(), credential.clone())),
    }
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

/// What every pod task shares: the node's name, how often references are read again, the
/// event rate, and where the restart counts go.
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
