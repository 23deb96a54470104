//! Pods that cannot start: a missing image, a file that is not Wasm, a missing ConfigMap
//! (and the pod starting once it exists).

use crate::support::{Node, bounded, container, guest, phase, pod, wait_column};
use anyhow::Result;
use serde_json::json;
use skiff_agent::translate::References;
use skiff_agent::worker::PodInput;
use skiff_api::k8s_openapi::api::core::v1::ConfigMap;
use std::sync::Arc;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_image_gives_err_image_pull_then_image_pull_back_off() -> Result<()> {
    bounded(async {
        let node = Node::new()?;
        let p = pod(
            "missing",
            json!({"containers": [{"name": "c", "image": "/nonexistent/app.wasm"}]}),
        );
        let (w, _tx) = node.run(p.clone(), "10.244.1.2")?;
        let s = wait_column(&w, &p, "ErrImagePull", T).await?;
        let message = container(&s, 0)["state"]["waiting"]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert!(message.contains("/nonexistent/app.wasm"), "{message}");
        let s = wait_column(&w, &p, "ImagePullBackOff", T).await?;
        assert_eq!(phase(&s), "Pending");
        // The next attempt fails again: back to ErrImagePull.
        wait_column(&w, &p, "ErrImagePull", T).await?;
        node.cancel.cancel();
        w.join().await?;
        node.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_wasm_gives_a_clear_create_container_error() -> Result<()> {
    bounded(async {
        let node = Node::new()?;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("app.wasm");
        std::fs::write(&path, "#!/bin/sh\necho not wasm\n")?;
        let p = pod(
            "notwasm",
            json!({"containers": [{"name": "c", "image": path.display().to_string()}]}),
        );
        let (w, _tx) = node.run(p.clone(), "10.244.1.3")?;
        let s = wait_column(&w, &p, "CreateContainerError", T).await?;
        let message = container(&s, 0)["state"]["waiting"]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert!(message.contains("not a WebAssembly binary"), "{message}");
        node.cancel.cancel();
        w.join().await?;
        node.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_config_map_holds_the_container_until_it_exists() -> Result<()> {
    bounded(async {
        let node = Node::new()?;
        let p = pod("cfg", json!({"restartPolicy": "Never", "containers": [{"name": "c",
            "image": guest("env-printer"),
            "env": [{"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "color"}}}],
            "volumeMounts": [{"name": "config", "mountPath": "/config"}]}],
            "volumes": [{"name": "config", "configMap": {"name": "files"}}]}));
        let files: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "files"},
            "data": {"app.conf": "size=large\n"}}))?;
        let refs = References {
            config_maps: [("files".to_owned(), Arc::new(files.clone()))].into(),
            ..References::default()
        };
        let (tx, rx) = tokio::sync::watch::channel(Arc::new(PodInput { pod: Arc::new(p.clone()), refs }));
        let w = skiff_agent::worker::PodWorker::spawn(
            node.rt.clone(), node.net.clone(), node.cfg.clone(), "10.244.1.4".parse()?, rx, node.cancel.child_token());
        let s = wait_column(&w, &p, "CreateContainerConfigError", T).await?;
        assert_eq!(container(&s, 0)["state"]["waiting"]["message"], "configmap \"settings\" not found");

        let settings: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "settings"},
            "data": {"color": "teal"}}))?;
        let refs = References {
            config_maps: [("files".to_owned(), Arc::new(files)), ("settings".to_owned(), Arc::new(settings))].into(),
            ..References::default()
        };
        tx.send_replace(Arc::new(PodInput { pod: Arc::new(p.clone()), refs }));
        wait_column(&w, &p, "Completed", T).await?;
        let log = String::from_utf8(node.rt.logs("uid-cfg", "c")?.read_all()?)?;
        assert!(log.contains("env COLOR=teal"), "{log}");
        assert!(log.contains("config /config/app.conf: size=large"), "{log}");
        node.cancel.cancel();
        w.join().await?;
        node.shutdown().await;
        Ok(())
    })
    .await
}
