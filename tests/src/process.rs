//! [`Replica`]: one `skiff server` child process with its own scratch data directory, stdout and
//! stderr captured to files beside it, killed (SIGKILL) when the handle drops.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::time::{Instant, sleep};

use crate::client::KvClient;
use crate::{Exited, free_port};

/// How a replica is started.
#[derive(Clone, Debug)]
pub struct ReplicaOptions {
    /// Names the scratch directory (`skiff-test-<label>-*`).
    pub label: String,
    /// The address to listen on; the port is chosen free at first start and kept.
    pub ip: IpAddr,
    /// Run inside this network namespace (`ip netns exec`).
    pub netns: Option<String>,
    /// Flags after `skiff <command> --data-dir D --listen A`.
    pub args: Vec<String>,
    /// `server` (a replica), or `up` (a replica and a node agent in one process).
    pub command: &'static str,
    /// Environment variables set for the process (settings that have no flag).
    pub env: Vec<(String, String)>,
}

impl ReplicaOptions {
    pub fn new(label: &str) -> Self {
        ReplicaOptions {
            label: label.into(),
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            netns: None,
            args: Vec::new(),
            command: "server",
            env: Vec::new(),
        }
    }

    /// `skiff up`: the whole single-node cluster in one process.
    pub fn up(label: &str) -> Self {
        ReplicaOptions {
            command: "up",
            ..ReplicaOptions::new(label)
        }
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets `name=value` in the process's environment.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }
}

pub struct Replica {
    pub options: ReplicaOptions,
    /// Scratch directory holding `data/` and the logs of every run.
    pub root: PathBuf,
    pub data_dir: PathBuf,
    pub addr: SocketAddr,
    /// The Raft id printed on the `serving` line (0 until the first start succeeds).
    pub id: u64,
    child: Option<Child>,
    /// Number of processes started so far; names the log files.
    runs: u32,
}

/// How long a start (including a join, which waits to become a voter) may take.
const READY_LIMIT: Duration = Duration::from_secs(60);

impl Replica {
    /// A replica with a scratch directory and a free port, not yet started.
    pub fn prepare(options: ReplicaOptions) -> anyhow::Result<Replica> {
        let root = crate::scratch_dir(&options.label)?;
        let data_dir = root.join("data");
        let addr = SocketAddr::new(options.ip, free_port()?);
        Ok(Replica {
            options,
            root,
            data_dir,
            addr,
            id: 0,
            child: None,
            runs: 0,
        })
    }

    /// Starts a new replica and waits until it serves, retrying on another port if the chosen
    /// one was taken in the meantime.
    pub async fn start(options: ReplicaOptions) -> anyhow::Result<Replica> {
        let mut replica = Replica::prepare(options)?;
        for _ in 0..5 {
            replica.spawn()?;
            match replica.wait_ready(READY_LIMIT).await {
                Ok(()) => return Ok(replica),
                Err(e) if replica.last_stderr().contains("in use") => {
                    eprintln!(
                        "{}: port {} taken, retrying: {e:#}",
                        replica.options.label, replica.addr
                    );
                    replica.addr.set_port(free_port()?);
                }
                Err(e) => return Err(e),
            }
        }
        bail!("{}: no free port after 5 attempts", replica.options.label)
    }

    /// Starts the process (same data directory, port and flags as before) without waiting.
    pub fn spawn(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.child.is_none(),
            "{} is already running",
            self.options.label
        );
        self.runs += 1;
        let stdout = File::create(self.log_path("stdout", self.runs))?;
        let stderr = File::create(self.log_path("stderr", self.runs))?;
        let mut command = match &self.options.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(crate::skiff_bin());
                c
            }
            None => Command::new(crate::skiff_bin()),
        };
        command
            .arg(self.options.command)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--listen")
            .arg(self.addr.to_string())
            .args(&self.options.args)
            // `skiff up` writes its context into the user's kubeconfig: keep it in the scratch
            // directory, never in the home directory of whoever runs the tests.
            .env("KUBECONFIG", self.user_kubeconfig())
            .envs(self.options.env.iter().map(|(k, v)| (k, v)))
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

    /// Waits for the `serving` line of the current run; fails if the process exits first.
    pub async fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let out =
                std::fs::read_to_string(self.log_path("stdout", self.runs)).unwrap_or_default();
            if let Some(line) = out.lines().find(|l| l.contains(" serving ")) {
                if self.options.command == "up" {
                    // `skiff up: cluster serving <url> (node <name>)`: no replica id.
                    return Ok(());
                }
                let id = line
                    .split_whitespace()
                    .nth(3)
                    .context("no id on the serving line")?;
                self.id =
                    u64::from_str_radix(id, 16).with_context(|| format!("bad id in {line:?}"))?;
                return Ok(());
            }
            let child = self.child.as_mut().context("not running")?;
            if let Some(status) = child.try_wait()? {
                self.child = None;
                bail!(
                    "{} exited ({status}) before serving: {}",
                    self.options.label,
                    self.last_stderr().trim()
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} not serving after {limit:?}; stderr: {}",
                    self.options.label,
                    self.last_stderr()
                );
            }
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts the process and waits for it to exit by itself (for start-up errors).
    pub async fn run_to_exit(&mut self, limit: Duration) -> anyhow::Result<Exited> {
        self.spawn()?;
        let deadline = Instant::now() + limit;
        loop {
            let child = self.child.as_mut().context("not running")?;
            if let Some(status) = child.try_wait()? {
                self.child = None;
                let stdout = std::fs::read_to_string(self.log_path("stdout", self.runs))?;
                return Ok(Exited {
                    status,
                    stdout,
                    stderr: self.last_stderr(),
                });
            }
            if Instant::now() >= deadline {
                self.kill9();
                bail!(
                    "{} still running after {limit:?}; stderr: {}",
                    self.options.label,
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

    /// SIGTERM (a clean shutdown); SIGKILL if it has not exited within 10 s.
    pub async fn stop(&mut self) {
        let Some(child) = self.child.as_mut() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        for _ in 0..200 {
            if matches!(child.try_wait(), Ok(Some(_))) {
                self.child = None;
                return;
            }
            sleep(Duration::from_millis(50)).await;
        }
        self.kill9();
    }

    /// SIGSTOP: the process neither sends nor answers (the kernel still accepts connections).
    pub fn pause(&self) -> anyhow::Result<()> {
        self.signal("-STOP")
    }

    /// SIGCONT after [`Replica::pause`].
    pub fn resume(&self) -> anyhow::Result<()> {
        self.signal("-CONT")
    }

    fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let child = self.child.as_ref().context("not running")?;
        let status = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()?;
        anyhow::ensure!(status.success(), "kill {signal} {} failed", child.id());
        Ok(())
    }

    /// Starts again with the same command line and waits until it serves.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.spawn()?;
        self.wait_ready(READY_LIMIT).await
    }

    /// The process id of the running process.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The join token this replica wrote (`<data-dir>/token`).
    pub fn join_token(&self) -> anyhow::Result<String> {
        Ok(read(&self.data_dir.join("token"))?.trim().to_owned())
    }

    /// The node join token this replica wrote (`<data-dir>/agent-token`).
    pub fn agent_token(&self) -> anyhow::Result<String> {
        Ok(read(&self.data_dir.join("agent-token"))?.trim().to_owned())
    }

    /// A KV client for this replica, authenticated with its admin token and CA.
    pub fn client(&self) -> anyhow::Result<KvClient> {
        let token = read(&self.data_dir.join("admin-token"))?;
        let ca = read(&self.data_dir.join("pki/ca.crt"))?;
        KvClient::new(&self.url(), token.trim(), ca.as_bytes())
    }

    /// Standard error of the latest run.
    pub fn last_stderr(&self) -> String {
        std::fs::read_to_string(self.log_path("stderr", self.runs)).unwrap_or_default()
    }

    /// Standard error of every run so far, oldest first.
    pub fn all_stderr(&self) -> String {
        (1..=self.runs)
            .map(|run| std::fs::read_to_string(self.log_path("stderr", run)).unwrap_or_default())
            .collect()
    }

    /// The kubeconfig `skiff up` merges its context into (`$KUBECONFIG` of the process).
    pub fn user_kubeconfig(&self) -> PathBuf {
        self.root.join("user.kubeconfig")
    }

    fn log_path(&self, stream: &str, run: u32) -> PathBuf {
        self.root.join(format!("{stream}.{run}.log"))
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill9();
        if self.options.command == "up" {
            // `skiff up`'s agent keeps its data in `<data dir>/agent`.
            crate::agent::remove_volumes_root(&self.data_dir.join("agent"));
        }
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}
