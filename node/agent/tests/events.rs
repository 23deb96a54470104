//! The events a pod worker reports, with the kubelet's reasons and field paths.

use crate::support::{Node, bounded, guest, pod, wait_column};
use anyhow::Result;
use serde_json::json;
use skiff_agent::worker::{EventType, WorkerEvent};
use std::time::Duration;
use tokio::sync::mpsc;

const T: Duration = Duration::from_secs(60);

/// Everything queued so far: (type, reason, field path).
fn drain(rx: &mut mpsc::Receiver<WorkerEvent>) -> Vec<(EventType, &'static str, String)> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push((e.type_, e.reason, e.field_path.unwrap_or_default()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_reports_its_lifecycle_and_a_crasher_its_back_off() -> Result<()> {
    bounded(async {
        let node = Node::new()?;
        let job = pod(
            "job",
            json!({"restartPolicy": "Never", "containers": [
                {"name": "c", "image": guest("job"), "env": [{"name": "LIMIT", "value": "100"}]}]}),
        );
        let (mut w, _tx) = node.run(job.clone(), "10.244.0.20")?;
        let mut events = w.take_events().expect("events once");
        assert!(w.take_events().is_none());
        wait_column(&w, &job, "Completed", T).await?;
        let path = "spec.containers{c}".to_owned();
        let normal = |reason| (EventType::Normal, reason, path.clone());
        assert_eq!(
            drain(&mut events),
            vec![
                normal("Pulling"),
                normal("Pulled"),
                normal("Created"),
                normal("Started")
            ]
        );

        // The same image again: nothing is fetched, so no "Pulling" (the kubelet's
        // "already present on machine").
        let again = pod(
            "again",
            json!({"restartPolicy": "Never", "containers": [
                {"name": "c", "image": guest("job"), "env": [{"name": "LIMIT", "value": "100"}]}]}),
        );
        let (mut aw, _atx) = node.run(again.clone(), "10.244.0.22")?;
        let mut again_events = aw.take_events().expect("events once");
        wait_column(&aw, &again, "Completed", T).await?;
        assert_eq!(
            drain(&mut again_events),
            vec![normal("Pulled"), normal("Created"), normal("Started")]
        );

        let crash = pod(
            "crash",
            json!({"containers": [{"name": "c", "image": guest("crasher"),
                "env": [{"name": "DELAY_MS", "value": "10"}]}]}),
        );
        let (mut cw, _ctx) = node.run(crash.clone(), "10.244.0.21")?;
        let mut crash_events = cw.take_events().expect("events");
        wait_column(&cw, &crash, "CrashLoopBackOff", T).await?;
        let seen = drain(&mut crash_events);
        assert!(
            seen.contains(&(EventType::Warning, "BackOff", path.clone())),
            "{seen:?}"
        );
        node.cancel.cancel();
        w.join().await?;
        aw.join().await?;
        cw.join().await?;
        node.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exec_probe_is_reported_as_not_run_and_the_container_runs() -> Result<()> {
    bounded(async {
        let node = Node::new()?;
        let p = pod(
            "exec",
            json!({"containers": [{"name": "web", "image": guest("http-server"),
                "livenessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1}}]}),
        );
        let (mut w, _tx) = node.run(p.clone(), "10.244.0.22")?;
        let mut events = w.take_events().expect("events");
        wait_column(&w, &p, "Running", T).await?;
        let mut warning = None;
        while let Ok(e) = events.try_recv() {
            if e.reason == "ProbeWarning" {
                warning = Some(e);
            }
        }
        let e = warning.expect("a ProbeWarning event");
        assert_eq!(e.type_, EventType::Warning);
        assert_eq!(
            e.message,
            "container web: the liveness probe uses exec, and Wasm containers have no exec \
             (use httpGet or tcpSocket); the probe is not run"
        );
        assert_eq!(e.field_path.as_deref(), Some("spec.containers{web}"));
        node.cancel.cancel();
        w.join().await?;
        node.shutdown().await;
        Ok(())
    })
    .await
}
