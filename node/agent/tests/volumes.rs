//! Memory volumes on the node's volumes root: a pod's Secret is written there and removed
//! with the pod; a full root (ENOSPC, here from `/dev/full`) moves the pod's volumes to its
//! disk directory and the pod still runs.

use crate::support::{Node, bounded, guest, pod, wait_column};
use anyhow::Result;
use serde_json::json;
use skiff_agent::translate::References;
use skiff_api::k8s_openapi::api::core::v1::{Pod, Secret};
use skiff_api::k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use skiff_api::k8s_openapi::jiff::Timestamp;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

/// A pod `name` printing /creds/PASSWORD from the `creds` Secret, with a disk emptyDir.
fn printer(name: &str) -> Pod {
    pod(
        name,
        json!({"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "printer", "image": guest("env-printer"),
            "env": [{"name": "CONFIG_FILE", "value": "/creds/PASSWORD"}],
            "volumeMounts": [{"name": "creds", "mountPath": "/creds"},
                             {"name": "scratch", "mountPath": "/scratch"}]}],
        "volumes": [{"name": "creds", "secret": {"secretName": "creds"}},
                    {"name": "scratch", "emptyDir": {}}]}),
    )
}

fn refs() -> Result<References> {
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "creds"}, "data": {"PASSWORD": "aHVudGVyMg=="}}))?;
    let mut refs = References::default();
    refs.secrets.insert("creds".into(), Arc::new(secret));
    Ok(refs)
}

fn log_of(node: &Node, uid: &str) -> String {
    let path = node.cfg.pods_dir.join(uid).join("printer.log");
    std::fs::read_to_string(path).unwrap_or_default()
}

fn memory_root(node: &Node) -> PathBuf {
    node.cfg.volumes_root.clone().expect("a volumes root")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_lives_in_the_memory_root_and_goes_with_the_pod() -> Result<()> {
    bounded(async {
        let node = Node::with_volumes_root(true)?;
        let p = printer("mem");
        let (w, tx) = node.run_with(p.clone(), "10.244.2.2", refs()?)?;
        wait_column(&w, &p, "Completed", T).await?;
        assert!(log_of(&node, "uid-mem").contains("config /creds/PASSWORD: hunter2"));
        let pod_dir = node.cfg.pods_dir.join("uid-mem");
        let in_memory = memory_root(&node).join("uid-mem/creds/PASSWORD");
        assert_eq!(std::fs::read_to_string(&in_memory)?, "hunter2");
        assert!(!pod_dir.join("volumes/creds").exists());
        assert!(pod_dir.join("volumes/scratch").is_dir(), "a disk emptyDir");
        tx.send_modify(|input| {
            let mut next = (**input).clone();
            let pod = Arc::make_mut(&mut next.pod);
            pod.metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
            *input = Arc::new(next);
        });
        w.join().await?;
        assert!(!memory_root(&node).join("uid-mem").exists());
        assert!(!pod_dir.exists());
        node.shutdown().await;
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_memory_root_moves_the_volumes_to_disk() -> Result<()> {
    bounded(async {
        let node = Node::with_volumes_root(true)?;
        let full = memory_root(&node).join("uid-full/creds");
        std::fs::create_dir_all(&full)?;
        std::os::unix::fs::symlink("/dev/full", full.join("PASSWORD"))?;
        let p = printer("full");
        let (w, _tx) = node.run_with(p.clone(), "10.244.2.3", refs()?)?;
        wait_column(&w, &p, "Completed", T).await?;
        assert!(log_of(&node, "uid-full").contains("config /creds/PASSWORD: hunter2"));
        let on_disk = node.cfg.pods_dir.join("uid-full/volumes/creds/PASSWORD");
        assert_eq!(std::fs::read_to_string(&on_disk)?, "hunter2");
        assert!(
            !memory_root(&node).join("uid-full").exists(),
            "the half-written memory directory is removed"
        );
        node.cancel.cancel();
        w.join().await?;
        node.shutdown().await;
        Ok(())
    })
    .await
}
