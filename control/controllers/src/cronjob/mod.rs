//! The CronJob decision (kube-controller-manager's `cronjob` controller v2): the most recent
//! missed schedule (in `timeZone`), `startingDeadlineSeconds`, `concurrencyPolicy`,
//! `suspend`, the Job named `<cronjob>-<minutes since epoch>`, the active list, and the
//! successful/failed history limits.

mod history;
pub mod schedule;

#[cfg(test)]
mod tests;

use chrono_tz::Tz;
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, CronJobStatus, Job};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;

use crate::common::{
    controller_owner, controller_ref, is_terminating, name_of, secs, time_at, uid_of,
};
use crate::{Error, ScheduleProblem};

/// The annotation on a Job with the time it was scheduled for (RFC 3339, in the zone).
pub const SCHEDULED_TIMESTAMP: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";
/// More missed runs than this and kube warns (TooManyMissedTimes).
pub const MAX_MISSED_WARNING: u64 = 100;

/// A warning event the I/O layer records on the CronJob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CronJobWarning {
    /// More than 100 runs were missed; only the latest is started.
    TooManyMissedTimes { missed: u64 },
    /// The latest run is older than `startingDeadlineSeconds`: it is skipped.
    MissSchedule { scheduled: i64 },
    /// A grandfathered `TZ=`/`CRON_TZ=` schedule (the API server refuses new ones).
    UnsupportedSchedule,
}

/// What to do for one CronJob.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CronJobPlan {
    /// The Job to create. Its reference is already in `status.active` without a uid: the
    /// I/O layer fills the uid from the created Job before writing the status.
    pub create: Option<Job>,
    /// Jobs to delete (background): active ones under Replace, and history beyond limits.
    pub delete_jobs: Vec<String>,
    pub status: CronJobStatus,
    pub warnings: Vec<CronJobWarning>,
    /// Seconds until the next scheduled run.
    pub requeue_after: Option<i64>,
}

/// Plans one sync of `cj` given the Jobs of its namespace (those it controls are used).
pub fn reconcile(cj: &CronJob, jobs: &[Job], now: Timestamp) -> Result<CronJobPlan, Error> {
    let now = now.as_second();
    let uid = uid_of(&cj.metadata, "CronJob")?;
    let spec = cj.spec.as_ref().ok_or(Error::MissingField {
        kind: "CronJob",
        field: "spec",
    })?;
    let owned: Vec<&Job> = jobs
        .iter()
        .filter(|j| controller_ref(&j.metadata).is_some_and(|r| r.uid == uid))
        .collect();
    let mut plan = CronJobPlan {
        status: history::sync_active(cj, &owned),
        ..CronJobPlan::default()
    };
    plan.delete_jobs = history::cleanup(spec, &owned);
    if is_terminating(&cj.metadata) {
        return Ok(plan);
    }
    let sched = schedule::parse(&spec.schedule)?;
    let tz = zone_of(spec, &sched, &mut plan.warnings)?;
    if spec.suspend.unwrap_or(false) {
        return Ok(plan);
    }
    plan.requeue_after = sched.next_after(now, tz).map(|t| t - now);
    let last = plan
        .status
        .last_schedule_time
        .as_ref()
        .or(cj.metadata.creation_timestamp.as_ref());
    let mut earliest = last.map_or(now, secs);
    if let Some(sds) = spec.starting_deadline_seconds {
        earliest = earliest.max(now - sds);
    }
    let (missed, latest) = missed_runs(&sched, tz, earliest, now);
    let Some(scheduled) = latest else {
        return Ok(plan);
    };
    if missed > MAX_MISSED_WARNING {
        plan.warnings
            .push(CronJobWarning::TooManyMissedTimes { missed });
    }
    if spec
        .starting_deadline_seconds
        .is_some_and(|sds| scheduled + sds < now)
    {
        plan.warnings
            .push(CronJobWarning::MissSchedule { scheduled });
        return Ok(plan);
    }
    start_run(cj, uid, &owned, scheduled, tz, plan)
}

/// The zone the schedule is read in: `timeZone`, or a grandfathered `TZ=` prefix (with a
/// warning), never both; UTC otherwise (kube uses kube-controller-manager's local zone).
fn zone_of(
    spec: &CronJobSpec,
    sched: &schedule::Schedule,
    warnings: &mut Vec<CronJobWarning>,
) -> Result<Tz, Error> {
    match (&spec.time_zone, sched.prefix_zone) {
        (Some(_), Some(_)) => Err(Error::Schedule {
            schedule: spec.schedule.clone(),
            reason: ScheduleProblem::TzInScheduleAndTimeZone,
        }),
        (Some(z), None) => schedule::zone(z),
        (None, Some(z)) => {
            warnings.push(CronJobWarning::UnsupportedSchedule);
            Ok(z)
        }
        (None, None) => Ok(chrono_tz::UTC),
    }
}

/// Starts the run at `scheduled` unless it already ran or the concurrency policy forbids.
fn start_run(
    cj: &CronJob,
    uid: &str,
    owned: &[&Job],
    scheduled: i64,
    tz: Tz,
    mut plan: CronJobPlan,
) -> Result<CronJobPlan, Error> {
    let name = name_of(&cj.metadata, "CronJob")?;
    let job_name = format!("{name}-{}", scheduled.div_euclid(60));
    let active = plan.status.active.get_or_insert_with(Vec::new);
    let already = active
        .iter()
        .any(|r| r.name.as_deref() == Some(job_name.as_str()))
        || owned
            .iter()
            .any(|j| j.metadata.name.as_deref() == Some(job_name.as_str()));
    if already {
        return Ok(plan);
    }
    let policy = cj
        .spec
        .as_ref()
        .and_then(|s| s.concurrency_policy.as_deref())
        .unwrap_or("Allow");
    match policy {
        "Forbid" if !active.is_empty() => return Ok(plan),
        "Replace" => plan
            .delete_jobs
            .extend(active.drain(..).filter_map(|r| r.name)),
        _ => {}
    }
    active.push(ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: Some(job_name.clone()),
        namespace: cj.metadata.namespace.clone(),
        ..ObjectReference::default()
    });
    plan.status.last_schedule_time = Some(time_at(scheduled));
    plan.create = Some(new_job(cj, name, uid, &job_name, scheduled, tz));
    Ok(plan)
}

/// The runs in `(earliest, now]`: how many, and the latest.
fn missed_runs(s: &schedule::Schedule, tz: Tz, earliest: i64, now: i64) -> (u64, Option<i64>) {
    let (mut count, mut latest, mut t) = (0u64, None, earliest);
    while let Some(next) = s.next_after(t, tz).filter(|n| *n <= now) {
        count += 1;
        latest = Some(next);
        t = next;
    }
    (count, latest)
}

/// The Job for one run (`getJobFromTemplate2`): the template's labels, annotations and
/// spec, the scheduled-time annotation, the controller reference.
fn new_job(cj: &CronJob, name: &str, uid: &str, job_name: &str, scheduled: i64, tz: Tz) -> Job {
    let template = cj
        .spec
        .as_ref()
        .map(|s| s.job_template.clone())
        .unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    let mut annotations = tmeta.annotations.unwrap_or_default();
    if let Some(t) = chrono::TimeZone::timestamp_opt(&tz, scheduled, 0).single() {
        annotations.insert(SCHEDULED_TIMESTAMP.into(), t.to_rfc3339());
    }
    Job {
        metadata: ObjectMeta {
            name: Some(job_name.to_string()),
            namespace: cj.metadata.namespace.clone(),
            labels: tmeta.labels,
            annotations: Some(annotations),
            owner_references: Some(vec![controller_owner("batch/v1", "CronJob", name, uid)]),
            ..ObjectMeta::default()
        },
        spec: Some(template.spec.unwrap_or_default()),
        status: None,
    }
}
