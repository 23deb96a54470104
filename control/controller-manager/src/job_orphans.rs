//! Pods that carry the Job tracking finalizer but whose Job is gone (deleted, its pods
//! collected): nobody will count them, so their finalizer is removed, as kube's Job
//! controller does for orphan pods. Without this a deleted Job's pods would stay
//! terminating for ever.

use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::ObjectRef;
use skiff_controllers::common::controller_ref;
use skiff_controllers::job::TRACKING_FINALIZER;

use crate::context::{Ctx, Shared, drive};
use crate::error::Error;
use crate::pods::{delete_pods, remove_finalizer};

/// The controller's name in metrics and logs.
const NAME: &str = "job_orphans";

/// Runs the controller: triggered by the shared pod cache.
pub(crate) async fn controller(ctx: Arc<Ctx>, pods: Shared<Pod>) {
    let config = Config::default().concurrency(ctx.config.concurrency);
    let metrics = ctx.metrics.clone();
    let stream = Controller::for_shared_stream(pods, ctx.pods.clone())
        .with_config(config)
        .run(reconcile, error_policy, ctx);
    drive(stream, NAME, &metrics).await;
}

fn error_policy(pod: Arc<Pod>, error: &Error, ctx: Arc<Ctx>) -> Action {
    ctx.backoff.next(NAME, key(&pod), error)
}

fn key(pod: &Pod) -> String {
    format!(
        "job-orphan/{}/{}",
        pod.namespace().unwrap_or_default(),
        pod.name_any()
    )
}

async fn reconcile(pod: Arc<Pod>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    if !pod.finalizers().iter().any(|f| f == TRACKING_FINALIZER) {
        return Ok(Action::await_change());
    }
    let _busy = ctx.metrics.busy(NAME);
    ctx.caches_ready().await?;
    let ns = pod.namespace().unwrap_or_default();
    if let Some(owner) = controller_ref(&pod.metadata).filter(|r| r.kind == "Job") {
        let cached = ctx.jobs.get(&ObjectRef::new(&owner.name).within(&ns));
        if cached.is_some_and(|j| j.uid().as_deref() == Some(owner.uid.as_str())) {
            return Ok(Action::await_change());
        }
        // The cache may lag a Job just created: ask the API before calling the pod an orphan.
        let live = Api::<Job>::namespaced(ctx.client.clone(), &ns)
            .get_opt(&owner.name)
            .await
            .map_err(Error::api("reading the Job of pod", pod.name_any()))?;
        if live.is_some_and(|j| j.uid().as_deref() == Some(owner.uid.as_str())) {
            return Ok(Action::await_change());
        }
    }
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    remove_finalizer(&api, &pod, TRACKING_FINALIZER).await?;
    if pod.metadata.deletion_timestamp.is_some()
        && let Some(e) = delete_pods(&api, vec![pod.name_any()]).await.1
    {
        return Err(e);
    }
    ctx.backoff.reset(NAME, &key(&pod));
    Ok(Action::await_change())
}
