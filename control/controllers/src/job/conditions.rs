//! The Job's conditions in kube-controller-manager's words: Complete, Failed
//! (BackoffLimitExceeded, DeadlineExceeded), FailureTarget (the failure decided while
//! finished pods are still being counted) and Suspended.

use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};

use crate::common::{secs, time_at};

/// How a Job ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Finish {
    Complete,
    BackoffLimitExceeded,
    DeadlineExceeded,
}

fn condition(type_: &str, status: &str, reason: &str, message: &str, now: i64) -> JobCondition {
    JobCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_probe_time: Some(time_at(now)),
        last_transition_time: Some(time_at(now)),
    }
}

fn finish_condition(f: Finish, now: i64) -> JobCondition {
    match f {
        Finish::Complete => condition(
            "Complete",
            "True",
            "CompletionsReached",
            "Reached expected number of succeeded pods",
            now,
        ),
        Finish::BackoffLimitExceeded => condition(
            "Failed",
            "True",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
            now,
        ),
        Finish::DeadlineExceeded => condition(
            "Failed",
            "True",
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
            now,
        ),
    }
}

/// Adds the finishing condition.
pub(super) fn set_condition(status: &mut JobStatus, f: Finish, now: i64) {
    let c = finish_condition(f, now);
    let conds = status.conditions.get_or_insert_with(Vec::new);
    conds.retain(|o| o.type_ != c.type_);
    conds.push(c);
}

/// Records the failure decided at `now` as a FailureTarget condition, unless one is there.
pub(super) fn set_failure_target(status: &mut JobStatus, f: Finish, now: i64) {
    if failure_target(status).is_some() {
        return;
    }
    let mut c = finish_condition(f, now);
    c.type_ = "FailureTarget".into();
    status.conditions.get_or_insert_with(Vec::new).push(c);
}

/// The failure already decided (a FailureTarget condition), if any.
pub(super) fn failure_target(status: &JobStatus) -> Option<Finish> {
    let c = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "FailureTarget" && c.status == "True")?;
    match c.reason.as_deref() {
        Some("DeadlineExceeded") => Some(Finish::DeadlineExceeded),
        _ => Some(Finish::BackoffLimitExceeded),
    }
}

/// When the Job finished (its Complete or Failed condition turned True), if it did.
pub(super) fn finished(status: &JobStatus) -> Option<i64> {
    let c = status
        .conditions
        .iter()
        .flatten()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")?;
    let at = status
        .completion_time
        .as_ref()
        .or(c.last_transition_time.as_ref());
    Some(at.map_or(i64::MIN / 2, secs))
}

/// The Suspended condition: True (JobSuspended) while suspended; False (JobResumed) when
/// resumed, which also restarts the clock of `activeDeadlineSeconds`.
pub(super) fn suspension(status: &mut JobStatus, suspended: bool, now: i64) {
    let conds = status.conditions.get_or_insert_with(Vec::new);
    let current = conds
        .iter()
        .find(|c| c.type_ == "Suspended")
        .map(|c| c.status == "True");
    let c = match (suspended, current) {
        (true, Some(true)) | (false, None | Some(false)) => return,
        (true, _) => condition("Suspended", "True", "JobSuspended", "Job suspended", now),
        (false, Some(true)) => {
            status.start_time = None;
            condition("Suspended", "False", "JobResumed", "Job resumed", now)
        }
    };
    conds.retain(|o| o.type_ != "Suspended");
    conds.push(c);
}
