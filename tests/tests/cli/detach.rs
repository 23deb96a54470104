//! `skiff up --detach` merges its context into an existing kubeconfig without losing the
//! other contexts, returns once the API answers, refuses a second start, and kubectl uses the
//! context at once; `skiff down` stops it, after which the CLI names the URL and kubeconfig
//! it could not reach. Also: the completion scripts.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, ensure};
use skiff_tests::{Kubectl, free_port, scratch_dir, skiff_bin};

use crate::support::{Skiff, poll};

/// Kills a detached `skiff up` left running by a failed test (by its pid file), and removes
/// its agent's memory volumes root.
struct KillOnDrop<'a>(&'a Path);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.0.join("skiff.pid")) {
            let _ = std::process::Command::new("kill")
                .args(["-9", pid.trim()])
                .status();
        }
        skiff_tests::agent::remove_volumes_root(&self.0.join("agent"));
    }
}

const OTHER: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: elsewhere\n  cluster:\n    server: https://127.0.0.1:1\nusers:\n- name: someone\n  user:\n    token: abc\ncontexts:\n- name: elsewhere\n  context:\n    cluster: elsewhere\n    user: someone\ncurrent-context: elsewhere\n";

pub async fn up_detach_down() -> anyhow::Result<()> {
    let root = scratch_dir("cli-detach")?;
    let data = root.join("data");
    let _guard = KillOnDrop(&data);
    let kubeconfig = root.join("kube").join("config");
    std::fs::create_dir_all(kubeconfig.parent().context("parent")?)?;
    std::fs::write(&kubeconfig, OTHER)?;
    let skiff = Skiff::new(&kubeconfig);
    let listen = format!("127.0.0.1:{}", free_port()?);
    let data_arg = data.display().to_string();
    let up = [
        "up",
        "--detach",
        "--data-dir",
        &data_arg,
        "--listen",
        &listen,
        "--name",
        "detached",
    ];
    let out = skiff.ok(&up).await?;
    ensure!(
        out.contains(&format!("cluster serving https://{listen}")),
        "{out}"
    );
    ensure!(out.contains("running in the background: pid"), "{out}");
    let pid = std::fs::read_to_string(data.join("skiff.pid"))?
        .trim()
        .to_owned();
    ensure!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} is not running"
    );

    kubectl_uses_the_context(&kubeconfig).await?;
    let again = skiff.fails(&up, "").await?;
    ensure!(
        again.contains("already runs") && again.contains(&pid),
        "{again}"
    );
    down_stops_it(&skiff, &data, &pid, &listen).await
}

/// The other context survived the merge; kubectl reaches the cluster through the new one.
async fn kubectl_uses_the_context(kubeconfig: &Path) -> anyhow::Result<()> {
    let merged = std::fs::read_to_string(kubeconfig)?;
    ensure!(
        merged.contains("name: elsewhere") && merged.contains("current-context: skiff"),
        "{merged}"
    );
    let kubectl = Kubectl::new(kubeconfig)?;
    poll(
        "kubectl lists the node through the written context",
        || async {
            Ok(kubectl
                .ok(&["get", "nodes", "-o", "name"])
                .await?
                .contains("node/detached"))
        },
    )
    .await?;
    let contexts = kubectl
        .ok(&["config", "get-contexts", "-o", "name"])
        .await?;
    ensure!(
        contexts.lines().collect::<Vec<_>>() == ["elsewhere", "skiff"],
        "{contexts}"
    );
    Ok(())
}

/// `skiff down` stops it and clears the pid file; the CLI then names what it could not
/// reach; a second `down` finds nothing running.
async fn down_stops_it(skiff: &Skiff, data: &Path, pid: &str, listen: &str) -> anyhow::Result<()> {
    let data_arg = data.display().to_string();
    let down = ["down", "--data-dir", &data_arg];
    let out = skiff.ok(&down).await?;
    ensure!(
        out.contains(&format!("stopping skiff up (pid {pid})")) && out.contains("stopped"),
        "{out}"
    );
    ensure!(!data.join("skiff.pid").exists(), "the pid file stayed");
    ensure!(!alive(pid), "pid {pid} still runs");
    let log = std::fs::read_to_string(data.join("skiff.log"))?;
    ensure!(log.contains("skiff up: stopped"), "{log}");

    let unreachable = skiff.fails(&["get", "pods"], "").await?;
    ensure!(
        unreachable.starts_with(&format!(
            "Unable to connect to the server at https://{listen}"
        )) && unreachable.contains(&skiff.kubeconfig.display().to_string()),
        "{unreachable}"
    );
    let out = skiff.ok(&down).await?;
    ensure!(out.contains("no skiff up is running"), "{out}");
    Ok(())
}

/// Whether `pid` runs (an exited process not yet reaped by init is a zombie, not running).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

pub async fn completions() -> anyhow::Result<()> {
    let dir = scratch_dir("cli-completion")?;
    for shell in ["bash", "zsh", "fish"] {
        let out = tokio::process::Command::new(skiff_bin())
            .args(["completion", shell])
            .output()
            .await?;
        let script = String::from_utf8(out.stdout)?;
        ensure!(
            out.status.success() && script.contains("rollout") && script.contains("port-forward"),
            "{shell}: {script}"
        );
        std::fs::write(dir.join(shell), &script)?;
    }
    // bash loads it and registers the completion function.
    let check = format!("source {}; complete -p skiff", dir.join("bash").display());
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::process::Command::new("bash")
            .args(["-c", &check])
            .output(),
    )
    .await??;
    let said = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success() && said.contains("skiff"),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
