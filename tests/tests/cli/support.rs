//! The `skiff` CLI as a subprocess against one cluster (`--kubeconfig`), bounded in time, and
//! the polling the steps share.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use skiff_tests::skiff_bin;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::{Instant, timeout};

/// Longest one CLI run may take (a `run --wait` included).
const RUN_LIMIT: Duration = Duration::from_secs(120);
/// How long one condition may take to hold.
pub const WAIT: Duration = Duration::from_secs(90);

/// What one run printed and its exit code.
#[derive(Debug)]
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// The skiff CLI pointed at one kubeconfig.
pub struct Skiff {
    pub kubeconfig: PathBuf,
}

impl Skiff {
    pub fn new(kubeconfig: &Path) -> Skiff {
        Skiff {
            kubeconfig: kubeconfig.to_owned(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(skiff_bin());
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Runs `skiff <args>` with `stdin`, whatever its outcome.
    pub async fn run(&self, args: &[&str], stdin: &str) -> anyhow::Result<Ran> {
        let mut child = self.command(args).spawn().context("spawning skiff")?;
        let mut input = child.stdin.take().context("stdin")?;
        input.write_all(stdin.as_bytes()).await?;
        drop(input);
        let out = timeout(RUN_LIMIT, child.wait_with_output())
            .await
            .with_context(|| format!("skiff {args:?} still running after {RUN_LIMIT:?}"))??;
        Ok(Ran {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// `skiff <args>`, required to exit 0; its stdout.
    pub async fn ok(&self, args: &[&str]) -> anyhow::Result<String> {
        self.ok_stdin(args, "").await
    }

    pub async fn ok_stdin(&self, args: &[&str], stdin: &str) -> anyhow::Result<String> {
        let ran = self.run(args, stdin).await?;
        if ran.code != Some(0) {
            bail!(
                "skiff {args:?} exited {:?}: {}{}",
                ran.code,
                ran.stdout,
                ran.stderr
            );
        }
        Ok(ran.stdout)
    }

    /// `skiff <args>`, required to exit 1 without a panic; its stderr.
    pub async fn fails(&self, args: &[&str], stdin: &str) -> anyhow::Result<String> {
        let ran = self.run(args, stdin).await?;
        if ran.code != Some(1) || ran.stderr.contains("panicked") {
            bail!(
                "skiff {args:?}: expected exit code 1, got {:?}: {}{}",
                ran.code,
                ran.stdout,
                ran.stderr
            );
        }
        Ok(ran.stderr)
    }

    /// A long-running `skiff <args>` (`logs -f`) read line by line; killed when dropped.
    pub fn spawn(&self, args: &[&str]) -> anyhow::Result<Following> {
        let mut child = self.command(args).spawn().context("spawning skiff")?;
        let stdout = child.stdout.take().context("stdout")?;
        Ok(Following {
            _child: child,
            lines: BufReader::new(stdout).lines(),
            seen: Vec::new(),
        })
    }
}

/// A running skiff whose output is read line by line.
pub struct Following {
    _child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    pub seen: Vec<String>,
}

impl Following {
    /// Reads lines until one satisfies `want`.
    pub async fn line_matching(&mut self, want: impl Fn(&str) -> bool) -> anyhow::Result<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match timeout(left, self.lines.next_line()).await {
                Ok(line) => line?,
                Err(_) => bail!("no matching line within {WAIT:?}; saw {:?}", self.seen),
            };
            let Some(line) = line else {
                bail!("the output ended; saw {:?}", self.seen);
            };
            self.seen.push(line.clone());
            if want(&line) {
                return Ok(line);
            }
        }
    }
}

/// Polls `check` until it holds or [`WAIT`] passes.
pub async fn poll<F, Fut>(what: &str, check: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    skiff_tests::fleet::poll(what, WAIT, check).await
}

/// The .wasm of example guest `name`.
pub fn guest(name: &str) -> anyhow::Result<String> {
    skiff_tests::fleet::example(name)
}
