//! The CronJob decision by table with explicit times: missed runs, startingDeadlineSeconds,
//! concurrency policies, suspend, time zones, history, idempotence.

use k8s_openapi::api::batch::v1::{CronJob, Job};
use serde_json::{Value, json};

use super::{CronJobPlan, CronJobWarning, SCHEDULED_TIMESTAMP, reconcile};
use crate::testutil::{T0, at, from, rfc3339};
use crate::{Error, ScheduleProblem};

fn cj(spec: Value, status: Value) -> CronJob {
    let mut s = json!({"schedule": "*/5 * * * *", "jobTemplate": {"metadata": {"labels": {"app": "report"}},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x.wasm"}]}}}}});
    if let Value::Object(m) = spec {
        for (k, v) in m {
            s[k] = v;
        }
    }
    from(
        json!({"metadata": {"name": "report", "namespace": "default", "uid": "cj-uid", "creationTimestamp": rfc3339(T0)},
        "spec": s, "status": status}),
    )
}

/// A Job of the CronJob; `done` is None (running), Some(true) complete, Some(false) failed.
fn job(name: &str, started: i64, done: Option<bool>) -> Job {
    let mut status = json!({"startTime": rfc3339(started)});
    if let Some(ok) = done {
        let t = if ok { "Complete" } else { "Failed" };
        status["conditions"] = json!([{"type": t, "status": "True"}]);
        if ok {
            status["completionTime"] = json!(rfc3339(started + 30));
        }
    }
    from(
        json!({"metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"),
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "report", "uid": "cj-uid", "controller": true}]},
        "status": status}),
    )
}

fn created(plan: &CronJobPlan) -> Option<String> {
    plan.create.as_ref().and_then(|j| j.metadata.name.clone())
}

/// The Job name for a run at `t`.
fn name_at(t: i64) -> String {
    format!("report-{}", t / 60)
}

#[test]
fn runs_missed_runs_and_deadlines() {
    // (spec, status, now, job created, warnings)
    type Case = (Value, Value, i64, Option<String>, Vec<CronJobWarning>);
    let table: Vec<Case> = vec![
        (json!({}), json!({}), T0 + 299, None, vec![]),
        (
            json!({}),
            json!({}),
            T0 + 300,
            Some(name_at(T0 + 300)),
            vec![],
        ),
        // Three missed runs: only the latest starts.
        (
            json!({}),
            json!({}),
            T0 + 930,
            Some(name_at(T0 + 900)),
            vec![],
        ),
        // 150 missed runs: the latest starts, with kube's warning.
        (
            json!({}),
            json!({}),
            T0 + 150 * 300 + 10,
            Some(name_at(T0 + 150 * 300)),
            vec![CronJobWarning::TooManyMissedTimes { missed: 150 }],
        ),
        // ... which startingDeadlineSeconds bounds: only runs within the deadline count.
        (
            json!({"startingDeadlineSeconds": 600}),
            json!({}),
            T0 + 150 * 300 + 10,
            Some(name_at(T0 + 150 * 300)),
            vec![],
        ),
        // The latest run (+300) is older than the deadline: skipped. (Kubernetes looks for
        // runs only within the deadline, so its MissSchedule check rarely fires.)
        (
            json!({"startingDeadlineSeconds": 60}),
            json!({}),
            T0 + 390,
            None,
            vec![],
        ),
        // Within the deadline: it starts late.
        (
            json!({"startingDeadlineSeconds": 60}),
            json!({"lastScheduleTime": rfc3339(T0)}),
            T0 + 330,
            Some(name_at(T0 + 300)),
            vec![],
        ),
        (json!({"suspend": true}), json!({}), T0 + 300, None, vec![]),
        // Already ran at the latest time.
        (
            json!({}),
            json!({"lastScheduleTime": rfc3339(T0 + 300)}),
            T0 + 400,
            None,
            vec![],
        ),
    ];
    for (i, (spec, status, now, want, warnings)) in table.into_iter().enumerate() {
        let plan = reconcile(&cj(spec, status), &[], at(now)).expect("plan");
        assert_eq!(
            (created(&plan), plan.warnings),
            (want, warnings),
            "case {i}"
        );
    }
}

#[test]
fn the_created_job_and_status() {
    let plan = reconcile(
        &cj(json!({"timeZone": "Europe/Paris"}), json!({})),
        &[],
        at(T0 + 300),
    )
    .expect("plan");
    let j = plan.create.clone().expect("job");
    assert_eq!(j.metadata.name, Some(name_at(T0 + 300)));
    let ann = j.metadata.annotations.expect("annotations");
    assert_eq!(
        ann.get(SCHEDULED_TIMESTAMP).map(String::as_str),
        Some("2026-01-01T01:05:00+01:00")
    );
    assert_eq!(
        j.metadata
            .labels
            .and_then(|l| l.get("app").cloned())
            .as_deref(),
        Some("report")
    );
    let owner = &j.metadata.owner_references.expect("owner")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("CronJob", Some(true))
    );
    assert_eq!(
        plan.status.last_schedule_time,
        Some(crate::common::time_at(T0 + 300))
    );
    assert_eq!(plan.status.active.as_ref().map(Vec::len), Some(1));
    assert_eq!(plan.requeue_after, Some(300));
}

#[test]
fn concurrency_policies() {
    let running = vec![job("report-old", T0, None)];
    // (policy, job created, jobs deleted)
    let table = [
        ("Allow", true, vec![]),
        ("Forbid", false, vec![]),
        ("Replace", true, vec!["report-old"]),
    ];
    for (policy, create, delete) in table {
        let plan = reconcile(
            &cj(json!({"concurrencyPolicy": policy}), json!({})),
            &running,
            at(T0 + 300),
        )
        .expect("plan");
        assert_eq!(
            (plan.create.is_some(), plan.delete_jobs),
            (
                create,
                delete.iter().map(|s| s.to_string()).collect::<Vec<_>>()
            ),
            "{policy}"
        );
    }
}

#[test]
fn history_limits_and_last_successful_time() {
    let jobs: Vec<Job> = (0..5)
        .map(|i| job(&format!("ok-{i}"), T0 + i * 10, Some(true)))
        .chain((0..3).map(|i| job(&format!("bad-{i}"), T0 + i * 10, Some(false))))
        .collect();
    let plan = reconcile(&cj(json!({}), json!({})), &jobs, at(T0 + 100)).expect("plan");
    assert_eq!(plan.delete_jobs, vec!["ok-0", "ok-1", "bad-0", "bad-1"]);
    assert_eq!(
        plan.status.last_successful_time,
        Some(crate::common::time_at(T0 + 40 + 30))
    );
    assert_eq!(plan.status.active, None);
}

#[test]
fn tz_prefixes_are_honoured_but_not_with_time_zone() {
    let plan = reconcile(
        &cj(
            json!({"schedule": "CRON_TZ=Asia/Tokyo 0 9 * * *"}),
            json!({}),
        ),
        &[],
        at(T0 + 3600),
    )
    .expect("plan");
    assert_eq!(plan.warnings, vec![CronJobWarning::UnsupportedSchedule]);
    // 9:00 in Tokyo is 00:00 UTC: the next is the following day.
    assert_eq!(plan.requeue_after, Some(86_400 - 3600));
    let both = cj(
        json!({"schedule": "TZ=UTC 0 * * * *", "timeZone": "UTC"}),
        json!({}),
    );
    assert!(matches!(
        reconcile(&both, &[], at(T0)),
        Err(Error::Schedule {
            reason: ScheduleProblem::TzInScheduleAndTimeZone,
            ..
        })
    ));
    let unknown = cj(json!({"timeZone": "Europe/Pariss"}), json!({}));
    assert_eq!(
        reconcile(&unknown, &[], at(T0)),
        Err(Error::TimeZone("Europe/Pariss".into()))
    );
}

#[test]
fn applying_the_plan_then_replanning_plans_nothing() {
    let mut c = cj(json!({"concurrencyPolicy": "Forbid"}), json!({}));
    let mut jobs: Vec<Job> = vec![];
    let mut created_count = 0;
    for now in (T0..T0 + 1800).step_by(100) {
        let plan = reconcile(&c, &jobs, at(now)).expect("plan");
        if let Some(mut j) = plan.create.clone() {
            created_count += 1;
            j.metadata.uid = Some(format!("uid-{created_count}"));
            jobs.push(j);
        }
        jobs.retain(|j| {
            !plan
                .delete_jobs
                .contains(j.metadata.name.as_ref().expect("name"))
        });
        c.status = Some(plan.status);
        let again = reconcile(&c, &jobs, at(now)).expect("plan");
        assert!(
            again.create.is_none() && again.delete_jobs.is_empty(),
            "at +{}",
            now - T0
        );
        // Every Job finishes within 200 s of its start.
        for j in &mut jobs {
            let start = crate::testutil::T0.max(now - 200);
            if j.status.is_none() {
                *j = job(j.metadata.name.as_deref().expect("name"), start, Some(true));
            }
        }
    }
    // Runs at +300, +600, ..., +1500: five, the history keeps three.
    assert_eq!(created_count, 5);
    assert_eq!(jobs.len(), 3);
}
