//! The scale-to-zero controller: for every Deployment, `skiff_controllers::scale_to_zero`
//! decides which Services to mark (the node proxies then report their connections on the
//! Nodes and wake the Deployment) and whether it has been idle long enough to scale to 0
//! through `/scale`. Services come from a reflector of its own; Nodes (the reported
//! activity) are listed when a marked Deployment is decided.

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use serde_json::json;
use skiff_controllers::scale_to_zero::{
    IDLE_ANNOTATION, ScaleToZeroPlan, TARGET_ANNOTATION, reconcile as decide,
};

use crate::cache_ready::{CacheReady, ready_channel, signal_when_listed};
use crate::context::{Ctx, drive};
use crate::error::Error;
use crate::events::EventNote;

/// The controller's name in metrics and logs.
const NAME: &str = "scale_to_zero";
/// Who this controller's Events say reported them (Kubernetes' name for it).
const EVENT_SOURCE: &str = "scale-to-zero-controller";

struct StzCtx {
    ctx: Arc<Ctx>,
    services: Store<Service>,
    services_ready: CacheReady,
}

/// Runs the controller over its own watches of Deployments and Services.
pub(crate) async fn controller(ctx: Arc<Ctx>) {
    let (services, writer) = reflector::store::<Service>();
    let service_watch = watcher(
        Api::<Service>::all(ctx.client.clone()),
        watcher::Config::default(),
    )
    .default_backoff();
    let (listed, services_ready) = ready_channel();
    let keep_services = signal_when_listed(reflector::reflector(writer, service_watch), listed)
        .for_each(|_| async {});
    let api: Api<Deployment> = Api::all(ctx.client.clone());
    let metrics = ctx.metrics.clone();
    let config = Config::default().concurrency(ctx.config.concurrency);
    let c = Arc::new(StzCtx {
        ctx,
        services,
        services_ready,
    });
    let stream = Controller::new(api, watcher::Config::default())
        .with_config(config)
        .run(reconcile, error_policy, c);
    tokio::join!(drive(stream, NAME, &metrics), keep_services);
}

fn error_policy(deployment: Arc<Deployment>, error: &Error, c: Arc<StzCtx>) -> Action {
    c.ctx.backoff.next(NAME, key(&deployment), error)
}

fn key(d: &Deployment) -> String {
    format!("stz/{}/{}", d.namespace().unwrap_or_default(), d.name_any())
}

async fn reconcile(deployment: Arc<Deployment>, c: Arc<StzCtx>) -> Result<Action, Error> {
    let ns = deployment.namespace().unwrap_or_default();
    let name = deployment.name_any();
    let marked = deployment.annotations().contains_key(IDLE_ANNOTATION);
    if c.services_ready.wait().await.is_err() {
        return Ok(Action::requeue(std::time::Duration::from_secs(1)));
    }
    let services: Vec<Service> = c
        .services
        .state()
        .iter()
        .filter(|s| s.namespace().as_deref() == Some(ns.as_str()))
        .map(|s| Service::clone(s))
        .collect();
    let names_it = |s: &Service| s.annotations().get(TARGET_ANNOTATION) == Some(&name);
    if !marked && !services.iter().any(names_it) {
        return Ok(Action::await_change());
    }
    let _busy = c.ctx.metrics.busy(NAME);
    let nodes = if marked {
        Api::<Node>::all(c.ctx.client.clone())
            .list(&ListParams::default())
            .await
            .map_err(Error::api("listing", "nodes".to_owned()))?
            .items
    } else {
        Vec::new()
    };
    let plan = decide(&deployment, &services, &nodes, Timestamp::now().as_second());
    mark_services(&c, &ns, &name, &plan).await?;
    let object = deployment.object_ref(&());
    if let Some(problem) = &plan.problem {
        c.ctx
            .events
            .record(
                EVENT_SOURCE,
                &object,
                EventNote::warning("InvalidScaleToZero", problem.clone()),
            )
            .await;
    }
    if plan.scale_to_zero {
        scale_to_zero(&c, &deployment, &nodes).await?;
    }
    c.ctx.backoff.reset(NAME, &key(&deployment));
    Ok(match plan.requeue_after {
        Some(s) => Action::requeue(std::time::Duration::from_secs(s.max(1).unsigned_abs())),
        None => Action::await_change(),
    })
}

/// Points the Services the plan names at the Deployment (the annotation the node proxy reads to
/// wake it), and unpoints the others.
async fn mark_services(
    c: &StzCtx,
    ns: &str,
    name: &str,
    plan: &ScaleToZeroPlan,
) -> Result<(), Error> {
    let service_api: Api<Service> = Api::namespaced(c.ctx.client.clone(), ns);
    let marks = plan.mark.iter().map(|s| (s, json!(name)));
    let unmarks = plan.unmark.iter().map(|s| (s, serde_json::Value::Null));
    for (service, value) in marks.chain(unmarks) {
        let patch = json!({"metadata": {"annotations": {TARGET_ANNOTATION: value}}});
        service_api
            .patch(service, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(Error::api("marking the Service", service.clone()))?;
    }
    Ok(())
}

/// Scales an idle Deployment to 0 through its scale subresource and says so in an event.
async fn scale_to_zero(c: &StzCtx, deployment: &Deployment, nodes: &[Node]) -> Result<(), Error> {
    let ns = deployment.namespace().unwrap_or_default();
    let name = deployment.name_any();
    let patch = json!({"spec": {"replicas": 0}});
    Api::<Deployment>::namespaced(c.ctx.client.clone(), &ns)
        .patch_scale(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(Error::api("scaling to zero", name.clone()))?;
    let note = EventNote::normal(
        "ScaledToZero",
        "no connection for its idle time: scaled to 0".into(),
    );
    c.ctx
        .events
        .record(EVENT_SOURCE, &deployment.object_ref(&()), note)
        .await;
    let reported: Vec<&String> = nodes
        .iter()
        .filter_map(|n| {
            n.annotations()
                .get(skiff_controllers::scale_to_zero::ACTIVITY_ANNOTATION)
        })
        .collect();
    tracing::info!(
        ?reported,
        "controller-manager: deployment {ns}/{name} idle: scaled to 0"
    );
    Ok(())
}
