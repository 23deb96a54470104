//! The agent's Node: registration (create, or adopt the existing Node and reconcile its
//! labels and the overlay-port annotation), the status kept current, the Lease in `kube-node-lease` renewed every
//! `lease_period` (the heartbeat the node lifecycle controller reads), a watch of the Node
//! that registers it again when it is deleted, and its `spec.podCIDR` published to the pod
//! manager. A registration records the kubelet's Starting and NodeReady Events.

use crate::api::{CallError, bounded};
use crate::kube_time::to_kube;
use crate::node_object::{self, NodeFacts};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, Node};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use serde_json::json;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The namespace of node Leases.
pub const LEASE_NAMESPACE: &str = "kube-node-lease";

/// Keeps the Node and its Lease current.
pub struct NodeSync {
    pub client: Client,
    pub facts: NodeFacts,
    /// How often the Lease is renewed; it lasts four periods (the kubelet's 10 s and 40 s).
    pub lease_period: Duration,
    /// How often the status is written when nothing changed (the kubelet's 1 min report).
    pub status_period: Duration,
    /// The Node's `spec.podCIDR`, for the pod manager.
    pub pod_cidr: watch::Sender<Option<String>>,
}

impl NodeSync {
    fn nodes(&self) -> Api<Node> {
        Api::all(self.client.clone())
    }

    /// Creates the Node (or adopts the existing one) and writes its status.
    pub async fn register(&self) -> Result<Node, CallError> {
        let now = SystemTime::now();
        let desired = node_object::node(&self.facts, now);
        let name = self.facts.name.as_str();
        let node = match bounded(self.nodes().create(&PostParams::default(), &desired)).await {
            Ok(node) => node,
            Err(e) if e.code() == Some(409) => {
                let metadata = json!({"metadata": {
                    "labels": desired.metadata.labels,
                    "annotations": node_object::annotations(&self.facts),
                }});
                let params = PatchParams::default();
                bounded(self.nodes().patch(name, &params, &Patch::Merge(&metadata))).await?
            }
            Err(e) => return Err(e),
        };
        let node = self.write_status(node.status.as_ref()).await?;
        tracing::info!(node = name, "node registered");
        self.record_start(&node).await;
        self.publish_cidr(&node);
        Ok(node)
    }

    async fn write_status(
        &self,
        previous: Option<&k8s_openapi::api::core::v1::NodeStatus>,
    ) -> Result<Node, CallError> {
        let status = node_object::node_status(&self.facts, previous, SystemTime::now());
        let patch = json!({ "status": status });
        let params = PatchParams::default();
        bounded(
            self.nodes()
                .patch_status(&self.facts.name, &params, &Patch::Merge(&patch)),
        )
        .await
    }

    /// The kubelet's Events of a start, on the Node (`kubectl describe node`): Starting
    /// ("Starting kubelet."), the three healthy pressure conditions (NodeHasSufficientMemory,
    /// NodeHasNoDiskPressure, NodeHasSufficientPID), and NodeReady when the status it wrote
    /// says Ready. Best effort.
    async fn record_start(&self, node: &Node) {
        let name = self.facts.name.as_str();
        let ready = skiff_api::node_match::ready_status(node) == Some("True");
        let mut notes = vec![("Starting", "Starting kubelet.".to_owned())];
        for healthy in [
            "NodeHasSufficientMemory",
            "NodeHasNoDiskPressure",
            "NodeHasSufficientPID",
        ] {
            notes.push((healthy, format!("Node {name} status is now: {healthy}")));
        }
        if ready {
            notes.push(("NodeReady", format!("Node {name} status is now: NodeReady")));
        }
        let events: Api<Event> = Api::namespaced(self.client.clone(), "default");
        for (reason, message) in notes {
            let event = node_object::node_event(name, reason, &message, SystemTime::now());
            if let Err(e) = bounded(events.create(&PostParams::default(), &event)).await {
                tracing::debug!(node = name, "recording the node's {reason} event: {e}");
            }
        }
    }

    fn publish_cidr(&self, node: &Node) {
        let cidr = node.spec.as_ref().and_then(|s| s.pod_cidr.clone());
        self.pod_cidr.send_if_modified(|current| {
            let changed = *current != cidr;
            *current = cidr;
            changed
        });
    }

    /// Renews the Lease, creating it when missing.
    async fn renew_lease(&self, node: &Node) -> Result<(), CallError> {
        let leases: Api<Lease> = Api::namespaced(self.client.clone(), LEASE_NAMESPACE);
        let name = self.facts.name.as_str();
        let duration = i32::try_from(self.lease_period.as_secs().saturating_mul(4)).unwrap_or(40);
        let renew = MicroTime(to_kube(SystemTime::now()).0);
        let spec =
            json!({"holderIdentity": name, "leaseDurationSeconds": duration, "renewTime": renew});
        let patch = json!({ "spec": spec });
        let params = PatchParams::default();
        match bounded(leases.patch(name, &params, &Patch::Merge(&patch))).await {
            Err(e) if e.is_not_found() => {}
            other => return other.map(drop),
        }
        let lease: Lease = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": LEASE_NAMESPACE, "ownerReferences": [{
                "apiVersion": "v1", "kind": "Node", "name": name,
                "uid": node.metadata.uid.clone().unwrap_or_default()}]},
            "spec": spec,
        }))
        .map_err(|e| CallError::Kube(kube::Error::SerdeError(e)))?;
        bounded(leases.create(&PostParams::default(), &lease))
            .await
            .map(drop)
    }

    /// Registers the Node, retrying (with a message per failure) until it works or
    /// `cancel` fires; a refused credential ends it at once.
    pub async fn register_until_done(
        &self,
        cancel: &CancellationToken,
    ) -> Result<Option<Node>, CallError> {
        let mut delay = Duration::from_millis(500);
        loop {
            match self.register().await {
                Ok(node) => return Ok(Some(node)),
                Err(e) if e.is_refused() => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, "registering the node failed; retrying in {delay:?}")
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return Ok(None),
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }

    /// Heartbeats until `cancel` fires. `node` is the registered Node.
    pub async fn run(self, mut node: Node, cancel: CancellationToken) {
        let config =
            watcher::Config::default().fields(&format!("metadata.name={}", self.facts.name));
        let events = watcher(self.nodes(), config).default_backoff();
        let mut events = std::pin::pin!(events);
        let mut lease_tick = tokio::time::interval(self.lease_period);
        let mut status_tick = tokio::time::interval(self.status_period);
        status_tick.reset();
        let mut seen = true;
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = lease_tick.tick() => {
                    if let Err(e) = self.renew_lease(&node).await {
                        tracing::warn!(error = %e, "renewing the node lease failed; retrying in {:?}", self.lease_period);
                    }
                }
                _ = status_tick.tick() => match self.write_status(node.status.as_ref()).await {
                    Ok(n) => node = n,
                    Err(e) if e.is_not_found() => node = self.reregister(node).await,
                    Err(e) => tracing::warn!(error = %e, "writing the node status failed"),
                },
                event = events.next() => match event {
                    Some(Ok(watcher::Event::Delete(_))) => node = self.reregister(node).await,
                    Some(Ok(watcher::Event::Init)) => seen = false,
                    Some(Ok(watcher::Event::InitApply(n) | watcher::Event::Apply(n))) => {
                        seen = true;
                        self.publish_cidr(&n);
                    }
                    Some(Ok(watcher::Event::InitDone)) if !seen => node = self.reregister(node).await,
                    Some(Ok(watcher::Event::InitDone)) => {}
                    Some(Err(e)) => tracing::debug!(error = %e, "watching the node"),
                    None => return,
                },
            }
        }
    }

    async fn reregister(&self, old: Node) -> Node {
        tracing::warn!(node = %self.facts.name, "the Node was deleted; registering it again");
        match self.register().await {
            Ok(node) => node,
            Err(e) => {
                tracing::warn!(error = %e, "registering the node again failed; retrying at the next status update");
                old
            }
        }
    }
}
