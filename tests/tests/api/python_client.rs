//! The official Kubernetes Python client (`pip install kubernetes`, installed here if it is not
//! importable) runs `tests/python/k8s_client_check.py` against a replica: CRUD of ConfigMaps and
//! Deployments, list then watch, 409 on a stale update, and 410 on a compacted watch.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, ensure};
use skiff_tests::{Replica, ReplicaOptions, run_bounded};
use tokio::process::Command;
use tokio::time::timeout;

use crate::manifests::api_ready;

/// pip's download and install of `kubernetes` and its dependencies on a fresh machine.
const INSTALL_LIMIT: Duration = Duration::from_secs(240);
const SCRIPT_LIMIT: Duration = Duration::from_secs(90);

#[test]
fn python_client_crud_watch_and_conflict() {
    run_bounded(
        "python_client_crud_watch_and_conflict",
        Duration::from_secs(360),
        async {
            ensure_python_client().await?;
            let replica = Replica::start(ReplicaOptions::new("python")).await?;
            api_ready(&replica).await?;
            let out = run_script(&replica, "crud").await?;
            ensure!(
                out.contains("409 on a stale replace") && out.contains("MODIFIED"),
                "{out}"
            );
            Ok(())
        },
    );
}

#[test]
fn python_client_raises_410_on_a_compacted_watch() {
    run_bounded(
        "python_client_raises_410_on_a_compacted_watch",
        Duration::from_secs(300),
        async {
            ensure_python_client().await?;
            let options = ReplicaOptions::new("python-410").args([
                "--history-revisions",
                "10",
                "--history-seconds",
                "0",
            ]);
            let replica = Replica::start(options).await?;
            api_ready(&replica).await?;
            let out = run_script(&replica, "expired").await?;
            ensure!(out.contains("ApiException 410"), "{out}");
            Ok(())
        },
    );
}

/// `python3 -c 'import kubernetes'`, else `pip install kubernetes` (idempotent).
pub(crate) async fn ensure_python_client() -> anyhow::Result<()> {
    if importable().await? {
        return Ok(());
    }
    let install = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "kubernetes"])
        .kill_on_drop(true)
        .output();
    let output = timeout(INSTALL_LIMIT, install)
        .await
        .context("pip install kubernetes timed out")??;
    ensure!(
        output.status.success() && importable().await?,
        "pip install kubernetes failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// Whether `import kubernetes` works.
async fn importable() -> anyhow::Result<bool> {
    let status = Command::new("python3")
        .args(["-c", "import kubernetes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status()
        .await
        .context("running python3")?;
    Ok(status.success())
}

/// Runs the script in `mode` against `replica`; returns its standard output.
async fn run_script(replica: &Replica, mode: &str) -> anyhow::Result<String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/k8s_client_check.py");
    let kubeconfig = replica.data_dir.join("admin.kubeconfig");
    let run = Command::new("python3")
        .arg(&script)
        .arg(&kubeconfig)
        .arg(mode)
        .kill_on_drop(true)
        .output();
    let output = timeout(SCRIPT_LIMIT, run).await.with_context(|| {
        format!(
            "{} {mode} still running after {SCRIPT_LIMIT:?}",
            script.display()
        )
    })??;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    eprintln!("python {mode}:\n{stdout}");
    ensure!(
        output.status.success() && stdout.lines().last() == Some("OK"),
        "python {mode} failed ({}):\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(stdout)
}
