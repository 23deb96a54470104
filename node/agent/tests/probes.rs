//! Probes through the pod's own address: readiness drives Ready, a failing liveness probe
//! restarts the container, a startup probe gates `started`.

use crate::support::{Node, bounded, container, guest, pod, wait_column, wait_for};
use anyhow::Result;
use serde_json::json;
use skiff_api::k8s_openapi::api::core::v1::PodStatus;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

fn condition(s: &PodStatus, ty: &str) -> String {
    let found = s.conditions.iter().flatten().find(|c| c.type_ == ty);
    found.map(|c| c.status.clone()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_readiness_and_startup_probes_make_the_pod_ready() -> Result<()> {
    bounded(async {
        let node = Node::new()?;
        let p = pod("web", json!({"containers": [{"name": "web", "image": guest("http-server"),
            "ports": [{"name": "http", "containerPort": 8080}],
            "startupProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1, "failureThreshold": 30},
            "readinessProbe": {"httpGet": {"port": "http", "path": "/ready"}, "periodSeconds": 1}}]}));
        let (w, _tx) = node.run(p.clone(), "10.244.2.2")?;
        let s = wait_for(&w, "Ready", T, |s| condition(s, "Ready") == "True").await?;
        let c = container(&s, 0);
        assert_eq!((c["ready"].clone(), c["started"].clone()), (json!(true), json!(true)));
        assert_eq!(condition(&s, "ContainersReady"), "True");
        let log = String::from_utf8(node.rt.logs("uid-web", "web")?.read_all()?)?;
        assert!(log.contains("GET /ready HTTP/1.1"), "{log}");

        // Readiness against a port nothing listens on: running, never ready.
        let q = pod("unready", json!({"containers": [{"name": "web", "image": guest("http-server"),
            "readinessProbe": {"tcpSocket": {"port": 9999}, "periodSeconds": 1}}]}));
        let (w2, _tx2) = node.run(q.clone(), "10.244.2.3")?;
        wait_column(&w2, &q, "Running", T).await?;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let s = w2.status().borrow().clone();
        assert_eq!((condition(&s, "Ready"), container(&s, 0)["ready"].clone()), ("False".into(), json!(false)));
        node.cancel.cancel();
        w.join().await?;
        w2.join().await?;
        node.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_liveness_probe_restarts_the_container() -> Result<()> {
    bounded(async {
        let node = Node::new()?;
        let p = pod("sick", json!({"terminationGracePeriodSeconds": 0,
            "containers": [{"name": "web", "image": guest("http-server"),
            "livenessProbe": {"tcpSocket": {"port": 9999}, "periodSeconds": 1, "failureThreshold": 1}}]}));
        let (w, _tx) = node.run(p.clone(), "10.244.2.4")?;
        let s = wait_for(&w, "a restart", T, |s| container(s, 0)["restartCount"].as_i64() >= Some(1)).await?;
        assert!(!container(&s, 0)["lastState"]["terminated"].is_null(), "{}", crate::support::describe(&s));
        node.cancel.cancel();
        w.join().await?;
        node.shutdown().await;
        Ok(())
    })
    .await
}
