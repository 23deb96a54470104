//! README command 1 as a new user runs it: `bash scripts/run.sh` builds the example guests,
//! starts `skiff up --detach`, deploys the HTTP example with `skiff run` (pushed to the
//! built-in registry), prints its URL and curls it. The suite's own skiff build is handed over
//! in `SKIFF_BIN` (a release build would cost the run many minutes); data, listen address and
//! home directory are the test's own, with no `$KUBECONFIG`, so the context lands in
//! `~/.kube/config` as it would for a new user. The cluster is stopped with `skiff down` whatever happens.

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
    let mut command = tokio::process::Command::new("bash");
    for (var, path) in tool_homes()? {
        command.env(var, path);
    }
    let out = command
        .arg("scripts/run.sh")
        .current_dir(&repo)
        .env("SKIFF_BIN", skiff_bin())
        .env("SKIFF_DATA_DIR", &data)
        .env("SKIFF_LISTEN", format!("127.0.0.1:{}", free_port()?))
        // A new user has no $KUBECONFIG: `skiff up` writes ~/.kube/config and `skiff run`
        // finds the cluster there. HOME is the test's own; the tools stay where they are.
        .env_remove("KUBECONFIG")
        .env("HOME", &dir)
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
    let written = std::fs::read_to_string(dir.join(".kube").join("config"))?;
    ensure!(written.contains("current-context: skiff"), "{written}");
    Ok(())
}

/// Where the tools that default to a directory in $HOME live now (rustup's toolchains,
/// cargo's registry, pyenv's Pythons), so they stay found under the test's own HOME.
fn tool_homes() -> anyhow::Result<Vec<(&'static str, PathBuf)>> {
    let home = PathBuf::from(std::env::var_os("HOME").ok_or_else(|| anyhow::anyhow!("no $HOME"))?);
    let mut found = Vec::new();
    for (var, default) in [
        ("CARGO_HOME", ".cargo"),
        ("RUSTUP_HOME", ".rustup"),
        ("PYENV_ROOT", ".pyenv"),
    ] {
        match std::env::var_os(var) {
            Some(path) => found.push((var, PathBuf::from(path))),
            None if home.join(default).exists() => found.push((var, home.join(default))),
            None => {}
        }
    }
    Ok(found)
}
