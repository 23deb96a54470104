//! The ReplicaSet controller: claims pods, creates and deletes them to match `replicas`, and
//! writes the status; with expectations, so a lagging pod cache never doubles a creation.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Config, Controller};
use skiff_controllers::common::controller_owner;
use skiff_controllers::replicaset;

use crate::context::{Ctx, Shared, drive};
use crate::error::Error;
use crate::owners::adopt_and_release;
use crate::pods::{PodOwner, write_pods};

/// The controller's name in metrics and logs.
const NAME: &str = "replicaset";
/// Who this controller's Events say reported them (Kubernetes' name for it).
const EVENT_SOURCE: &str = "replicaset-controller";

/// How soon a ReplicaSet waiting for its expectations looks again.
const EXPECTATIONS_POLL: Duration = Duration::from_millis(200);

/// Runs the controller: triggered by the shared ReplicaSet and pod caches.
pub(crate) async fn controller(ctx: Arc<Ctx>, replica_sets: Shared<ReplicaSet>, pods: Shared<Pod>) {
    let config = Config::default().concurrency(ctx.config.concurrency);
    let metrics = ctx.metrics.clone();
    let stream = Controller::for_shared_stream(replica_sets, ctx.replica_sets.clone())
        .owns_shared_stream(pods)
        .with_config(config)
        .run(reconcile, error_policy, ctx);
    drive(stream, NAME, &metrics).await;
}

fn error_policy(rs: Arc<ReplicaSet>, error: &Error, ctx: Arc<Ctx>) -> Action {
    ctx.backoff.next(NAME, key(&rs), error)
}

/// The key of its expectations and back-off: by uid too, so an object created again under
/// its name starts afresh.
fn key(rs: &ReplicaSet) -> String {
    format!(
        "replicaset/{}/{}/{}",
        rs.namespace().unwrap_or_default(),
        rs.name_any(),
        rs.uid().unwrap_or_default()
    )
}

async fn reconcile(rs: Arc<ReplicaSet>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let _busy = ctx.metrics.busy(NAME);
    ctx.caches_ready().await?;
    let ns = rs.namespace().unwrap_or_default();
    let key = key(&rs);
    if !ctx.expectations.satisfied(&key, &ns, &ctx.pods) {
        return Ok(Action::requeue(EXPECTATIONS_POLL));
    }
    let pods = ctx.pods_in(&ns);
    let plan =
        replicaset::reconcile(&rs, &pods, Timestamp::now()).map_err(|source| Error::Decide {
            kind: "ReplicaSet",
            source,
        })?;
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let uid = rs.uid().unwrap_or_default();
    let owner = controller_owner("apps/v1", "ReplicaSet", &rs.name_any(), &uid);
    adopt_and_release(&api, &pods, &owner, &plan.adopt, &plan.release).await?;
    let wrote = write_pods(
        &ctx,
        &key,
        &api,
        &PodOwner::of(&*rs, EVENT_SOURCE),
        plan.create,
        plan.delete,
    )
    .await?;
    if rs.status.as_ref() != Some(&plan.status) {
        let mut with_status = ReplicaSet::clone(&rs);
        with_status.status = Some(plan.status);
        Api::<ReplicaSet>::namespaced(ctx.client.clone(), &ns)
            .replace_status(&rs.name_any(), &PostParams::default(), &with_status)
            .await
            .map_err(Error::api("writing the status of", rs.name_any()))?;
    }
    ctx.backoff.reset(NAME, &key);
    if wrote {
        return Ok(Action::requeue(EXPECTATIONS_POLL));
    }
    Ok(Action::requeue(Duration::from_secs(60)))
}
