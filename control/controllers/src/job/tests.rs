//! The Job decision by table, with explicit times: pods to create and delete, counting
//! through the finalizer, backoffLimit, activeDeadlineSeconds, TTL, suspend, idempotence.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::{JobPlan, TRACKING_FINALIZER, reconcile};
use crate::common::time_at;
use crate::testutil::{St, T0, at, from, pod, terminating};

fn job(spec: Value, status: Value) -> Job {
    let mut s = json!({"template": {"spec": {"containers": [{"name": "c", "image": "x.wasm"}], "restartPolicy": "Never"}}});
    if let Value::Object(m) = spec {
        for (k, v) in m {
            s[k] = v;
        }
    }
    from(
        json!({"metadata": {"name": "pi", "namespace": "default", "uid": "job-uid"}, "spec": s, "status": status}),
    )
}

/// A pod of the Job, with the tracking finalizer.
fn jp(name: &str, st: St) -> Pod {
    let mut p = pod(name, json!({"job-name": "pi"}), Some("job-uid"), st);
    p.metadata.finalizers = Some(vec![TRACKING_FINALIZER.into()]);
    p
}

fn cond(plan: &JobPlan) -> Option<(String, String)> {
    let c = plan
        .status
        .conditions
        .iter()
        .flatten()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")?;
    Some((c.type_.clone(), c.reason.clone().unwrap_or_default()))
}

#[test]
fn pods_to_create_and_delete_and_counts() {
    // (spec, status, pods, create, delete, remove finalizer, (active, succeeded, failed), finish)
    type Case = (
        Value,
        Value,
        Vec<Pod>,
        usize,
        usize,
        usize,
        (i32, i32, i32),
        Option<(&'static str, &'static str)>,
    );
    let table: Vec<Case> = vec![
        (json!({}), json!({}), vec![], 1, 0, 0, (1, 0, 0), None),
        (
            json!({"completions": 5, "parallelism": 2}),
            json!({}),
            vec![],
            2,
            0,
            0,
            (2, 0, 0),
            None,
        ),
        // 4 of 5 done: only one more runs, even with parallelism 2.
        (
            json!({"completions": 5, "parallelism": 2}),
            json!({"succeeded": 4}),
            vec![],
            1,
            0,
            0,
            (1, 4, 0),
            None,
        ),
        // Two just succeeded (finalizer still on): counted now; the running one is the fifth.
        (
            json!({"completions": 5, "parallelism": 3}),
            json!({"succeeded": 2}),
            vec![
                jp("a", St::Succeeded),
                jp("b", St::Succeeded),
                jp("c", St::Ready(T0)),
            ],
            0,
            0,
            2,
            (1, 4, 0),
            None,
        ),
        // Already counted (no finalizer): not counted again.
        (
            json!({"completions": 2}),
            json!({"succeeded": 1}),
            vec![pod("a", json!({}), Some("job-uid"), St::Succeeded)],
            1,
            0,
            0,
            (1, 1, 0),
            None,
        ),
        (
            json!({"completions": 1}),
            json!({}),
            vec![jp("a", St::Succeeded)],
            0,
            0,
            1,
            (0, 1, 0),
            Some(("Complete", "CompletionsReached")),
        ),
        // A failed pod is replaced; a pod deleted while running counts as failed.
        (
            json!({}),
            json!({}),
            vec![jp("a", St::Failed), terminating(jp("b", St::Ready(T0)))],
            1,
            0,
            2,
            (1, 0, 2),
            None,
        ),
        // Parallelism lowered: the excess (unready first) goes.
        (
            json!({"completions": 9, "parallelism": 1}),
            json!({}),
            vec![jp("a", St::Ready(T0)), jp("b", St::Unready)],
            0,
            1,
            0,
            (1, 0, 0),
            None,
        ),
        // Work queue (no completions): once one succeeded, no new pods; complete when none run.
        (
            json!({"parallelism": 3}),
            json!({}),
            vec![jp("a", St::Succeeded), jp("b", St::Ready(T0))],
            0,
            0,
            1,
            (1, 1, 0),
            None,
        ),
        (
            json!({"parallelism": 3}),
            json!({"succeeded": 1}),
            vec![jp("b", St::Succeeded)],
            0,
            0,
            1,
            (0, 2, 0),
            Some(("Complete", "CompletionsReached")),
        ),
        // backoffLimit 1: the second failure fails the Job and its running pods go.
        (
            json!({"backoffLimit": 1}),
            json!({"failed": 1}),
            vec![jp("a", St::Failed), jp("b", St::Ready(T0))],
            0,
            1,
            1,
            (0, 0, 2),
            Some(("Failed", "BackoffLimitExceeded")),
        ),
    ];
    for (i, (spec, status, pods, create, delete, fin, counts, finish)) in
        table.into_iter().enumerate()
    {
        let plan = reconcile(&job(spec, status), &pods, at(T0)).expect("plan");
        assert_eq!(
            (
                plan.create.len(),
                plan.delete.len(),
                plan.remove_finalizer.len()
            ),
            (create, delete, fin),
            "case {i}"
        );
        let s = &plan.status;
        assert_eq!(
            (
                s.active.unwrap_or(0),
                s.succeeded.unwrap_or(0),
                s.failed.unwrap_or(0)
            ),
            counts,
            "case {i}"
        );
        let want = finish.map(|(t, r)| (t.to_string(), r.to_string()));
        assert_eq!(cond(&plan), want, "case {i}");
    }
}

#[test]
fn created_pods_carry_labels_finalizer_and_owner() {
    let plan = reconcile(&job(json!({}), json!({})), &[], at(T0)).expect("plan");
    let p = &plan.create[0];
    assert_eq!(p.metadata.generate_name.as_deref(), Some("pi-"));
    assert_eq!(
        p.metadata.finalizers,
        Some(vec![TRACKING_FINALIZER.to_string()])
    );
    let l = p.metadata.labels.clone().expect("labels");
    assert_eq!(
        l.get("batch.kubernetes.io/job-name").map(String::as_str),
        Some("pi")
    );
    assert_eq!(l.get("controller-uid").map(String::as_str), Some("job-uid"));
    assert_eq!(plan.status.start_time, Some(time_at(T0)));
}

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
        let plan = reconcile(&job(spec.clone(), done.clone()), &[], at(now)).expect("plan");
        assert_eq!(
            (plan.delete_job, plan.requeue_after),
            (delete, requeue),
            "at +{}",
            now - T0
        );
        assert!(plan.create.is_empty());
    }
    let no_ttl = reconcile(&job(json!({}), done), &[], at(T0 + 10_000)).expect("plan");
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
    let resumed = reconcile(&j, &[], at(T0 + 100)).expect("plan");
    assert_eq!(resumed.create.len(), 1);
    assert_eq!(resumed.status.start_time, Some(time_at(T0 + 100)));
}

#[test]
fn a_job_runs_to_completion_and_replanning_plans_nothing() {
    let mut j = job(json!({"completions": 5, "parallelism": 2}), json!({}));
    let mut pods: Vec<Pod> = vec![];
    let mut now = T0;
    for round in 0..20 {
        let plan = reconcile(&j, &pods, at(now)).expect("plan");
        for (k, mut p) in plan.create.into_iter().enumerate() {
            p.metadata.name = Some(format!("pi-{round}-{k}"));
            p.status = Some(from(json!({"phase": "Running"})));
            pods.push(p);
        }
        for p in &mut pods {
            if plan
                .remove_finalizer
                .contains(p.metadata.name.as_ref().expect("name"))
            {
                p.metadata.finalizers = None;
            }
        }
        j.status = Some(plan.status);
        let again = reconcile(&j, &pods, at(now)).expect("plan");
        assert!(
            again.create.is_empty() && again.delete.is_empty() && again.remove_finalizer.is_empty(),
            "round {round}"
        );
        assert_eq!(
            again.status.succeeded,
            j.status.as_ref().and_then(|s| s.succeeded)
        );
        if j.status
            .as_ref()
            .and_then(|s| s.completion_time.as_ref())
            .is_some()
        {
            assert_eq!(j.status.as_ref().and_then(|s| s.succeeded), Some(5));
            assert!(pods.iter().all(|p| p.metadata.finalizers.is_none()));
            return;
        }
        // Every running pod succeeds.
        for p in &mut pods {
            p.status = Some(from(json!({"phase": "Succeeded"})));
        }
        now += 10;
    }
    panic!("the Job never completed");
}
