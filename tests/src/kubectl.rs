//! [`Kubectl`]: the real `/usr/bin/kubectl` run as a subprocess against one replica, with its
//! own discovery cache directory, bounded in time; [`KubectlWatch`] for `kubectl get -w`.
//! Also [`Kubectl::get_through_port_forward`], one HTTP GET through `kubectl port-forward`, and
//! [`kubeconfig_for`], the admin kubeconfig of a cluster pointed at any replica's URL.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::{Instant, timeout};

use crate::process::Replica;

/// Longest a single kubectl run may take (discovery plus a few requests, or a `--wait`).
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// What one kubectl run printed and how it exited.
#[derive(Debug)]
pub struct KubectlOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

pub struct Kubectl {
    /// The kubectl binary: `kubectl` on the PATH, or another version ([`Kubectl::with_program`]).
    pub program: PathBuf,
    pub kubeconfig: PathBuf,
    /// A cache directory of its own: kubectl caches discovery and OpenAPI for hours.
    pub cache_dir: PathBuf,
    /// Run inside this network namespace (`ip netns exec`), to reach a server in it.
    pub netns: Option<String>,
}

impl Kubectl {
    /// kubectl driving the cluster described by `kubeconfig`, with a fresh cache directory.
    pub fn new(kubeconfig: &Path) -> anyhow::Result<Kubectl> {
        Ok(Kubectl {
            program: PathBuf::from("kubectl"),
            kubeconfig: kubeconfig.to_owned(),
            cache_dir: crate::scratch_dir("kubectl-cache")?,
            netns: None,
        })
    }

    /// kubectl driving `replica` with the admin kubeconfig it wrote.
    pub fn for_replica(replica: &Replica) -> anyhow::Result<Kubectl> {
        Kubectl::new(&replica.data_dir.join("admin.kubeconfig"))
    }

    /// The same, run with the kubectl binary at `program` (an older version).
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Kubectl {
        self.program = program.into();
        self
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&self.program);
                c
            }
            None => Command::new(&self.program),
        };
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache_dir)
            .args(args)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Runs kubectl with `args`, feeding `stdin` (e.g. a manifest for `-f -`).
    pub async fn run(&self, args: &[&str], stdin: &str) -> anyhow::Result<KubectlOutput> {
        self.run_with_env(args, stdin, &[]).await
    }

    /// [`Kubectl::run`] with more environment variables (e.g. `EDITOR` for `kubectl edit`).
    pub async fn run_with_env(
        &self,
        args: &[&str],
        stdin: &str,
        env: &[(&str, &str)],
    ) -> anyhow::Result<KubectlOutput> {
        let mut child = self
            .command(args)
            .envs(env.iter().copied())
            .spawn()
            .context("spawning kubectl (is /usr/bin/kubectl installed?)")?;
        let mut input = child.stdin.take().context("kubectl stdin")?;
        input.write_all(stdin.as_bytes()).await?;
        drop(input);
        let output = timeout(RUN_LIMIT, child.wait_with_output())
            .await
            .with_context(|| format!("kubectl {args:?} still running after {RUN_LIMIT:?}"))??;
        Ok(KubectlOutput {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// Runs kubectl and requires success; returns its standard output.
    pub async fn ok(&self, args: &[&str]) -> anyhow::Result<String> {
        self.ok_stdin(args, "").await
    }

    /// [`Kubectl::ok`] with `stdin` fed to the process.
    pub async fn ok_stdin(&self, args: &[&str], stdin: &str) -> anyhow::Result<String> {
        let out = self.run(args, stdin).await?;
        ensure!(
            out.success,
            "kubectl {args:?} failed:\nstdout: {}\nstderr: {}",
            out.stdout,
            out.stderr
        );
        Ok(out.stdout)
    }

    /// Runs kubectl and requires failure; returns its standard error.
    pub async fn fails(&self, args: &[&str], stdin: &str) -> anyhow::Result<String> {
        let out = self.run(args, stdin).await?;
        ensure!(
            !out.success,
            "kubectl {args:?} succeeded, expected an error:\nstdout: {}",
            out.stdout
        );
        Ok(out.stderr)
    }

    /// Starts a long-running kubectl (e.g. `get -w`) whose output is read line by line.
    pub fn spawn(&self, args: &[&str]) -> anyhow::Result<KubectlWatch> {
        let mut child = self.command(args).spawn().context("spawning kubectl")?;
        let stdout = child.stdout.take().context("kubectl stdout")?;
        Ok(KubectlWatch {
            child,
            lines: BufReader::new(stdout).lines(),
            seen: Vec::new(),
        })
    }

    /// One HTTP GET of `path` through `kubectl port-forward <target> :<port>` (a pod, a
    /// Deployment or a Service); the whole answer, which must be a 200.
    pub async fn get_through_port_forward(
        &self,
        target: &str,
        port: u16,
        path: &str,
    ) -> anyhow::Result<String> {
        let mut forward = self.spawn(&["port-forward", target, &format!(":{port}")])?;
        let prefix = "Forwarding from 127.0.0.1:";
        let line = forward
            .line_matching(Duration::from_secs(30), |l| l.starts_with(prefix))
            .await?;
        let local: u16 = line
            .trim_start_matches(prefix)
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .with_context(|| format!("no port in {line:?}"))?;
        let answer = crate::http_get(([127, 0, 0, 1], local).into(), path).await;
        forward.kill().await?;
        answer
    }
}

/// A running kubectl whose standard output is read line by line; killed when dropped.
pub struct KubectlWatch {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    /// Every line read so far.
    pub seen: Vec<String>,
}

impl KubectlWatch {
    /// Reads lines until one satisfies `want`, failing after `limit` or at end of output.
    pub async fn line_matching(
        &mut self,
        limit: Duration,
        want: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match timeout(left, self.lines.next_line()).await {
                Ok(line) => line?,
                Err(_) => bail!("no matching line within {limit:?}; saw {:?}", self.seen),
            };
            let Some(line) = line else {
                bail!("kubectl output ended; saw {:?}", self.seen);
            };
            self.seen.push(line.clone());
            if want(&line) {
                return Ok(line);
            }
        }
    }

    /// SIGKILL and reap.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

/// Writes a copy of `replica`'s admin kubeconfig whose server is `server_url` (another
/// replica: the serving certificates of every replica cover 127.0.0.1).
pub fn kubeconfig_for(replica: &Replica, server_url: &str) -> anyhow::Result<PathBuf> {
    let source = replica.data_dir.join("admin.kubeconfig");
    let text = std::fs::read_to_string(&source)
        .with_context(|| format!("reading {}", source.display()))?;
    let mut replaced = 0;
    let rewritten: Vec<String> = text
        .lines()
        .map(|line| match line.trim_start().strip_prefix("server: ") {
            Some(_) => {
                replaced += 1;
                let indent = &line[..line.len() - line.trim_start().len()];
                format!("{indent}server: {server_url}")
            }
            None => line.to_owned(),
        })
        .collect();
    ensure!(replaced == 1, "expected one server line in {text}");
    let path = crate::scratch_dir("kubeconfig")?.join("config");
    std::fs::write(&path, rewritten.join("\n") + "\n")?;
    Ok(path)
}
