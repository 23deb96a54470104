//! The Job decision (kube-controller-manager's `job` controller), NonIndexed completion
//! mode: count finished pods through the tracking finalizer and
//! `uncountedTerminatedPods` (`tracking`), fail on `backoffLimit` or
//! `activeDeadlineSeconds`, complete on `completions`, keep `parallelism` pods running,
//! suspend, back off before replacing failed pods, and delete the finished Job after
//! `ttlSecondsAfterFinished`.

mod backoff;
mod conditions;
mod tracking;

#[cfg(test)]
mod tests;

use k8s_openapi::api::batch::v1::{Job, JobSpec, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

use crate::Error;
use crate::common::{
    controller_owner, controller_ref, is_pod_active, is_pod_ready, is_terminating, name_of,
    pod_from_template, secs, time_at, uid_of,
};
use conditions::{Finish, finished, set_condition};

/// The finalizer a Job's pods carry until the Job has counted them.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// `backoffLimit` when unset.
pub const DEFAULT_BACKOFF_LIMIT: i32 = 6;

/// What to do for one Job.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobPlan {
    /// Pods to create (`generateName: <job>-`, the tracking finalizer, the Job's labels).
    pub create: Vec<Pod>,
    /// Active pods to delete: beyond `parallelism`, or all when the Job failed or is suspended.
    pub delete: Vec<String>,
    /// Finished pods recorded in `status.uncountedTerminatedPods`: remove their tracking
    /// finalizer *after* the status is written; the next sync counts them.
    pub remove_finalizer: Vec<String>,
    /// The status to write.
    pub status: JobStatus,
    /// The Job finished longer than `ttlSecondsAfterFinished` ago: delete it (background).
    pub delete_job: bool,
    /// Look again after this many seconds (a deadline or a TTL is pending).
    pub requeue_after: Option<i64>,
}

/// Plans one sync of `job` given its pods (those it controls are used) at `now`.
pub fn reconcile(
    job: &Job,
    pods: &[impl std::borrow::Borrow<Pod>],
    now: Timestamp,
) -> Result<JobPlan, Error> {
    let now = now.as_second();
    let uid = uid_of(&job.metadata, "Job")?;
    let spec = job.spec.as_ref().ok_or(Error::MissingField {
        kind: "Job",
        field: "spec",
    })?;
    let owned = controlled_by(pods, uid);
    let mut status = job.status.clone().unwrap_or_default();
    let mut plan = JobPlan {
        remove_finalizer: tracking::track_finished(&owned, &mut status),
        ..JobPlan::default()
    };
    let active: Vec<&Pod> = owned.iter().copied().filter(|p| is_pod_active(p)).collect();
    if let Some(at) = finished(&status) {
        plan_expiry(&mut plan, spec, at, now);
        return Ok(stop_all(plan, status, &active));
    }
    let suspended = spec.suspend.unwrap_or(false);
    let deadline = start_and_deadline(spec, &mut status, suspended, now);
    let counted = !tracking::pending(&status);
    if let Some(why) = failing(spec, &status, deadline, now) {
        mark_failing(&mut status, why, counted, now);
        return Ok(stop_all(plan, status, &active));
    }
    let (succeeded, _) = tracking::totals(&status);
    // A Job being deleted (in the foreground) starts nothing; the collector takes its pods.
    let want = if suspended || is_terminating(&job.metadata) {
        0
    } else {
        want_active(spec.completions, spec.parallelism, succeeded, active.len())
    };
    scale_active(&mut plan, job, uid, (&owned, &active), want, now)?;
    let active_after = active.len() - plan.delete.len() + plan.create.len();
    let complete = spec.completions.map_or(succeeded > 0, |c| succeeded >= c);
    if complete && active_after == 0 && counted {
        set_condition(&mut status, Finish::Complete, now);
        status.completion_time = Some(time_at(now));
    } else if let Some(d) = deadline {
        plan.requeue_after = Some(plan.requeue_after.map_or(d - now, |r| r.min(d - now)));
    }
    status.active = Some(count(active_after));
    status.ready = Some(count(active.iter().filter(|p| is_pod_ready(p)).count()));
    plan.status = status;
    Ok(plan)
}

/// The pods of `pods` whose controller reference names the Job `uid`.
fn controlled_by<'a>(pods: &'a [impl std::borrow::Borrow<Pod>], uid: &str) -> Vec<&'a Pod> {
    pods.iter()
        .map(std::borrow::Borrow::borrow)
        .filter(|p: &&Pod| controller_ref(&p.metadata).is_some_and(|r| r.uid == uid))
        .collect()
}

/// Records whether the Job is suspended, starts its clock when it first runs, and answers
/// its active deadline (none while suspended).
fn start_and_deadline(
    spec: &JobSpec,
    status: &mut JobStatus,
    suspended: bool,
    now: i64,
) -> Option<i64> {
    conditions::suspension(status, suspended, now);
    if !suspended && status.start_time.is_none() {
        status.start_time = Some(time_at(now));
    }
    let start = status.start_time.as_ref().map(secs);
    spec.active_deadline_seconds
        .zip(start)
        .map(|(d, s)| s + d)
        .filter(|_| !suspended)
}

/// Records why the Job fails: the reason is fixed now (FailureTarget); Failed follows once
/// every pod is `counted`, so the pods deleted now cannot turn a deadline into a backoff
/// limit.
fn mark_failing(status: &mut JobStatus, why: Finish, counted: bool, now: i64) {
    conditions::set_failure_target(status, why, now);
    if counted {
        set_condition(status, why, now);
    }
}

/// A Job finished at `at`: delete it once `ttlSecondsAfterFinished` has passed, else look
/// again then.
fn plan_expiry(plan: &mut JobPlan, spec: &JobSpec, at: i64, now: i64) {
    if let Some(ttl) = spec.ttl_seconds_after_finished {
        let due = at + i64::from(ttl);
        plan.delete_job = due <= now;
        plan.requeue_after = (due > now).then_some(due - now);
    }
}

/// Why the Job fails now, if it does: a failure already targeted, the backoff limit, or the
/// active deadline.
fn failing(spec: &JobSpec, status: &JobStatus, deadline: Option<i64>, now: i64) -> Option<Finish> {
    let (_, failed) = tracking::totals(status);
    conditions::failure_target(status)
        .or_else(|| {
            (failed > spec.backoff_limit.unwrap_or(DEFAULT_BACKOFF_LIMIT))
                .then_some(Finish::BackoffLimitExceeded)
        })
        .or_else(|| {
            deadline
                .is_some_and(|d| d <= now)
                .then_some(Finish::DeadlineExceeded)
        })
}

/// Deletes active pods beyond `want`, or creates the missing ones (a burst at most) unless a
/// failed pod's back-off is still running.
fn scale_active(
    plan: &mut JobPlan,
    job: &Job,
    uid: &str,
    (owned, active): (&[&Pod], &[&Pod]),
    want: usize,
    now: i64,
) -> Result<(), Error> {
    if active.len() > want {
        plan.delete = crate::replicaset::deletion_order(active)
            .into_iter()
            .take(active.len() - want)
            .collect();
    } else if active.len() < want {
        match backoff::remaining(owned, now) {
            Some(wait) => plan.requeue_after = Some(wait),
            None => {
                let count = (want - active.len()).min(crate::replicaset::BURST_REPLICAS);
                plan.create = (0..count)
                    .map(|_| job_pod(job, uid))
                    .collect::<Result<_, _>>()?;
            }
        }
    }
    Ok(())
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A finished Job: every active pod goes.
fn stop_all(mut plan: JobPlan, mut status: JobStatus, active: &[&Pod]) -> JobPlan {
    plan.delete = active
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    status.active = Some(0);
    status.ready = Some(0);
    plan.status = status;
    plan
}

/// How many pods should run: `completions - succeeded` capped by `parallelism` (default 1);
/// with no `completions` (a work queue), `parallelism` until one succeeds, then no new ones.
fn want_active(
    completions: Option<i32>,
    parallelism: Option<i32>,
    succeeded: i32,
    active: usize,
) -> usize {
    let parallelism = parallelism.unwrap_or(1).max(0);
    let want = match completions {
        None if succeeded > 0 => return active,
        None => parallelism,
        Some(c) => (c - succeeded).clamp(0, parallelism),
    };
    usize::try_from(want).unwrap_or(0)
}

/// A pod of the Job: the template, the Job's labels (as the API server adds them to the
/// template), the tracking finalizer and the controller reference.
fn job_pod(job: &Job, uid: &str) -> Result<Pod, Error> {
    let name = name_of(&job.metadata, "Job")?;
    let template = job
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let owner = controller_owner("batch/v1", "Job", name, uid);
    let mut pod = pod_from_template(
        &template,
        job.metadata.namespace.as_deref(),
        format!("{name}-"),
        owner,
    );
    let labels = pod.metadata.labels.get_or_insert_with(Default::default);
    for (k, v) in [
        ("batch.kubernetes.io/controller-uid", uid),
        ("batch.kubernetes.io/job-name", name),
        ("controller-uid", uid),
        ("job-name", name),
    ] {
        labels.entry(k.into()).or_insert_with(|| v.into());
    }
    pod.metadata
        .finalizers
        .get_or_insert_with(Vec::new)
        .push(TRACKING_FINALIZER.into());
    Ok(pod)
}
