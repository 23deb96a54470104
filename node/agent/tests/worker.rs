//! Pod workers running the real example guests in the real runtime, asserted through the
//! published Pod status and kubectl's STATUS column.

use crate::support::{Node, bounded, container, guest, phase, pod, wait_column, wait_for};
use anyhow::Result;
use serde_json::json;
use skiff_api::k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use skiff_api::k8s_openapi::jiff::Timestamp;
use std::sync::Arc;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(60);

fn restarts(status: &skiff_api::k8s_openapi::api::core::v1::PodStatus) -> i64 {
    container(status, 0)["restartCount"].as_i64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_completes_and_failed_exit_codes_show_as_error() -> Result<()> {
    bounded(async {
        let node = Node::new()?;
        let job = pod(
            "job",
            json!({"restartPolicy": "Never", "containers": [
            {"name": "job", "image": guest("job"), "env": [{"name": "LIMIT", "value": "1000"}]}]}),
        );
        let (w, _tx) = node.run(job.clone(), "10.244.0.2")?;
        let s = wait_column(&w, &job, "Completed", T).await?;
        assert_eq!(phase(&s), "Succeeded");
        assert_eq!(container(&s, 0)["state"]["terminated"]["exitCode"], 0);
        assert!(
            container(&s, 0)["imageID"]
                .as_str()
                .unwrap_or("")
                .starts_with("sha256:")
        );

        let fail = pod(
            "fail",
            json!({"restartPolicy": "Never", "containers": [
            {"name": "c", "image": guest("crasher"), "env": [
                {"name": "DELAY_MS", "value": "10"}, {"name": "EXIT_CODE", "value": "42"}]}]}),
        );
        let (w2, _tx2) = node.run(fail.clone(), "10.244.0.3")?;
        let s = wait_column(&w2, &fail, "Error", T).await?;
        assert_eq!(phase(&s), "Failed");
        assert_eq!(container(&s, 0)["state"]["terminated"]["exitCode"], 42);
        assert_eq!(restarts(&s), 0);
        node.cancel.cancel();
        w.join().await?;
        w2.join().await?;
        node.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crasher_goes_to_crash_loop_back_off_with_rising_restarts() -> Result<()> {
    bounded(async {
        let node = Node::new()?;
        let p = pod(
            "crash",
            json!({"containers": [{"name": "c", "image": guest("crasher"),
            "env": [{"name": "DELAY_MS", "value": "10"}]}]}),
        );
        let (w, _tx) = node.run(p.clone(), "10.244.0.4")?;
        let s = wait_for(&w, "3 restarts in back-off", T, |s| {
            restarts(s) >= 3 && crate::support::status_column(&p, s) == "CrashLoopBackOff"
        })
        .await?;
        assert_eq!(phase(&s), "Running");
        let c = container(&s, 0);
        let message = c["state"]["waiting"]["message"].as_str().unwrap_or("");
        assert!(message.starts_with("back-off "), "{message}");
        assert!(
            message.ends_with("restarting failed container=c pod=crash_default(uid-crash)"),
            "{message}"
        );
        assert_eq!(c["lastState"]["terminated"]["reason"], "Error");
        node.cancel.cancel();
        w.join().await?;
        node.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_hog_is_oom_killed_while_a_neighbour_keeps_running() -> Result<()> {
    bounded(async {
        let node = Node::new()?;
        let web = pod(
            "web",
            json!({"containers": [{"name": "web", "image": guest("http-server")}]}),
        );
        let (ww, _wtx) = node.run(web.clone(), "10.244.0.5")?;
        wait_column(&ww, &web, "Running", T).await?;
        let hog = pod(
            "hog",
            json!({"restartPolicy": "Never", "containers": [{"name": "hog",
            "image": guest("memory-hog"), "resources": {"limits": {"memory": "16Mi"}}}]}),
        );
        let (hw, _htx) = node.run(hog.clone(), "10.244.0.6")?;
        let s = wait_column(&hw, &hog, "OOMKilled", T).await?;
        assert_eq!(phase(&s), "Failed");
        assert_eq!(container(&s, 0)["state"]["terminated"]["exitCode"], 137);
        let web_status = ww.status().borrow().clone();
        assert_eq!(crate::support::status_column(&web, &web_status), "Running");
        assert_eq!(container(&web_status, 0)["ready"], true);
        node.cancel.cancel();
        ww.join().await?;
        hw.join().await?;
        node.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oom_killed_run_shows_before_its_back_off() -> Result<()> {
    bounded(async {
        let node = Node::new()?;
        let hog = pod(
            "hog-again",
            json!({"containers": [{"name": "hog", "image": guest("memory-hog"),
            "resources": {"limits": {"memory": "16Mi"}}}]}),
        );
        let (w, _tx) = node.run(hog.clone(), "10.244.0.12")?;
        let s = wait_column(&w, &hog, "OOMKilled", T).await?;
        assert_eq!(phase(&s), "Running", "it restarts (restartPolicy Always)");
        let s = wait_column(&w, &hog, "CrashLoopBackOff", T).await?;
        assert_eq!(
            container(&s, 0)["lastState"]["terminated"]["reason"],
            "OOMKilled"
        );
        node.cancel.cancel();
        w.join().await?;
        node.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_container_runs_to_completion_before_the_app() -> Result<()> {
    bounded(async {
        let node = Node::new()?;
        let p = pod(
            "init",
            json!({
            "initContainers": [{"name": "setup", "image": guest("crasher"), "env": [
                {"name": "DELAY_MS", "value": "400"}, {"name": "EXIT_CODE", "value": "0"}]}],
            "containers": [{"name": "web", "image": guest("http-server")}]}),
        );
        let (w, _tx) = node.run(p.clone(), "10.244.0.7")?;
        let s = wait_column(&w, &p, "Init:0/1", T).await?;
        assert_eq!(phase(&s), "Pending");
        assert_eq!(
            container(&s, 0)["state"]["waiting"]["reason"],
            "PodInitializing"
        );
        let s = wait_column(&w, &p, "Running", T).await?;
        let init = serde_json::to_value(&s.init_container_statuses)?;
        assert_eq!(init[0]["state"]["terminated"]["reason"], "Completed");
        let finished = init[0]["state"]["terminated"]["finishedAt"]
            .as_str()
            .unwrap_or("~")
            .to_owned();
        let started = container(&s, 0)["state"]["running"]["startedAt"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert!(
            finished <= started,
            "init finished {finished}, app started {started}"
        );
        let initialized = s
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Initialized");
        assert_eq!(initialized.map(|c| c.status.as_str()), Some("True"));
        node.cancel.cancel();
        w.join().await?;
        node.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_policies_behave() -> Result<()> {
    bounded(async {
        let node = Node::new()?;
        let job = |policy: &str| pod(&format!("job-{}", policy.to_lowercase()), json!({"restartPolicy": policy,
            "containers": [{"name": "job", "image": guest("job"), "env": [{"name": "LIMIT", "value": "100"}]}]}));
        let crash = |policy: &str| pod(&format!("crash-{}", policy.to_lowercase()), json!({"restartPolicy": policy,
            "containers": [{"name": "c", "image": guest("crasher"), "env": [{"name": "DELAY_MS", "value": "10"}]}]}));

        // OnFailure: a success stays Completed, a failure restarts.
        let p = job("OnFailure");
        let (w1, _t1) = node.run(p.clone(), "10.244.0.8")?;
        let s = wait_column(&w1, &p, "Completed", T).await?;
        assert_eq!((phase(&s), restarts(&s)), ("Succeeded", 0));
        let p = crash("OnFailure");
        let (w2, _t2) = node.run(p.clone(), "10.244.0.9")?;
        let s = wait_for(&w2, "2 restarts", T, |s| restarts(s) >= 2).await?;
        assert_eq!(phase(&s), "Running");
        // Always: even a successful job is restarted.
        let p = job("Always");
        let (w3, _t3) = node.run(p.clone(), "10.244.0.10")?;
        let s = wait_for(&w3, "2 restarts", T, |s| restarts(s) >= 2).await?;
        assert_eq!(phase(&s), "Running");
        // Never: a failure stays failed, with no restart.
        let p = crash("Never");
        let (w4, _t4) = node.run(p.clone(), "10.244.0.11")?;
        let s = wait_column(&w4, &p, "Error", T).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let later = w4.status().borrow().clone();
        assert_eq!((phase(&s), restarts(&later)), ("Failed", 0));
        node.cancel.cancel();
        for w in [w1, w2, w3, w4] {
            w.join().await?;
        }
        node.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_stops_a_server_within_its_grace_period_and_cleans_up() -> Result<()> {
    bounded(async {
        let node = Node::new()?;
        let p = pod(
            "web",
            json!({"terminationGracePeriodSeconds": 1,
            "containers": [{"name": "web", "image": guest("http-server")}]}),
        );
        let (w, tx) = node.run(p.clone(), "10.244.0.12")?;
        wait_column(&w, &p, "Running", T).await?;
        let mut status = w.status();
        let asked = Instant::now();
        tx.send_modify(|input| {
            let mut next = (**input).clone();
            let pod = Arc::make_mut(&mut next.pod);
            pod.metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
            pod.metadata.deletion_grace_period_seconds = Some(1);
            *input = Arc::new(next);
        });
        w.join().await?;
        let took = asked.elapsed();
        assert!(took < Duration::from_secs(3), "stopping took {took:?}");
        let last = status.borrow_and_update().clone();
        assert!(
            !container(&last, 0)["state"]["terminated"].is_null(),
            "{}",
            crate::support::describe(&last)
        );
        assert!(
            node.rt.pod_status("uid-web").is_err(),
            "sandbox still exists"
        );
        assert!(
            !node.cfg.pods_dir.join("uid-web").exists(),
            "pod directory still exists"
        );
        node.shutdown().await;
        Ok(())
    })
    .await
}
