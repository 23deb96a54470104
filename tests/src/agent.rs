//! [`Agent`]: one `skiff agent` child process with its own scratch data directory, stdout and
//! stderr captured to files beside it, killed (SIGKILL) when the handle drops (and its memory
//! volumes root, e.g. under `/dev/shm`, removed). Also
//! [`node_credential`], which makes a node's credential by hand as an admin (a
//! `skiff.io/node-token` Secret, the way the API server authenticates nodes) and writes it
//! where the agent reads it, for clusters without the join endpoint.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use tokio::time::{Instant, sleep};

use crate::Exited;
use crate::kubectl::Kubectl;
use crate::process::Replica;

pub struct Agent {
    pub name: String,
    /// Scratch directory holding `data/` and the logs of every run.
    pub root: PathBuf,
    pub data_dir: PathBuf,
    /// Flags after `skiff agent --name N --data-dir D`.
    pub args: Vec<String>,
    child: Option<Child>,
    runs: u32,
}

impl Agent {
    /// An agent for node `name` with a scratch directory, not yet started.
    pub fn prepare(name: &str, args: &[&str]) -> anyhow::Result<Agent> {
        let root = crate::scratch_dir(&format!("agent-{name}"))?;
        Ok(Agent {
            name: name.into(),
            data_dir: root.join("data"),
            root,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            child: None,
            runs: 0,
        })
    }

    /// Starts the process without waiting.
    pub fn spawn(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.child.is_none(),
            "agent {} is already running",
            self.name
        );
        self.runs += 1;
        let stdout = File::create(self.log_path("stdout", self.runs))?;
        let stderr = File::create(self.log_path("stderr", self.runs))?;
        let mut command = Command::new(crate::skiff_bin());
        command
            .arg("agent")
            .arg("--name")
            .arg(&self.name)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(&self.args)
            .env(
                "SKIFF_LOG",
                std::env::var("SKIFF_TEST_AGENT_LOG")
                    .unwrap_or_else(|_| "info,skiff_agent=debug".into()),
            )
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        self.child = Some(
            command
                .spawn()
                .with_context(|| format!("spawning {command:?}"))?,
        );
        Ok(())
    }

    /// Starts the process and waits for it to exit by itself (for start-up errors).
    pub async fn run_to_exit(&mut self, limit: Duration) -> anyhow::Result<Exited> {
        self.spawn()?;
        let deadline = Instant::now() + limit;
        loop {
            let child = self.child.as_mut().context("not running")?;
            if let Some(status) = child.try_wait()? {
                self.child = None;
                return Ok(Exited {
                    status,
                    stdout: std::fs::read_to_string(self.log_path("stdout", self.runs))?,
                    stderr: self.last_stderr(),
                });
            }
            if Instant::now() >= deadline {
                self.kill9();
                bail!(
                    "agent still running after {limit:?}; stderr: {}",
                    self.last_stderr()
                );
            }
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL, then reap.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait up to `limit` for a clean exit; returns whether it exited cleanly.
    pub async fn stop(&mut self, limit: Duration) -> anyhow::Result<bool> {
        let Some(child) = self.child.as_mut() else {
            return Ok(false);
        };
        let pid = child.id().to_string();
        Command::new("kill").arg("-TERM").arg(&pid).status()?;
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                self.child = None;
                return Ok(status.success());
            }
            sleep(Duration::from_millis(50)).await;
        }
        self.kill9();
        Ok(false)
    }

    /// SIGSTOP: the agent does nothing until [`Agent::resume`].
    pub fn pause(&self) -> anyhow::Result<()> {
        self.signal("-STOP")
    }

    /// SIGCONT after [`Agent::pause`].
    pub fn resume(&self) -> anyhow::Result<()> {
        self.signal("-CONT")
    }

    fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let child = self.child.as_ref().context("agent not running")?;
        let status = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()?;
        anyhow::ensure!(status.success(), "kill {signal} {} failed", child.id());
        Ok(())
    }

    /// Fails if the process has exited (with its stderr).
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        let child = self.child.as_mut().context("agent not started")?;
        if let Some(status) = child.try_wait()? {
            self.child = None;
            bail!(
                "agent {} exited ({status}): {}",
                self.name,
                self.last_stderr()
            );
        }
        Ok(())
    }

    pub fn last_stderr(&self) -> String {
        std::fs::read_to_string(self.log_path("stderr", self.runs)).unwrap_or_default()
    }

    /// The log file of container `container` of the pod with UID `uid`.
    pub fn container_log(&self, uid: &str, container: &str) -> String {
        let path = self
            .data_dir
            .join("pods")
            .join(uid)
            .join(format!("{container}.log"));
        std::fs::read_to_string(path).unwrap_or_default()
    }

    fn log_path(&self, stream: &str, run: u32) -> PathBuf {
        self.root.join(format!("{stream}.{run}.log"))
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill9();
        remove_volumes_root(&self.data_dir);
    }
}

impl Agent {
    /// The memory volumes root the agent chose (`<data dir>/volumes-dir`), if any.
    pub fn volumes_root(&self) -> Option<PathBuf> {
        volumes_root(&self.data_dir)
    }
}

/// The memory volumes root recorded in an agent's data directory, if any.
pub fn volumes_root(agent_data_dir: &Path) -> Option<PathBuf> {
    let recorded = agent_data_dir.join(skiff_agent::volume_root::RECORD_FILE);
    let text = std::fs::read_to_string(recorded).ok()?;
    Some(PathBuf::from(text))
}

/// Removes the memory volumes root an agent with data in `agent_data_dir` recorded (under
/// `/dev/shm` by default: it outlives the agent's process and the test's scratch directory).
pub fn remove_volumes_root(agent_data_dir: &Path) {
    if let Some(root) = volumes_root(agent_data_dir)
        && let Err(e) = std::fs::remove_dir_all(&root)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        eprintln!("could not remove volumes root {}: {e}", root.display());
    }
}

/// Creates node `agent.name`'s token Secret as an admin and writes the agent's
/// `credential.json` for `replica`: what joining will hand out.
pub async fn node_credential(
    kubectl: &Kubectl,
    replica: &Replica,
    agent: &Agent,
) -> anyhow::Result<()> {
    let token = format!("{:032x}", rand::random::<u128>());
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let secret = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret", "type": "skiff.io/node-token",
        "metadata": {"name": format!("node-token-{}", agent.name), "namespace": "kube-system"},
        "data": {"token": b64(&token), "node-name": b64(&agent.name)},
    });
    kubectl
        .ok_stdin(&["apply", "-f", "-"], &secret.to_string())
        .await?;
    let ca = std::fs::read_to_string(replica.data_dir.join("pki/ca.crt"))?;
    let credential = serde_json::json!({
        "nodeName": agent.name, "token": token, "servers": [replica.url()], "caCert": ca,
    });
    std::fs::create_dir_all(&agent.data_dir)?;
    std::fs::write(
        agent.data_dir.join("credential.json"),
        credential.to_string(),
    )?;
    Ok(())
}
