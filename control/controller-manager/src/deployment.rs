//! The Deployment controller: creates the new ReplicaSet, scales and annotates the others one
//! rollout step at a time, deletes old ones beyond the history limit, adopts and releases
//! ReplicaSets, and writes the status.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use skiff_controllers::common::controller_owner;
use skiff_controllers::deployment::{self, DeploymentPlan, REVISION};

use crate::context::{Ctx, Shared, drive};
use crate::error::Error;
use crate::events::EventNote;
use crate::owners::adopt_and_release;

/// The controller's name in metrics and logs.
const NAME: &str = "deployment";
/// Who this controller's Events say reported them (Kubernetes' name for it).
const EVENT_SOURCE: &str = "deployment-controller";

/// How soon a Deployment mid-rollout looks again without a change (progress deadlines, and
/// `minReadySeconds` passing).
const ROLLING_RESYNC: Duration = Duration::from_secs(1);

/// Runs the controller: its own watch of Deployments, triggered too by the shared ReplicaSets.
pub(crate) async fn controller(ctx: Arc<Ctx>, replica_sets: Shared<ReplicaSet>) {
    let api: Api<Deployment> = Api::all(ctx.client.clone());
    let config = Config::default().concurrency(ctx.config.concurrency);
    let metrics = ctx.metrics.clone();
    let stream = Controller::new(api, watcher::Config::default())
        .owns_shared_stream(replica_sets)
        .with_config(config)
        .run(reconcile, error_policy, ctx);
    drive(stream, NAME, &metrics).await;
}

fn error_policy(d: Arc<Deployment>, error: &Error, ctx: Arc<Ctx>) -> Action {
    ctx.backoff.next(NAME, key(&d), error)
}

fn key(d: &Deployment) -> String {
    format!(
        "deployment/{}/{}",
        d.namespace().unwrap_or_default(),
        d.name_any()
    )
}

async fn reconcile(d: Arc<Deployment>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let _busy = ctx.metrics.busy(NAME);
    ctx.caches_ready().await?;
    let ns = d.namespace().unwrap_or_default();
    let rss: Vec<ReplicaSet> = ctx
        .replica_sets
        .state()
        .iter()
        .filter(|rs| rs.metadata.namespace.as_deref() == Some(ns.as_str()))
        .map(|rs| ReplicaSet::clone(rs))
        .collect();
    let pods = ctx.pods_in(&ns);
    let plan = deployment::reconcile(&d, &rss, &pods, Timestamp::now()).map_err(|source| {
        Error::Decide {
            kind: "Deployment",
            source,
        }
    })?;
    let api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), &ns);
    let owner = controller_owner(
        "apps/v1",
        "Deployment",
        &d.name_any(),
        &d.uid().unwrap_or_default(),
    );
    adopt_and_release(&api, &rss, &owner, &plan.adopt, &plan.release).await?;
    let settled = execute(&api, &ctx, &ns, &plan, &d.object_ref(&())).await?;
    if d.status.as_ref() != Some(&plan.status) {
        let mut with_status = Deployment::clone(&d);
        with_status.status = Some(plan.status.clone());
        Api::<Deployment>::namespaced(ctx.client.clone(), &ns)
            .replace_status(&d.name_any(), &PostParams::default(), &with_status)
            .await
            .map_err(Error::api("writing the status of", d.name_any()))?;
    }
    // After the status, which is written against the cached resourceVersion; a merge patch
    // of one annotation needs none.
    if let Some(revision) = &plan.revision {
        let patch = serde_json::json!({"metadata": {"annotations": {REVISION: revision}}});
        Api::<Deployment>::namespaced(ctx.client.clone(), &ns)
            .patch(
                &d.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .map_err(Error::api("annotating the revision of", d.name_any()))?;
    }
    ctx.backoff.reset(NAME, &key(&d));
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let done = plan.status.updated_replicas == Some(want)
        && plan.status.available_replicas == Some(want)
        && plan.status.replicas == Some(want);
    if settled && done {
        Ok(Action::requeue(Duration::from_secs(60)))
    } else {
        Ok(Action::requeue(ROLLING_RESYNC))
    }
}

/// Creates, updates and deletes ReplicaSets, recording each change of size as kube's
/// ScalingReplicaSet Event on `deployment`; whether nothing needed writing.
async fn execute(
    api: &Api<ReplicaSet>,
    ctx: &Ctx,
    ns: &str,
    plan: &DeploymentPlan,
    deployment: &ObjectReference,
) -> Result<bool, Error> {
    if let Some(new) = &plan.create {
        match api.create(&PostParams::default(), new).await {
            Ok(_) => {
                let replicas = new.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
                record_scaling(ctx, deployment, &new.name_any(), 0, replicas).await;
            }
            // Created by an earlier sync the cache does not show yet.
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(Error::api("creating ReplicaSet", new.name_any())(e)),
        }
    }
    for update in &plan.update {
        let Some(cached) = ctx
            .replica_sets
            .get(&ObjectRef::new(&update.name).within(ns))
        else {
            continue;
        };
        let mut rs = ReplicaSet::clone(&cached);
        rs.meta_mut().annotations = Some(update.annotations.clone());
        let before = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        if let Some(spec) = rs.spec.as_mut() {
            spec.replicas = Some(update.replicas);
        }
        // The cached resourceVersion makes a stale decision fail with 409, retried at once.
        api.replace(&update.name, &PostParams::default(), &rs)
            .await
            .map_err(Error::api("scaling ReplicaSet", update.name.clone()))?;
        record_scaling(ctx, deployment, &update.name, before, update.replicas).await;
    }
    for name in &plan.delete {
        match api.delete(name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(Error::api("deleting ReplicaSet", name.clone())(e)),
        }
    }
    Ok(plan.create.is_none() && plan.update.is_empty() && plan.delete.is_empty())
}

/// kube's ScalingReplicaSet Event for a ReplicaSet resized from `from` to `to` (none when the
/// size did not change).
async fn record_scaling(ctx: &Ctx, deployment: &ObjectReference, rs: &str, from: i32, to: i32) {
    let direction = match to.cmp(&from) {
        std::cmp::Ordering::Greater => "up",
        std::cmp::Ordering::Less => "down",
        std::cmp::Ordering::Equal => return,
    };
    let message = format!("Scaled {direction} replica set {rs} from {from} to {to}");
    let note = EventNote::normal("ScalingReplicaSet", message);
    ctx.events.record(EVENT_SOURCE, deployment, note).await;
}
