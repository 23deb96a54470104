//! The Job decision by table, with explicit times: pods to create and delete, counting
//! through the finalizer, backoffLimit, activeDeadlineSeconds, TTL, suspend, idempotence.

mod timing;
mod tracking;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::{JobPlan, TRACKING_FINALIZER, reconcile};
use crate::common::time_at;
use crate::testutil::NO_PODS;
use crate::testutil::{St, T0, at, from, pod, terminating};

pub(super) fn job(spec: Value, status: Value) -> Job {
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
pub(super) fn jp(name: &str, st: St) -> Pod {
    let mut p = pod(name, json!({"job-name": "pi"}), Some("job-uid"), st);
    p.metadata.finalizers = Some(vec![TRACKING_FINALIZER.into()]);
    p
}

pub(super) fn cond(plan: &JobPlan) -> Option<(String, String)> {
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
            // Recorded, not counted yet: Complete waits for the count (`tracking_tests`).
            None,
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
            None,
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
            None,
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
        let (succeeded, failed) = super::tracking::totals(&plan.status);
        assert_eq!(
            (plan.status.active.unwrap_or(0), succeeded, failed),
            counts,
            "case {i}"
        );
        let want = finish.map(|(t, r)| (t.to_string(), r.to_string()));
        assert_eq!(cond(&plan), want, "case {i}");
    }
}

#[test]
fn a_job_being_deleted_starts_nothing() {
    let mut j = job(json!({"completions": 2}), json!({}));
    j.metadata.deletion_timestamp = Some(time_at(T0));
    let plan = reconcile(&j, &[jp("a", St::Succeeded)], at(T0)).expect("plan");
    assert!(plan.create.is_empty());
    assert_eq!(plan.remove_finalizer, vec!["a"]);
}

#[test]
fn created_pods_carry_labels_finalizer_and_owner() {
    let plan = reconcile(&job(json!({}), json!({})), NO_PODS, at(T0)).expect("plan");
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
fn a_job_runs_to_completion_and_replanning_plans_nothing() {
    let mut j = job(json!({"completions": 5, "parallelism": 2}), json!({}));
    let mut pods: Vec<Pod> = vec![];
    let mut now = T0;
    for round in 0..20 {
        let plan = reconcile(&j, &pods, at(now)).expect("plan");
        for (k, mut p) in plan.create.into_iter().enumerate() {
            p.metadata.name = Some(format!("pi-{round}-{k}"));
            p.metadata.uid = Some(format!("uid-{round}-{k}"));
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
        let status = j.status.clone().unwrap_or_default();
        assert_eq!(
            super::tracking::totals(&again.status),
            super::tracking::totals(&status)
        );
        j.status = Some(again.status);
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

/// A failed pod whose container finished at `t`.
fn failed_at(name: &str, t: i64) -> Pod {
    let mut p = jp(name, St::Failed);
    p.status.as_mut().expect("status").container_statuses = Some(vec![from(json!({
        "name": "c", "image": "x.wasm", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"terminated": {"exitCode": 1, "finishedAt": crate::testutil::rfc3339(t)}}}))]);
    p.metadata.finalizers = None;
    p
}

#[test]
fn failed_pods_are_replaced_after_an_exponential_backoff() {
    // (failed pods finished at, now, pods created, requeue after)
    let table: Vec<(Vec<i64>, i64, usize, Option<i64>)> = vec![
        (vec![T0], T0 + 5, 0, Some(5)),
        (vec![T0], T0 + 10, 1, None),
        (vec![T0 - 30, T0], T0 + 15, 0, Some(5)),
        (vec![T0 - 30, T0], T0 + 20, 1, None),
        // Seven failures: 10 s * 2^6 = 640 s, capped at 10 minutes.
        ((0..7).map(|i| T0 - 100 + i).collect(), T0 + 499, 0, Some(7)),
    ];
    for (i, (times, now, create, requeue)) in table.into_iter().enumerate() {
        let pods: Vec<Pod> = times
            .iter()
            .enumerate()
            .map(|(k, t)| failed_at(&format!("f{k}"), *t))
            .collect();
        let status = json!({"failed": times.len()});
        let plan =
            reconcile(&job(json!({"backoffLimit": 10}), status), &pods, at(now)).expect("plan");
        assert_eq!(
            (plan.create.len(), plan.requeue_after),
            (create, requeue),
            "case {i}"
        );
    }
}
