//! The CronJob's Jobs: the active list kept in step with the Jobs that exist and run,
//! `lastSuccessfulTime`, and the finished Jobs beyond the history limits.

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, CronJobStatus, Job};
use k8s_openapi::api::core::v1::ObjectReference;

use crate::common::secs;

fn finished(j: &Job, type_: &str) -> bool {
    j.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == type_ && c.status == "True"))
}

fn is_finished(j: &Job) -> bool {
    finished(j, "Complete") || finished(j, "Failed")
}

fn job_ref(j: &Job) -> ObjectReference {
    ObjectReference {
        api_version: Some("batch/v1".into()),
        kind: Some("Job".into()),
        name: j.metadata.name.clone(),
        namespace: j.metadata.namespace.clone(),
        uid: j.metadata.uid.clone(),
        ..ObjectReference::default()
    }
}

/// The status with the active list pruned of Jobs that are gone or finished, running Jobs
/// of ours added back (a crash between creating a Job and writing the status), and the
/// latest completion as `lastSuccessfulTime`.
pub(super) fn sync_active(cj: &CronJob, owned: &[&Job]) -> CronJobStatus {
    let mut status = cj.status.clone().unwrap_or_default();
    let running: Vec<&&Job> = owned.iter().filter(|j| !is_finished(j)).collect();
    let mut active: Vec<ObjectReference> = running.iter().map(|j| job_ref(j)).collect();
    active.sort_by(|a, b| a.name.cmp(&b.name));
    status.active = (!active.is_empty()).then_some(active);
    for j in owned.iter().filter(|j| finished(j, "Complete")) {
        let done = j.status.as_ref().and_then(|s| s.completion_time.clone());
        if done.as_ref().map(secs) > status.last_successful_time.as_ref().map(secs) {
            status.last_successful_time = done;
        }
    }
    status
}

/// Finished Jobs beyond `successfulJobsHistoryLimit` (3) and `failedJobsHistoryLimit` (1),
/// oldest start first.
pub(super) fn cleanup(spec: &CronJobSpec, owned: &[&Job]) -> Vec<String> {
    let mut out = Vec::new();
    for (type_, limit) in [
        ("Complete", spec.successful_jobs_history_limit.unwrap_or(3)),
        ("Failed", spec.failed_jobs_history_limit.unwrap_or(1)),
    ] {
        let mut done: Vec<&&Job> = owned.iter().filter(|j| finished(j, type_)).collect();
        done.sort_by_key(|j| {
            let start = j
                .status
                .as_ref()
                .and_then(|s| s.start_time.as_ref())
                .map(secs);
            (start.is_none(), start, j.metadata.name.clone())
        });
        let excess = done
            .len()
            .saturating_sub(usize::try_from(limit).unwrap_or(0));
        out.extend(
            done.iter()
                .take(excess)
                .filter_map(|j| j.metadata.name.clone()),
        );
    }
    out
}
