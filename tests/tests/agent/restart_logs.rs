//! Logs outlive the agent: after the agent is killed (SIGKILL) or stopped (SIGTERM) and
//! started again, `kubectl logs --previous` shows what a container wrote before, `kubectl
//! logs` its new run, and a finished pod (not run again) still shows its output, read from
//! the files the earlier agent left, as the kubelet reads /var/log/pods. The agent's
//! `kube_pod_container_status_restarts_total` carries on from the count the API shows.

use std::time::Duration;

use anyhow::ensure;
use serde_json::json;
use skiff_tests::run_bounded;

use crate::support::{LIMIT, Setup, WAIT, guest, pod, poll, start};

const NODE: &str = "relog-node";
const JOB_OUTPUT: &str = "primes below 1000: 168\n";

/// `kubectl logs <args>` once it succeeds and `check` holds; the last output otherwise.
async fn logs_matching(
    s: &Setup,
    args: &[&str],
    check: impl Fn(&str) -> bool,
) -> anyhow::Result<String> {
    let mut all = vec!["logs"];
    all.extend_from_slice(args);
    let last = std::cell::RefCell::new(String::new());
    let waited = poll(&format!("kubectl {all:?}"), WAIT, || async {
        let out = s.kubectl.run(&all, "").await?;
        *last.borrow_mut() = format!("{}{}", out.stdout, out.stderr);
        Ok(out.success && check(&out.stdout))
    })
    .await;
    let last = last.into_inner();
    waited.map_err(|e| anyhow::anyhow!("{e}; last output: {last}"))?;
    Ok(last)
}

/// Waits until the agent's metrics page shows `count` restarts of the web container.
async fn restarts_metric(s: &Setup, count: u32) -> anyhow::Result<()> {
    let path = format!("/api/v1/nodes/{NODE}/proxy/metrics");
    let want = format!(
        "kube_pod_container_status_restarts_total{{container=\"web\",namespace=\"default\",pod=\"web\"}} {count}"
    );
    let last = std::cell::RefCell::new(String::new());
    let found = poll(&format!("{count} restarts in {path}"), WAIT, || async {
        let page = s.kubectl.run(&["get", "--raw", &path], "").await?;
        let hit = page.stdout.lines().any(|l| l == want);
        *last.borrow_mut() = page.stdout;
        Ok(hit)
    })
    .await;
    found.map_err(|e| anyhow::anyhow!("{e}; last page:\n{}", last.into_inner()))
}

/// The first line's timestamp of `kubectl logs --timestamps` output.
fn first_time(logs: &str) -> String {
    logs.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn logs_from_before_an_agent_restart_are_kept() {
    run_bounded("restart_logs", LIMIT, async {
        let mut s = start(NODE).await?;
        let web = json!({"name": "web", "image": guest("http-server")?,
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1}});
        s.apply(&pod("web", NODE, web, json!({}))).await?;
        let job = json!({"name": "job", "image": guest("job")?, "env": [{"name": "LIMIT", "value": "1000"}]});
        s.apply(&pod("job", NODE, job, json!({"restartPolicy": "Never"})))
            .await?;
        s.wait_status("job", "Completed").await?;
        s.wait_row("web", "1/1 Running", |r| r[1] == "1/1" && r[3] == "0")
            .await?;
        let is_web_log =
            |l: &str| l.starts_with("http-server listening on") && l.lines().count() >= 3;
        let first = logs_matching(&s, &["web", "--timestamps"], |l| {
            is_web_log(l.split_once(' ').map_or("", |x| x.1))
        })
        .await?;
        ensure!(s.kubectl.ok(&["logs", "job"]).await? == JOB_OUTPUT);

        // SIGKILL, then start again: the web container runs again (restart 1).
        s.agent.kill9();
        s.agent.spawn()?;
        s.wait_row("web", "1/1 Running again", |r| r[1] == "1/1" && r[3] == "1")
            .await?;
        restarts_metric(&s, 1).await?;
        // The finished job is not run again, and its output is still there.
        ensure!(
            s.kubectl.ok(&["logs", "job"]).await? == JOB_OUTPUT,
            "the job's log is lost"
        );
        // --previous is the run before the kill: it starts as the first run's log did.
        let previous = logs_matching(&s, &["web", "--previous", "--timestamps"], |l| {
            !l.is_empty()
        })
        .await?;
        ensure!(
            first_time(&previous) == first_time(&first),
            "--previous:\n{previous}\nfirst run:\n{first}"
        );
        ensure!(
            previous.len() >= first.len() && previous.starts_with(&first),
            "--previous lost lines"
        );
        let second = logs_matching(&s, &["web", "--timestamps"], |l| {
            is_web_log(l.split_once(' ').map_or("", |x| x.1))
        })
        .await?;
        ensure!(
            first_time(&second) > first_time(&first),
            "the current log is not the new run:\n{second}"
        );

        // SIGTERM: a clean stop keeps the pod's files too.
        ensure!(
            s.agent.stop(Duration::from_secs(20)).await?,
            "the agent did not stop cleanly"
        );
        s.agent.spawn()?;
        s.wait_row("web", "1/1 Running a third time", |r| {
            r[1] == "1/1" && r[3] == "2"
        })
        .await?;
        restarts_metric(&s, 2).await?;
        let previous = logs_matching(&s, &["web", "--previous", "--timestamps"], |l| {
            !l.is_empty()
        })
        .await?;
        ensure!(
            first_time(&previous) == first_time(&second),
            "--previous after SIGTERM:\n{previous}"
        );
        ensure!(
            s.kubectl.ok(&["logs", "job"]).await? == JOB_OUTPUT,
            "the job's log is lost after SIGTERM"
        );
        Ok(())
    });
}
