//! The node lifecycle controller: from each Node's Lease in `kube-node-lease`, its Ready
//! condition, the not-ready/unreachable taints, pods marked not ready, and evictions once
//! their toleration runs out. Evictions are deletions: the API server does not serve
//! `pods/eviction` (and kube's taint manager deletes too).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, ObjectReference, Pod, PodCondition};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde_json::json;
use skiff_api::node_match::ready_status;
use skiff_controllers::node_lifecycle::{self, NodePlan};

use crate::context::{Ctx, Shared, drive};
use crate::error::Error;
use crate::events::EventNote;

/// The controller's name in metrics and logs.
const NAME: &str = "node_lifecycle";

/// Who this controller's Events say reported them (Kubernetes' name for it).
const EVENT_SOURCE: &str = "node-controller";

/// The namespace of the nodes' Leases.
const NODE_LEASES: &str = "kube-node-lease";

/// Runs the controller: its own watches of Nodes and node Leases, and the shared pod cache.
pub(crate) async fn controller(ctx: Arc<Ctx>, pods: Shared<Pod>) {
    let client = ctx.client.clone();
    let leases: Api<Lease> = Api::namespaced(client.clone(), NODE_LEASES);
    let config = Config::default().concurrency(ctx.config.concurrency);
    let metrics = ctx.metrics.clone();
    let controller = Controller::new(Api::<Node>::all(client), watcher::Config::default());
    let nodes = controller.store();
    let stream = controller
        .watches(leases, watcher::Config::default(), |lease| {
            Some(ObjectRef::new(&lease.name_any()))
        })
        .watches_shared_stream(pods, move |pod| {
            let node = ObjectRef::new(pod.spec.as_ref()?.node_name.as_deref()?);
            // A pod matters to its node's lifecycle only while that node is not healthy (its
            // pods are marked NotReady or evicted); a burst of pods on a Ready node must not
            // reconcile the node once per pod change.
            nodes
                .get(&node)
                .is_none_or(|n| needs_pod_events(&n))
                .then_some(node)
        })
        .with_config(config)
        .run(reconcile, error_policy, ctx);
    drive(stream, NAME, &metrics).await;
}

/// True when a Node's pods are the lifecycle controller's business: it is not Ready=True, or
/// it carries a NoExecute taint (whose tolerations time evictions).
fn needs_pod_events(node: &Node) -> bool {
    let ready = ready_status(node) == Some("True");
    let no_execute = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|t| t.iter().any(|t| t.effect == "NoExecute"));
    !ready || no_execute
}

fn error_policy(node: Arc<Node>, error: &Error, ctx: Arc<Ctx>) -> Action {
    ctx.backoff
        .next(NAME, format!("node/{}", node.name_any()), error)
}

async fn reconcile(node: Arc<Node>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let _busy = ctx.metrics.busy(NAME);
    ctx.caches_ready().await?;
    let name = node.name_any();
    let lease = Api::<Lease>::namespaced(ctx.client.clone(), NODE_LEASES)
        .get_opt(&name)
        .await
        .map_err(Error::api("reading the Lease of node", name.clone()))?;
    let pods: Vec<Arc<Pod>> = ctx
        .pods
        .state()
        .into_iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(name.as_str()))
        .collect();
    let params = ctx.config.node_lifecycle;
    let plan = node_lifecycle::reconcile(&node, lease.as_ref(), &pods, Timestamp::now(), params);
    write_node(&ctx, &name, &plan).await?;
    if turns_not_ready(&node, &plan) {
        let message = format!("Node {name} status is now: NodeNotReady");
        let note = EventNote::normal("NodeNotReady", message);
        ctx.events
            .record(EVENT_SOURCE, &node_reference(&node), note)
            .await;
    }
    mark_not_ready(&ctx, &pods, &plan.mark_not_ready).await?;
    evict(&ctx, &pods, &plan.evict).await?;
    ctx.backoff.reset(NAME, &format!("node/{name}"));
    let resync = Duration::from_secs(u64::try_from(params.grace_period_secs.max(1)).unwrap_or(1));
    let after = plan
        .requeue_after
        .and_then(|s| u64::try_from(s.max(1)).ok())
        .map_or(resync, Duration::from_secs);
    Ok(Action::requeue(after.min(resync)))
}

async fn write_node(ctx: &Ctx, name: &str, plan: &NodePlan) -> Result<(), Error> {
    let api: Api<Node> = Api::all(ctx.client.clone());
    if let Some(conditions) = &plan.conditions {
        let patch = json!({"status": {"conditions": conditions}});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(Error::api("writing the conditions of node", name))?;
    }
    if let Some(taints) = &plan.taints {
        let patch = json!({"spec": {"taints": taints}});
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(Error::api("writing the taints of node", name))?;
    }
    Ok(())
}

/// Whether `plan` takes a Ready=True node to Ready False or Unknown.
fn turns_not_ready(node: &Node, plan: &NodePlan) -> bool {
    let next = plan
        .conditions
        .as_deref()
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    ready_status(node) == Some("True") && next.is_some_and(|n| n.status != "True")
}

/// A Node as its Events name it: kube's node events carry the node's name as its uid, which
/// is what `kubectl describe node` looks for.
fn node_reference(node: &Node) -> ObjectReference {
    ObjectReference {
        kind: Some("Node".into()),
        name: Some(node.name_any()),
        uid: Some(node.name_any()),
        ..ObjectReference::default()
    }
}

/// Sets Ready=False on the named pods (`MarkPodsNotReady`), each with a NodeNotReady Event.
async fn mark_not_ready(ctx: &Ctx, pods: &[Arc<Pod>], names: &[String]) -> Result<(), Error> {
    for pod in pods.iter().filter(|p| names.contains(&p.name_any())) {
        let mut conditions: Vec<PodCondition> = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        for c in conditions.iter_mut().filter(|c| c.type_ == "Ready") {
            c.status = "False".into();
            c.reason = Some("NodeNotReady".into());
        }
        let ns = pod.namespace().unwrap_or_default();
        let patch = json!({"status": {"conditions": conditions}});
        Api::<Pod>::namespaced(ctx.client.clone(), &ns)
            .patch_status(
                &pod.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .map_err(Error::api("marking not ready pod", pod.name_any()))?;
        let note = EventNote::warning("NodeNotReady", "Node is not ready".into());
        ctx.events
            .record(EVENT_SOURCE, &pod.object_ref(&()), note)
            .await;
    }
    Ok(())
}

/// Deletes the named pods (an eviction without `pods/eviction`), each with the taint manager's
/// TaintManagerEviction Event.
async fn evict(ctx: &Ctx, pods: &[Arc<Pod>], names: &[String]) -> Result<(), Error> {
    for pod in pods.iter().filter(|p| names.contains(&p.name_any())) {
        let ns = pod.namespace().unwrap_or_default();
        let name = pod.name_any();
        tracing::info!("controller-manager: evicting pod {ns}/{name}");
        let note = EventNote::normal(
            "TaintManagerEviction",
            format!("Marking for deletion Pod {ns}/{name}"),
        );
        ctx.events
            .record(EVENT_SOURCE, &pod.object_ref(&()), note)
            .await;
        match Api::<Pod>::namespaced(ctx.client.clone(), &ns)
            .delete(&name, &DeleteParams::default())
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(Error::api("evicting pod", name)(e)),
        }
    }
    Ok(())
}
