//! The Job controller: creates and deletes a Job's pods (with expectations, as ReplicaSets),
//! writes its status, then removes the tracking finalizer of the finished pods that status
//! records, and deletes the Job once `ttlSecondsAfterFinished` has passed.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Config, Controller};
use kube::{Resource, ResourceExt};
use skiff_controllers::job::{self, JobPlan, TRACKING_FINALIZER};

use crate::context::{Ctx, Shared, drive};
use crate::error::Error;
use crate::events::EventNote;
use crate::pods::{PodOwner, delete_pods, remove_finalizer, write_pods};

/// The controller's name in metrics and logs.
const NAME: &str = "job";
/// Who this controller's Events say reported them (Kubernetes' name for it).
const EVENT_SOURCE: &str = "job-controller";
/// How soon a Job that just wrote looks again (its pods' events usually come first).
const SOON: Duration = Duration::from_millis(200);
/// How often an idle running Job is decided again without a change.
const RESYNC: Duration = Duration::from_secs(60);

/// Runs the controller: triggered by the shared Job and pod caches.
pub(crate) async fn controller(ctx: Arc<Ctx>, jobs: Shared<Job>, pods: Shared<Pod>) {
    let config = Config::default().concurrency(ctx.config.concurrency);
    let metrics = ctx.metrics.clone();
    let stream = Controller::for_shared_stream(jobs, ctx.jobs.clone())
        .owns_shared_stream(pods)
        .with_config(config)
        .run(reconcile, error_policy, ctx);
    drive(stream, NAME, &metrics).await;
}

fn error_policy(job: Arc<Job>, error: &Error, ctx: Arc<Ctx>) -> Action {
    ctx.backoff.next(NAME, key(&job), error)
}

/// The key of its expectations and back-off: by uid too, so an object created again under
/// its name starts afresh.
fn key(job: &Job) -> String {
    format!(
        "job/{}/{}/{}",
        job.namespace().unwrap_or_default(),
        job.name_any(),
        job.uid().unwrap_or_default()
    )
}

async fn reconcile(job: Arc<Job>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let _busy = ctx.metrics.busy(NAME);
    ctx.caches_ready().await?;
    let ns = job.namespace().unwrap_or_default();
    let key = key(&job);
    if !ctx.expectations.satisfied(&key, &ns, &ctx.pods) {
        return Ok(Action::requeue(SOON));
    }
    let pods = ctx.pods_in(&ns);
    let plan = job::reconcile(&job, &pods, Timestamp::now()).map_err(|source| Error::Decide {
        kind: "Job",
        source,
    })?;
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let wrote = write_pods(
        &ctx,
        &key,
        &api,
        &PodOwner::of(&*job, EVENT_SOURCE),
        plan.create.clone(),
        plan.delete.clone(),
    )
    .await?
        || !plan.remove_finalizer.is_empty();
    write_status(&ctx, &job, &plan).await?;
    if let Some(note) = finished_note(job.status.as_ref(), &plan.status) {
        ctx.events
            .record(EVENT_SOURCE, &job.object_ref(&()), note)
            .await;
    }
    release_finished(&api, &pods, &plan.remove_finalizer).await?;
    if plan.delete_job {
        delete_job(&ctx, &job).await?;
        ctx.backoff.reset(NAME, &key);
        return Ok(Action::await_change());
    }
    ctx.backoff.reset(NAME, &key);
    Ok(Action::requeue(next_look(wrote, plan.requeue_after)))
}

/// When to decide again: soon after writing (the cache catches up), else when the plan's
/// deadline or TTL falls due (whole seconds, at least one), at most a minute away.
fn next_look(wrote: bool, requeue_after: Option<i64>) -> Duration {
    if wrote {
        return SOON;
    }
    requeue_after
        .and_then(|s| u64::try_from(s.max(1)).ok())
        .map_or(RESYNC, |s| Duration::from_secs(s).min(RESYNC))
}

/// Writes the planned status if it differs (with the cached `resourceVersion`: a decision on
/// a stale Job gets 409 and is made again, so no finished pod is counted twice).
async fn write_status(ctx: &Ctx, job: &Job, plan: &JobPlan) -> Result<(), Error> {
    if job.status.as_ref() == Some(&plan.status) {
        return Ok(());
    }
    let mut with_status = job.clone();
    with_status.status = Some(plan.status.clone());
    Api::<Job>::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default())
        .replace_status(&job.name_any(), &PostParams::default(), &with_status)
        .await
        .map_err(Error::api("writing the status of Job", job.name_any()))?;
    Ok(())
}

/// kube's Event for a Job that has just finished: `Completed` ("Job completed"), or a Warning
/// with the reason and message of its Failed condition (`BackoffLimitExceeded`,
/// `DeadlineExceeded`, ...); `None` when it had finished already or is still running.
fn finished_note(before: Option<&JobStatus>, after: &JobStatus) -> Option<EventNote> {
    let finished = |status: &JobStatus, kind: &str| {
        status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == kind && c.status == "True")
            .cloned()
    };
    let already = before
        .is_some_and(|b| finished(b, "Complete").is_some() || finished(b, "Failed").is_some());
    if already {
        return None;
    }
    if finished(after, "Complete").is_some() {
        return Some(EventNote::normal("Completed", "Job completed".into()));
    }
    let failed = finished(after, "Failed")?;
    Some(EventNote::warning(
        failed.reason.unwrap_or_else(|| "Failed".into()),
        failed.message.unwrap_or_default(),
    ))
}

/// Removes the tracking finalizer of the finished pods now recorded in the status. A pod
/// that was being deleted is deleted again: without a finalizer and a grace period the API
/// server then removes it (it does not on the finalizer's removal alone).
async fn release_finished(
    api: &Api<Pod>,
    pods: &[Arc<Pod>],
    names: &[String],
) -> Result<(), Error> {
    for pod in pods.iter().filter(|p| names.contains(&p.name_any())) {
        remove_finalizer(api, pod, TRACKING_FINALIZER).await?;
        if pod.metadata.deletion_timestamp.is_some() {
            delete_pods(api, vec![pod.name_any()])
                .await
                .1
                .map_or(Ok(()), Err)?;
        }
    }
    Ok(())
}

/// Deletes the finished Job whose TTL ran out (its pods go with it, through the garbage
/// collector); the uid precondition spares a new Job of the same name.
async fn delete_job(ctx: &Ctx, job: &Job) -> Result<(), Error> {
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: job.uid(),
            resource_version: None,
        }),
        ..DeleteParams::background()
    };
    let api = Api::<Job>::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    match api.delete(&job.name_any(), &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        Err(e) => Err(Error::api("deleting the finished Job", job.name_any())(e)),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{RESYNC, SOON, next_look};

    #[test]
    fn next_look_table() {
        let table = [
            (true, Some(30), SOON),
            (false, Some(30), Duration::from_secs(30)),
            (false, Some(0), Duration::from_secs(1)),
            (false, Some(-5), Duration::from_secs(1)),
            (false, Some(3600), RESYNC),
            (false, None, RESYNC),
        ];
        for (wrote, after, want) in table {
            assert_eq!(next_look(wrote, after), want, "{wrote} {after:?}");
        }
    }
}
