//! Volumes from the API live in memory: with `/dev/shm` a big enough tmpfs (the default), a
//! Secret volume's file is under the agent's root there and nowhere under its data dir, a
//! deleted pod's directory there is removed, and a restarted agent removes the directory of a
//! pod gone from the API and writes a live pod's files again (as after a reboot, which
//! empties the tmpfs). Without such a `/dev/shm`, the file is under the pod's directory.

use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};
use serde_json::json;
use skiff_agent::volume_root::{shm_facts, shm_refusal};
use skiff_tests::run_bounded;

use crate::support::{LIMIT, Setup, WAIT, guest, pod, poll, start};

const NODE: &str = "volumes-node";
const STALE_UID: &str = "0f9c3a5e-1b2d-4c3e-8f4a-5b6c7d8e9f00";

/// Every file under `dir` named `name`.
fn files_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
            } else if entry.file_name() == name {
                found.push(path);
            }
        }
    }
    found
}

async fn uid_of(s: &Setup, name: &str) -> anyhow::Result<String> {
    let pod = s.pod(name).await?.context("no pod")?;
    let uid = pod["metadata"]["uid"].as_str().context("no uid")?;
    Ok(uid.to_owned())
}

/// A pod mounting the `app-secret` Secret at /secret.
fn secret_pod(name: &str, container: serde_json::Value, restart: &str) -> serde_json::Value {
    let volumes = json!({"restartPolicy": restart,
        "volumes": [{"name": "secret", "secret": {"secretName": "app-secret"}}]});
    pod(name, NODE, container, volumes)
}

#[test]
fn secret_volumes_live_in_memory_and_are_cleaned_up() {
    run_bounded("volumes_in_memory", LIMIT, async {
        let mut s = start(NODE).await?;
        s.apply(&json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "app-secret", "namespace": "default"},
            "data": {"word": "c3dvcmRmaXNo"}}))
            .await?;
        let reader = json!({"name": "reader", "image": guest("env-printer")?,
            "env": [{"name": "CONFIG_FILE", "value": "/secret/word"}],
            "volumeMounts": [{"name": "secret", "mountPath": "/secret"}]});
        s.apply(&secret_pod("reader", reader, "Never")).await?;
        s.wait_status("reader", "Completed").await?;
        let log = s.kubectl.ok(&["logs", "reader"]).await?;
        ensure!(log.contains("config /secret/word: swordfish"), "{log}");
        let uid = uid_of(&s, "reader").await?;
        let data = s.agent.data_dir.clone();
        let shm_fit = shm_facts(Path::new("/dev/shm")).is_ok_and(|f| shm_refusal(f).is_none());
        let Some(root) = s.agent.volumes_root() else {
            ensure!(
                !shm_fit,
                "/dev/shm is a big tmpfs, yet the agent chose no root"
            );
            let on_disk = data.join("pods").join(&uid).join("volumes/secret/word");
            ensure!(std::fs::read_to_string(&on_disk)? == "swordfish");
            return Ok(());
        };
        let named = root
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        ensure!(
            shm_fit
                && root.parent() == Some(Path::new("/dev/shm"))
                && named.starts_with("skiff-volumes-node-"),
            "{root:?}"
        );
        let in_memory = root.join(&uid).join("secret/word");
        ensure!(std::fs::read_to_string(&in_memory)? == "swordfish");
        let on_disk = files_named(&data, "word");
        ensure!(on_disk.is_empty(), "Secret files on disk: {on_disk:?}");
        ensure!(!data.join("pods").join(&uid).join("volumes").exists());

        s.kubectl.ok(&["delete", "pod", "reader", "--wait"]).await?;
        poll("the deleted pod's directories removed", WAIT, || async {
            Ok(!root.join(&uid).exists() && !data.join("pods").join(&uid).exists())
        })
        .await?;
        restarted_agent_sweeps_and_rewrites(&mut s, &root).await
    });
}

/// A stale UID directory is swept, another entry kept, and a live pod's files written again.
async fn restarted_agent_sweeps_and_rewrites(s: &mut Setup, root: &Path) -> anyhow::Result<()> {
    let web = json!({"name": "web", "image": guest("http-server")?,
        "volumeMounts": [{"name": "secret", "mountPath": "/secret"}]});
    s.apply(&secret_pod("web", web, "Always")).await?;
    s.wait_status("web", "Running").await?;
    let web_uid = uid_of(s, "web").await?;
    ensure!(root.join(&web_uid).join("secret/word").exists());

    s.agent.kill9();
    let stale = root.join(STALE_UID).join("secret");
    std::fs::create_dir_all(&stale)?;
    std::fs::write(stale.join("word"), "old")?;
    let other = root.join("not-a-pod");
    std::fs::create_dir_all(&other)?;
    // As after a reboot: the tmpfs lost the live pod's files.
    std::fs::remove_dir_all(root.join(&web_uid))?;
    s.agent.spawn()?;
    let written = root.join(&web_uid).join("secret/word");
    poll(
        "the stale directory swept and the live pod's file back",
        WAIT,
        || async {
            Ok(!root.join(STALE_UID).exists()
                && std::fs::read(&written).is_ok_and(|b| b == b"swordfish"))
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}; agent: {}", s.agent.last_stderr()))?;
    ensure!(other.exists(), "a non-UID entry of the root was removed");
    std::fs::remove_dir(&other)?;
    s.wait_status("web", "Running").await?;
    Ok(())
}
