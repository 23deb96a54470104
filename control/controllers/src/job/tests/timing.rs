//! Job timing with explicit times: activeDeadlineSeconds, ttlSecondsAfterFinished,
//! suspend and resume.

use serde_json::json;

use super::{cond, job, jp};
use crate::common::time_at;
use crate::job::reconcile;
use crate::testutil::{NO_PODS, St, T0, at};

#[test]
fn active_deadline_with_explicit_times() {
    let started = json!({"startTime": crate::testutil::rfc3339(T0), "active": 1});
    let spec = json!({"activeDeadlineSeconds": 60});
    let pods = vec![jp("a", St::Ready(T0))];
    // (now, requeue after, finish)
    let table = [
        (T0 + 10, Some(50), None),
        (T0 + 59, Some(1), None),
        (T0 + 60, None, Some(("Failed", "DeadlineExceeded"))),
    ];
    for (now, requeue, finish) in table {
        let plan = reconcile(&job(spec.clone(), started.clone()), &pods, at(now)).expect("plan");
        assert_eq!(plan.requeue_after, requeue, "at +{}", now - T0);
        assert_eq!(
            cond(&plan),
            finish.map(|(t, r)| (t.to_string(), r.to_string())),
            "at +{}",
            now - T0
        );
        assert_eq!(plan.delete.len(), usize::from(finish.is_some()));
    }
}

#[test]
fn ttl_after_finished_deletes_the_job() {
    let done = json!({"succeeded": 1, "completionTime": crate::testutil::rfc3339(T0 + 10),
        "conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": crate::testutil::rfc3339(T0 + 10)}]});
    let spec = json!({"ttlSecondsAfterFinished": 100});
    // (now, delete the Job, requeue after)
    for (now, delete, requeue) in [
        (T0 + 50, false, Some(60)),
        (T0 + 110, true, None),
        (T0 + 500, true, None),
    ] {
        let plan = reconcile(&job(spec.clone(), done.clone()), NO_PODS, at(now)).expect("plan");
        assert_eq!(
            (plan.delete_job, plan.requeue_after),
            (delete, requeue),
            "at +{}",
            now - T0
        );
        assert!(plan.create.is_empty());
    }
    let no_ttl = reconcile(&job(json!({}), done), NO_PODS, at(T0 + 10_000)).expect("plan");
    assert!(!no_ttl.delete_job);
}

#[test]
fn suspend_deletes_pods_and_resume_restarts_the_clock() {
    let pods = vec![jp("a", St::Ready(T0))];
    let plan = reconcile(
        &job(
            json!({"suspend": true}),
            json!({"startTime": crate::testutil::rfc3339(T0)}),
        ),
        &pods,
        at(T0 + 5),
    )
    .expect("plan");
    assert_eq!(plan.delete, vec!["a"]);
    let c = plan
        .status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Suspended")
        .expect("suspended");
    assert_eq!(
        (c.status.as_str(), c.reason.as_deref()),
        ("True", Some("JobSuspended"))
    );
    let mut j = job(json!({}), json!({}));
    j.status = Some(plan.status);
    let resumed = reconcile(&j, NO_PODS, at(T0 + 100)).expect("plan");
    assert_eq!(resumed.create.len(), 1);
    assert_eq!(resumed.status.start_time, Some(time_at(T0 + 100)));
}
