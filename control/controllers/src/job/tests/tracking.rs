//! Counting finished pods exactly once through `uncountedTerminatedPods`: recorded, then
//! the finalizer goes, then counted; repeating any step (a crash, a lagging cache) never
//! counts a pod twice. And a failure's reason is fixed before the pods it deletes count.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::{cond, job, jp};
use crate::job::reconcile;
use crate::testutil::NO_PODS;
use crate::testutil::{St, T0, at, terminating};

fn uncounted(j: &Job) -> (Vec<String>, Vec<String>) {
    let u = j
        .status
        .as_ref()
        .and_then(|s| s.uncounted_terminated_pods.clone())
        .unwrap_or_default();
    (
        u.succeeded.unwrap_or_default(),
        u.failed.unwrap_or_default(),
    )
}

fn counts(j: &Job) -> (Option<i32>, Option<i32>) {
    let s = j.status.clone().unwrap_or_default();
    (s.succeeded, s.failed)
}

#[test]
fn a_finished_pod_is_recorded_then_counted_once() {
    let mut j = job(json!({"completions": 1}), json!({}));
    let mut pods = vec![jp("a", St::Succeeded)];
    // 1: recorded by uid, finalizer to remove, not counted, not complete.
    let plan = reconcile(&j, &pods, at(T0)).expect("plan");
    assert_eq!(plan.remove_finalizer, vec!["a"]);
    j.status = Some(plan.status);
    assert_eq!(uncounted(&j), (vec!["uid-a".to_string()], vec![]));
    assert_eq!((counts(&j).0, cond_of(&j)), (None, None));
    // 1 again (the finalizer removal failed, or the pod cache lags): the same, no count.
    let again = reconcile(&j, &pods, at(T0)).expect("plan");
    assert_eq!(again.remove_finalizer, vec!["a"]);
    assert_eq!(again.status, j.status.clone().expect("status"));
    // 2: the finalizer is gone: counted, and the Job completes.
    pods[0].metadata.finalizers = None;
    let plan = reconcile(&j, &pods, at(T0 + 1)).expect("plan");
    assert!(plan.remove_finalizer.is_empty());
    let done_status = plan.status.clone();
    j.status = Some(plan.status);
    assert_eq!(uncounted(&j), (vec![], vec![]));
    assert_eq!(counts(&j).0, Some(1));
    assert_eq!(
        cond(&reconcile(&j, &pods, at(T0 + 2)).expect("plan")),
        Some(("Complete".into(), "CompletionsReached".into()))
    );
    // 3: deciding again changes nothing (no second count).
    let plan = reconcile(&j, &pods, at(T0 + 2)).expect("plan");
    assert_eq!(plan.status, done_status);
}

fn cond_of(j: &Job) -> Option<String> {
    j.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Complete" || c.type_ == "Failed")
        .map(|c| c.type_.clone())
}

#[test]
fn a_recorded_pod_that_vanished_is_counted() {
    let j = job(
        json!({"completions": 3}),
        json!({"succeeded": 1, "uncountedTerminatedPods": {"succeeded": ["uid-gone"], "failed": ["uid-x"]}}),
    );
    let plan = reconcile(&j, NO_PODS, at(T0)).expect("plan");
    assert_eq!(
        (plan.status.succeeded, plan.status.failed),
        (Some(2), Some(1))
    );
    assert!(plan.status.uncounted_terminated_pods.is_none());
    assert_eq!(plan.create.len(), 1);
}

#[test]
fn a_deadline_stays_the_reason_when_its_deleted_pods_count_as_failed() {
    let started = json!({"startTime": crate::testutil::rfc3339(T0), "active": 1});
    let mut j = job(
        json!({"activeDeadlineSeconds": 5, "backoffLimit": 0}),
        started,
    );
    let mut pods: Vec<Pod> = vec![jp("a", St::Ready(T0))];
    let plan = reconcile(&j, &pods, at(T0 + 5)).expect("plan");
    assert_eq!(plan.delete, vec!["a"]);
    assert_eq!(
        cond(&plan),
        Some(("Failed".into(), "DeadlineExceeded".into()))
    );
    // Had Failed not been settled yet, the FailureTarget keeps the reason: replay with the
    // deleted pod recorded as failed (over the backoff limit of 0).
    let mut status = plan.status;
    status.conditions = status.conditions.map(|cs| {
        cs.into_iter()
            .filter(|c| c.type_ != "Failed")
            .collect::<Vec<_>>()
    });
    j.status = Some(status);
    pods[0] = terminating(jp("a", St::Ready(T0)));
    let plan = reconcile(&j, &pods, at(T0 + 6)).expect("plan");
    assert_eq!(plan.remove_finalizer, vec!["a"]);
    assert_eq!(cond(&plan), None);
    j.status = Some(plan.status);
    pods[0].metadata.finalizers = None;
    let plan = reconcile(&j, &pods, at(T0 + 7)).expect("plan");
    assert_eq!(plan.status.failed, Some(1));
    assert_eq!(
        cond(&plan),
        Some(("Failed".into(), "DeadlineExceeded".into()))
    );
}
