//! `bench/dashboard/page.mjs` as a subprocess: the first-load runs, and a page left open.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::timeout;

/// How long the browser may take to open a view with 1,000 pods.
const OPEN_LIMIT: Duration = Duration::from_secs(180);

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dashboard/page.mjs")
}

fn node(args: &[&str]) -> anyhow::Result<(Child, Lines<BufReader<ChildStdout>>)> {
    let mut child = Command::new("node")
        .arg(script())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("starting node (scripts/setup.sh installs it and playwright-core)")?;
    let stdout = child.stdout.take().context("no stdout")?;
    Ok((child, BufReader::new(stdout).lines()))
}

/// One first load in a fresh browser context (nothing cached).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirstLoad {
    /// From navigation start to the sign-in form being usable.
    pub interactive_ms: f64,
    /// From "Sign in" to the overview showing the nodes and every pod.
    pub overview_ms: f64,
    /// The page and its files (not the API calls).
    pub files: usize,
    /// Bytes on the wire (headers included), the compressed bodies, and the files' own size.
    pub transfer_bytes: u64,
    pub body_bytes: u64,
    pub decoded_bytes: u64,
}

/// Runs `runs` first loads against `url` signed in with `token`.
pub async fn first_load(
    url: &str,
    token: &str,
    runs: usize,
    pods: usize,
) -> anyhow::Result<Vec<FirstLoad>> {
    let (runs_text, pods_text) = (runs.to_string(), pods.to_string());
    let (mut child, mut lines) = node(&["first-load", url, token, &runs_text, &pods_text])?;
    let mut loads = Vec::new();
    let reading = async {
        while let Some(line) = lines.next_line().await? {
            loads.push(serde_json::from_str::<FirstLoad>(&line).with_context(|| line.clone())?);
        }
        anyhow::Ok(())
    };
    timeout(OPEN_LIMIT * runs as u32, reading)
        .await
        .context("first loads ran out of time")??;
    let status = child.wait().await?;
    if !status.success() || loads.len() != runs {
        bail!(
            "page.mjs first-load: {status}, {} of {runs} runs",
            loads.len()
        );
    }
    Ok(loads)
}

/// What an open page showed at the end of its window.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shown {
    pub rows: usize,
    pub max_restarts: Option<u64>,
    pub browser_cpu_seconds: f64,
}

/// A browser with the dashboard open on one view, live.
pub struct LivePage {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl LivePage {
    /// Opens `view` (`pods` or `overview`) and returns once it shows `pods` pods; the page
    /// stays open `seconds`.
    pub async fn open(
        url: &str,
        token: &str,
        view: &str,
        pods: usize,
        seconds: u64,
    ) -> anyhow::Result<LivePage> {
        let (pods_text, seconds_text) = (pods.to_string(), seconds.to_string());
        let (child, mut lines) = node(&["live", url, token, view, &pods_text, &seconds_text])?;
        let line = timeout(OPEN_LIMIT, lines.next_line())
            .await
            .context("the page did not show every pod in time")??
            .context("page.mjs ended before the view was ready")?;
        if !line.contains("\"ready\"") {
            bail!("page.mjs: {line}");
        }
        Ok(LivePage { child, lines })
    }

    /// Waits for the end of the window: what the page shows then.
    pub async fn finish(mut self) -> anyhow::Result<Shown> {
        let line = timeout(OPEN_LIMIT, self.lines.next_line())
            .await
            .context("the page did not report")??
            .context("page.mjs ended without a report")?;
        let shown = serde_json::from_str(&line).with_context(|| line.clone())?;
        self.child.wait().await?;
        Ok(shown)
    }
}
