//! The CronJob controller: starts the Job of each scheduled run (named after the run's
//! minute, so a repeated decision gets 409 and starts nothing twice), deletes Jobs replaced
//! or beyond the history limits, writes the status, records warnings as Events, and looks
//! again when the next run is due.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use skiff_controllers::cronjob::{self, CronJobPlan, CronJobWarning};

use crate::context::{Ctx, Shared, drive};
use crate::error::Error;
use crate::events::EventNote;

/// The controller's name in metrics and logs.
const NAME: &str = "cronjob";
/// Who this controller's Events say reported them (Kubernetes' name for it).
const EVENT_SOURCE: &str = "cronjob-controller";
/// A suspended CronJob, or one whose schedule never fires, is looked at again this often.
const RESYNC: Duration = Duration::from_secs(60);

/// Runs the controller: its own watch of CronJobs, triggered too by the shared Jobs.
pub(crate) async fn controller(ctx: Arc<Ctx>, jobs: Shared<Job>) {
    let api: Api<CronJob> = Api::all(ctx.client.clone());
    let config = Config::default().concurrency(ctx.config.concurrency);
    let metrics = ctx.metrics.clone();
    let stream = Controller::new(api, watcher::Config::default())
        .owns_shared_stream(jobs)
        .with_config(config)
        .run(reconcile, error_policy, ctx);
    drive(stream, NAME, &metrics).await;
}

fn error_policy(cj: Arc<CronJob>, error: &Error, ctx: Arc<Ctx>) -> Action {
    ctx.backoff.next(NAME, key(&cj), error)
}

fn key(cj: &CronJob) -> String {
    format!(
        "cronjob/{}/{}",
        cj.namespace().unwrap_or_default(),
        cj.name_any()
    )
}

async fn reconcile(cj: Arc<CronJob>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let _busy = ctx.metrics.busy(NAME);
    ctx.caches_ready().await?;
    let ns = cj.namespace().unwrap_or_default();
    let jobs: Vec<Job> = ctx
        .jobs
        .state()
        .iter()
        .filter(|j| j.metadata.namespace.as_deref() == Some(ns.as_str()))
        .map(|j| Job::clone(j))
        .collect();
    let mut plan =
        cronjob::reconcile(&cj, &jobs, Timestamp::now()).map_err(|source| Error::Decide {
            kind: "CronJob",
            source,
        })?;
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
    for name in &plan.delete_jobs {
        match api.delete(name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(Error::api("deleting Job", name.clone())(e)),
        }
    }
    start_job(&ctx, &cj, &api, &mut plan).await?;
    for warning in &plan.warnings {
        ctx.events
            .record(EVENT_SOURCE, &cj.object_ref(&()), note(warning))
            .await;
    }
    if cj.status.as_ref() != Some(&plan.status) {
        let mut with_status = CronJob::clone(&cj);
        with_status.status = Some(plan.status.clone());
        Api::<CronJob>::namespaced(ctx.client.clone(), &ns)
            .replace_status(&cj.name_any(), &PostParams::default(), &with_status)
            .await
            .map_err(Error::api("writing the status of CronJob", cj.name_any()))?;
    }
    ctx.backoff.reset(NAME, &key(&cj));
    Ok(Action::requeue(until_next_run(plan.requeue_after)))
}

/// How long until the next run: it is due in whole seconds from a truncated `now`, so the
/// wake-up is up to a second late, never early (tokio's timers do not fire early, and a
/// wake-up a little early would only find nothing due and sleep again). At least a second;
/// a suspended CronJob, or one that never fires, looks again after [`RESYNC`].
fn until_next_run(requeue_after: Option<i64>) -> Duration {
    requeue_after
        .and_then(|s| u64::try_from(s.max(1)).ok())
        .map_or(RESYNC, Duration::from_secs)
}

/// Creates the planned Job and fills its uid into the status' active reference. A Job of
/// that name that exists already is this run's (made by an earlier sync).
async fn start_job(
    ctx: &Ctx,
    cj: &CronJob,
    api: &Api<Job>,
    plan: &mut CronJobPlan,
) -> Result<(), Error> {
    let Some(job) = &plan.create else {
        return Ok(());
    };
    let name = job.name_any();
    let created = match api.create(&PostParams::default(), job).await {
        Ok(created) => {
            let note = EventNote::normal("SuccessfulCreate", format!("Created job {name}"));
            ctx.events
                .record(EVENT_SOURCE, &cj.object_ref(&()), note)
                .await;
            created
        }
        Err(kube::Error::Api(s)) if s.code == 409 => api
            .get(&name)
            .await
            .map_err(Error::api("reading Job", name.clone()))?,
        Err(e) => return Err(Error::api("creating Job", name)(e)),
    };
    for r in plan.status.active.iter_mut().flatten() {
        if r.name.as_deref() == Some(name.as_str()) {
            r.uid = created.uid();
        }
    }
    Ok(())
}

/// A warning in kube-controller-manager's words.
fn note(w: &CronJobWarning) -> EventNote {
    match w {
        CronJobWarning::TooManyMissedTimes { missed } => EventNote::warning(
            "TooManyMissedTimes",
            format!("too many missed start times: {missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew"),
        ),
        CronJobWarning::MissSchedule { scheduled } => EventNote::warning(
            "MissSchedule",
            format!(
                "Missed scheduled time to start a job: {}",
                Timestamp::from_second(*scheduled).map_or_else(|_| scheduled.to_string(), |t| t.to_string())
            ),
        ),
        CronJobWarning::UnsupportedSchedule => EventNote::warning(
            "UnsupportedSchedule",
            "CRON_TZ or TZ used in schedule is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details".to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{RESYNC, until_next_run};

    #[test]
    fn until_next_run_table() {
        let table = [
            (Some(59), Duration::from_secs(59)),
            (Some(0), Duration::from_secs(1)),
            (Some(86_400), Duration::from_secs(86_400)),
            (None, RESYNC),
        ];
        for (after, want) in table {
            assert_eq!(until_next_run(after), want, "{after:?}");
        }
    }
}
