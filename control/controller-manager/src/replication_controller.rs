//! The ReplicationController controller: the ReplicaSet controller's work for core/v1
//! ReplicationControllers (claim, create and delete pods with expectations, status). Started
//! only when the API server serves `replicationcontrollers`.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::watcher;
use skiff_controllers::common::controller_owner;
use skiff_controllers::replication_controller;

use crate::context::{Ctx, Shared, drive};
use crate::error::Error;
use crate::owners::adopt_and_release;
use crate::pods::{PodOwner, write_pods};

/// The controller's name in metrics and logs.
const NAME: &str = "replicationcontroller";
/// Who this controller's Events say reported them (Kubernetes' name for it).
const EVENT_SOURCE: &str = "replication-controller";
/// How soon a controller that wrote, or waits for its expectations, looks again.
const SOON: Duration = Duration::from_millis(200);

/// Whether the API server serves ReplicationControllers (the resource table says).
pub(crate) fn served() -> bool {
    skiff_api::resources::find("", "v1", "replicationcontrollers").is_some()
}

/// Runs the controller: its own watch of ReplicationControllers and the shared pods.
pub(crate) async fn controller(ctx: Arc<Ctx>, pods: Shared<Pod>) {
    let api: Api<ReplicationController> = Api::all(ctx.client.clone());
    let config = Config::default().concurrency(ctx.config.concurrency);
    let metrics = ctx.metrics.clone();
    let stream = Controller::new(api, watcher::Config::default())
        .owns_shared_stream(pods)
        .with_config(config)
        .run(reconcile, error_policy, ctx);
    drive(stream, NAME, &metrics).await;
}

fn error_policy(rc: Arc<ReplicationController>, error: &Error, ctx: Arc<Ctx>) -> Action {
    ctx.backoff.next(NAME, key(&rc), error)
}

/// The key of its expectations and back-off: by uid too, so an object created again under
/// its name starts afresh.
fn key(rc: &ReplicationController) -> String {
    format!(
        "rc/{}/{}/{}",
        rc.namespace().unwrap_or_default(),
        rc.name_any(),
        rc.uid().unwrap_or_default()
    )
}

async fn reconcile(rc: Arc<ReplicationController>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let _busy = ctx.metrics.busy(NAME);
    ctx.caches_ready().await?;
    let ns = rc.namespace().unwrap_or_default();
    let key = key(&rc);
    if !ctx.expectations.satisfied(&key, &ns, &ctx.pods) {
        return Ok(Action::requeue(SOON));
    }
    let pods = ctx.pods_in(&ns);
    let plan =
        replication_controller::reconcile(&rc, &pods, Timestamp::now()).map_err(|source| {
            Error::Decide {
                kind: "ReplicationController",
                source,
            }
        })?;
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let owner = controller_owner(
        "v1",
        "ReplicationController",
        &rc.name_any(),
        &rc.uid().unwrap_or_default(),
    );
    adopt_and_release(&api, &pods, &owner, &plan.adopt, &plan.release).await?;
    let wrote = write_pods(
        &ctx,
        &key,
        &api,
        &PodOwner::of(&*rc, EVENT_SOURCE),
        plan.create,
        plan.delete,
    )
    .await?;
    if rc.status.as_ref() != Some(&plan.status) {
        let mut with_status = ReplicationController::clone(&rc);
        with_status.status = Some(plan.status);
        Api::<ReplicationController>::namespaced(ctx.client.clone(), &ns)
            .replace_status(&rc.name_any(), &PostParams::default(), &with_status)
            .await
            .map_err(Error::api("writing the status of", rc.name_any()))?;
    }
    ctx.backoff.reset(NAME, &key);
    Ok(Action::requeue(if wrote {
        SOON
    } else {
        Duration::from_secs(60)
    }))
}
