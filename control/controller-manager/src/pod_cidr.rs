//! The pod CIDR controller (kube's `nodeipam` range allocator): each Node without a
//! `spec.podCIDR` gets the lowest free /24 of the cluster range in `podCIDR` and `podCIDRs`.
//! One reconcile at a time, and the CIDRs this term assigned are laid over the cache, so two
//! nodes never get the same range while the cache catches up.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde_json::json;
use skiff_controllers::pod_cidr::plan_pod_cidrs;

use crate::context::{Ctx, drive};
use crate::error::Error;
use crate::events::EventNote;

/// The controller's name in metrics and logs.
const NAME: &str = "pod_cidr";
/// Who this controller's Events say reported them (Kubernetes' name for it).
const EVENT_SOURCE: &str = "cidrAllocator";
/// A node left without a CIDR (the range is full) is tried again this often.
const EXHAUSTED_RETRY: Duration = Duration::from_secs(60);

struct CidrCtx {
    ctx: Arc<Ctx>,
    nodes: Store<Node>,
    /// Node uid to the CIDR written to it this term (by uid: a node deleted and created
    /// again under its name is a new node).
    assigned: Mutex<BTreeMap<String, String>>,
}

/// Runs the controller over its own watch of Nodes.
pub(crate) async fn controller(ctx: Arc<Ctx>) {
    let api: Api<Node> = Api::all(ctx.client.clone());
    let controller = Controller::new(api, watcher::Config::default());
    let metrics = ctx.metrics.clone();
    let cidr = Arc::new(CidrCtx {
        nodes: controller.store(),
        ctx,
        assigned: Mutex::default(),
    });
    // One at a time: each decision must see the previous one's assignment.
    let stream = controller
        .with_config(Config::default().concurrency(1))
        .run(reconcile, error_policy, cidr);
    drive(stream, NAME, &metrics).await;
}

fn error_policy(node: Arc<Node>, error: &Error, c: Arc<CidrCtx>) -> Action {
    c.ctx
        .backoff
        .next(NAME, format!("podcidr/{}", node.name_any()), error)
}

async fn reconcile(node: Arc<Node>, c: Arc<CidrCtx>) -> Result<Action, Error> {
    let name = node.name_any();
    if node
        .spec
        .as_ref()
        .and_then(|s| s.pod_cidr.as_ref())
        .is_some()
    {
        return Ok(Action::await_change());
    }
    let _busy = c.ctx.metrics.busy(NAME);
    // Every node is listed before a free range can be told from a taken one: kube-runtime
    // starts no reconcile before the controller's own store (`nodes`) has listed once.
    let config = &c.ctx.config;
    let nodes = with_assignments(&c);
    let plan =
        plan_pod_cidrs(&config.cluster_cidr, config.node_cidr_mask, &nodes).map_err(|source| {
            Error::Decide {
                kind: "Node",
                source,
            }
        })?;
    let Some(cidr) = plan
        .assign
        .into_iter()
        .find(|a| a.node == name)
        .map(|a| a.cidr)
    else {
        let mine = plan.errors.iter().find(
            |e| matches!(e, skiff_controllers::Error::CidrExhausted { node, .. } if *node == name),
        );
        if let Some(e) = mine {
            let note = EventNote::warning("CIDRNotAvailable", e.to_string());
            c.ctx
                .events
                .record(EVENT_SOURCE, &node.object_ref(&()), note)
                .await;
        }
        return Ok(Action::requeue(EXHAUSTED_RETRY));
    };
    let patch = json!({"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}});
    Api::<Node>::all(c.ctx.client.clone())
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(Error::api("writing the pod CIDR of node", name.clone()))?;
    tracing::info!("controller-manager: node {name} gets pod CIDR {cidr}");
    skiff_sync::lock(&c.assigned).insert(node.uid().unwrap_or_default(), cidr);
    c.ctx.backoff.reset(NAME, &format!("podcidr/{name}"));
    Ok(Action::await_change())
}

/// The cached nodes, with the CIDRs this term wrote that the cache may not show yet.
fn with_assignments(c: &CidrCtx) -> Vec<Node> {
    let assigned = skiff_sync::lock(&c.assigned);
    c.nodes
        .state()
        .iter()
        .map(|n| {
            let mut n = Node::clone(n);
            let spec = n.spec.get_or_insert_with(Default::default);
            if spec.pod_cidr.is_none() {
                spec.pod_cidr = assigned
                    .get(&n.metadata.uid.clone().unwrap_or_default())
                    .cloned();
            }
            n
        })
        .collect()
}
