//! README command 1 as a new user runs it: `bash scripts/run.sh` builds the example guests,
//! starts `skiff up --detach`, deploys the HTTP example with `skiff run` (pushed to the
//! built-in registry), prints its URL and curls it. The suite's own skiff build is handed over
//! in `SKIFF_BIN` (a release build would cost the run many minutes); data, listen address and
//! kubeconfig are the test's own. The cluster is stopped with `skiff down` whatever happens.

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::ensure;
use skiff_tests::{free_port, scratch_dir, skiff_bin};

/// Runs `skiff down` for the data directory when dropped (also after a failure or timeout),
/// then removes the agent's memory volumes root.
struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = std::process::Command::new(skiff_bin())
            .arg("down")
            .arg("--data-dir")
            .arg(&self.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // A stopped agent keeps its pods' memory volumes (under /dev/shm) for its next start.
        skiff_tests::agent::remove_volumes_root(&self.0.join("agent"));
    }
}

pub async fn readme_command_one() -> anyhow::Result<()> {
    let dir = scratch_dir("readme")?;
    let data = dir.join("data");
    let _down = Down(data.clone());
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = tokio::process::Command::new("bash")
        .arg("scripts/run.sh")
        .current_dir(&repo)
        .env("SKIFF_BIN", skiff_bin())
        .env("SKIFF_DATA_DIR", &data)
        .env("SKIFF_LISTEN", format!("127.0.0.1:{}", free_port()?))
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.success(),
        "scripts/run.sh failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    ensure!(
        stdout.contains("curl http://127.0.0.1:") && stdout.contains("hello from skiff /"),
        "no URL or no answer from the HTTP example:\n{stdout}\n{stderr}"
    );
    ensure!(
        stderr.contains("pushed registry.skiff.local/hello:sha-"),
        "the .wasm did not go through the built-in registry:\n{stderr}"
    );
    Ok(())
}
