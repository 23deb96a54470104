//! The Kubernetes API server: authenticates the caller, parses the resource request,
//! authorises it, runs the verb against the store and answers JSON, Tables or watch streams.
//!
//! # Layout
//! - `dispatch`: one request from its path to the answer (routing, identity, body, verb).
//! - `request`: URL -> verb, resource, namespace, name, subresource, query.
//! - `auth`: bearer tokens -> identity; what nodes may do (the node rules); `authorize`: the
//!   node rules, then RBAC, for one request.
//! - `rbac`: the RBAC policy cache, authorisation after the node rules, escalation checks,
//!   ClusterRole aggregation and the default roles; `reviews`: the access and subject reviews.
//! - `control_plane_endpoints`: the `default/kubernetes` Service, Endpoints and EndpointSlice
//!   naming every replica.
//! - `tokens`: the in-memory index of token Secrets, fed by a watch on the local store.
//! - `sa_tokens`: the TokenRequest API and its signed, expiring, audience-bound tokens;
//!   `sa_admission`: ServiceAccount admission (a pod's projected token volume).
//! - `node_join`: a joining node's own credential (a node-token Secret).
//! - `node_refs`: which ConfigMaps and Secrets a pod references, read from the store;
//!   `node_graph`: the same for every node in memory (the node authorizer's graph);
//!   `local_index`: the list-then-watch feeder of such in-memory indexes.
//! - `objects`: API objects in the store (`resourceVersion` = the key's `mod_revision`).
//! - `meta`: server-owned metadata (uid, timestamps, generation, generateName).
//! - `reads`, `writes`, `deletes`, `watch`: the verbs; `list_options`: the revision a list is
//!   read at (`resourceVersion`, `resourceVersionMatch`, `continue`).
//! - `subresources`: status, scale, binding; `pod_log`: pods/log through the node's tunnel
//!   (`tunnels`: the tunnels node agents open to this replica); `eviction`: pods/eviction and its
//!   PodDisruptionBudget check; `connect`: exec and attach, refused; `port_forward`:
//!   pods/portforward (WebSocket or SPDY/3.1) through the node's tunnel.
//! - `services`, `service_fields`: ClusterIP and NodePort allocation on create and update.
//! - `endpoints`: discovery, version, OpenAPI, health and metrics.
//! - `request_metrics`: `apiserver_request_total` and `apiserver_request_duration_seconds`.
//! - `resource_metrics`: `metrics.k8s.io` PodMetrics and NodeMetrics from the agents'
//!   summaries, fetched through their tunnels (the API server plays metrics-server).
//! - `openapi`: the OpenAPI v3 documents with their ETag and cache headers.
//! - `respond`: content negotiation and the answer; `protobuf_reads`: GET and LIST in
//!   protobuf transcoded from the stored JSON bytes, no `Value` built.
//! - `kubeconfig`: the admin kubeconfig written at start; `system_namespaces`: the namespaces
//!   and default policy created at start.
//! - `registry`: the built-in OCI registry (`skiff-registry`) under `/v2`, its authentication,
//!   authorisation and storage in the replica's store.
//! - `/dashboard/`: the web dashboard's static files (`skiff-dashboard`), served before
//!   authentication; every call the page makes is an ordinary API call with the user's token.

#![deny(unreachable_pub)]
#![allow(
    clippy::result_large_err,
    reason = "ApiError (a Kubernetes Status) is built at most once per request and returned straight to the client; boxing it would only add an allocation"
)]

mod auth;
mod authorize;
mod body;
mod connect;
mod control_plane_endpoints;
mod deletes;
mod dispatch;
mod endpoints;
mod events_v1;
mod eviction;
pub mod kubeconfig;
mod list_options;
mod local_index;
mod meta;
mod namespace_index;
mod negotiation;
mod node_graph;
mod node_join;
mod node_proxy;
mod node_refs;
mod objects;
mod openapi;
mod partial;
mod pod_facts;
mod pod_log;
mod port_forward;
mod protobuf_reads;
mod rbac;
mod reads;
mod registry;
mod registry_peers;
mod request;
mod request_metrics;
mod resource_metrics;
mod respond;
mod reviews;
mod sa_admission;
mod sa_tokens;
mod service_fields;
mod services;
mod subresources;
mod system_namespaces;
mod tokens;
mod tunnels;
mod watch;
mod writes;

use std::sync::{Arc, Weak};

use skiff_api::table::IncludeObject;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use auth::Component;
pub use negotiation::MetaVersion;
pub use node_join::{NodeJoinError, node_token_secret};
pub use registry_peers::PEER_PREFIX as REGISTRY_PEER_PREFIX;
pub use tunnels::{TUNNEL_PATH, TUNNEL_PROTOCOL};

use objects::ObjectStore;
use skiff_replica::Replica;

/// Renders Prometheus text lines for `/metrics`.
pub type MetricsSource = Box<dyn Fn() -> String + Send + Sync>;

/// How an answer is encoded: JSON, a kubectl Table (JSON), Kubernetes protobuf, or
/// `PartialObjectMetadata` (JSON; `list`: asked for as `PartialObjectMetadataList`).
#[derive(Clone, Copy, Debug)]
pub enum Format {
    Json,
    Table(IncludeObject),
    Protobuf,
    Metadata {
        list: bool,
        version: negotiation::MetaVersion,
    },
}

impl Format {
    /// This format for an answer that is never a Table (a delete's object or Status).
    fn untabled(self) -> Format {
        match self {
            Format::Table(_) => Format::Json,
            other => other,
        }
    }
}

pub struct ApiServer {
    objects: ObjectStore,
    /// The admin's token and this process's components' tokens.
    fixed_tokens: auth::FixedTokens,
    /// The URL clients reach this replica at (for `/api`'s server address).
    advertise: String,
    /// Ends watch streams when the server shuts down.
    shutdown: CancellationToken,
    metrics: endpoints::Metrics,
    /// Objects rendered once for all watchers.
    render_cache: Arc<watch::RenderCache>,
    /// Batches watch events on shared HTTP/2 connections into fewer writes.
    flush_batcher: Arc<watch::FlushBatcher>,
    /// Node and service-account tokens, kept in sync with the local store.
    tokens: Arc<tokens::TokenIndex>,
    /// Roles and bindings, kept in sync with the local store.
    rbac: Arc<rbac::cache::PolicyCache>,
    /// Which namespaces exist and which are being deleted, kept in sync with the local store.
    namespaces: Arc<namespace_index::NamespaceIndex>,
    /// Which ConfigMaps and Secrets each node's pods reference, kept in sync with the local
    /// store (the node authorizer's graph).
    node_graph: Arc<node_graph::NodeGraph>,
    /// The service-account token signing key, loaded from the store at first use.
    signer: std::sync::OnceLock<Arc<sa_tokens::Signer>>,
    /// The tunnels node agents opened to this replica (`pods/log` goes through them).
    tunnels: Arc<tunnels::Tunnels>,
    /// The built-in OCI registry under `/v2`.
    registry: registry::BuiltinRegistry,
    /// More Prometheus text for `/metrics` from components of this process (the controller
    /// manager), which this crate may not depend on.
    metrics_sources: std::sync::Mutex<Vec<MetricsSource>>,
    /// The background tasks of this replica (the token follower, namespace emptying), owned and
    /// awaited by whoever started the API server.
    tasks: TaskTracker,
    this: Weak<ApiServer>,
}

impl ApiServer {
    pub fn new(
        replica: Arc<Replica>,
        admin_token: String,
        advertise: String,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Arc<Self> {
        let flush_batcher = Arc::new(watch::FlushBatcher::start(&shutdown, &tasks));
        let tokens = Arc::new(tokens::TokenIndex::default());
        tasks.spawn(tokens.clone().run(replica.clone(), shutdown.clone()));
        let rbac = Arc::new(rbac::cache::PolicyCache::default());
        tasks.spawn(rbac.clone().run(replica.clone(), shutdown.clone()));
        let node_graph = Arc::new(node_graph::NodeGraph::default());
        tasks.spawn(node_graph.clone().run(replica.clone(), shutdown.clone()));
        let namespaces = Arc::new(namespace_index::NamespaceIndex::default());
        tasks.spawn(namespaces.clone().run(replica.clone(), shutdown.clone()));
        let aggregation_store = ObjectStore {
            replica: replica.clone(),
        };
        tasks.spawn(rbac::run_aggregation(
            rbac.clone(),
            aggregation_store,
            shutdown.clone(),
        ));
        let registry_storage = registry::ReplicaStorage {
            replica: replica.clone(),
            tasks: tasks.clone(),
            shutdown: shutdown.clone(),
        };
        let registry = registry::build(registry_storage.clone());
        registry::start_background(registry_storage, registry.files().cloned());
        Arc::new_cyclic(|this| ApiServer {
            registry,
            tokens,
            rbac,
            node_graph,
            namespaces,
            signer: std::sync::OnceLock::new(),
            tunnels: Arc::default(),
            tasks,
            objects: ObjectStore { replica },
            fixed_tokens: auth::FixedTokens::new(admin_token),
            metrics_sources: std::sync::Mutex::default(),
            advertise,
            shutdown,
            metrics: endpoints::Metrics::default(),
            render_cache: Arc::default(),
            flush_batcher,
            this: this.clone(),
        })
    }

    /// The bearer token `component` of this process calls this API with (never stored; a
    /// new one every start).
    pub fn component_token(&self, component: Component) -> &str {
        self.fixed_tokens.component(component)
    }

    /// Adds what `source` renders to `/metrics`.
    pub fn add_metrics_source(&self, source: MetricsSource) {
        skiff_sync::lock(&self.metrics_sources).push(source);
    }
}
