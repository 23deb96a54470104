//! `logs -l` over three pods on two nodes (run inside the monitoring scenario, on its
//! cluster): kubectl's and skiff's, each line prefixed `[pod/NAME/CONTAINER]`, and `-f`
//! following all three at once (each pod's readiness probe writes a line a second).

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, ensure};
use skiff_tests::Fleet;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::time::{Instant, timeout};

/// The pods `-l tier=mon` selects.
pub const PODS: [&str; 3] = ["mon-pod-a", "mon-pod-b", "mon-pod-c"];

/// How long following may take to show a line of every pod.
const FOLLOW: Duration = Duration::from_secs(30);

/// The pods whose `[pod/NAME/web] ` prefix starts a line of `text`.
fn prefixed_pods(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("[pod/")?.split_once("/web] "))
        .map(|(pod, _)| pod.to_owned())
        .collect()
}

fn all_pods() -> BTreeSet<String> {
    PODS.iter().map(|p| (*p).to_owned()).collect()
}

pub async fn check(fleet: &Fleet) -> anyhow::Result<()> {
    let mut label = vec!["label", "pod"];
    label.extend(PODS);
    label.push("tier=mon");
    fleet.kubectl.ok(&label).await?;

    let kubectl = fleet
        .kubectl
        .ok(&["logs", "-l", "tier=mon", "--prefix", "--tail", "2"])
        .await?;
    ensure!(
        prefixed_pods(&kubectl) == all_pods(),
        "kubectl logs -l:\n{kubectl}"
    );
    let skiff = skiff_logs(fleet, &["-l", "tier=mon", "--prefix"]).await?;
    ensure!(
        prefixed_pods(&skiff) == all_pods(),
        "skiff logs -l:\n{skiff}"
    );
    ensure!(
        skiff.lines().count() <= 30,
        "without --tail a selector shows 10 lines a pod:\n{skiff}"
    );
    let refused = skiff_logs(fleet, &["-l", "tier=mon", "-f", "--max-log-requests", "2"]).await;
    let refusal = format!("{refused:?}");
    ensure!(
        refusal.contains(
            "you are attempting to follow 3 log streams, but maximum allowed concurrency is 2"
        ),
        "{refusal}"
    );
    follow_all(fleet).await
}

/// `skiff logs ARGS` to its end: its stdout, or an error with its stderr.
async fn skiff_logs(fleet: &Fleet, args: &[&str]) -> anyhow::Result<String> {
    let output = skiff(fleet, args).output().await?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(output.status.success(), "skiff logs {args:?}: {stderr}");
    Ok(String::from_utf8(output.stdout)?)
}

fn skiff(fleet: &Fleet, args: &[&str]) -> Command {
    let mut command = Command::new(skiff_tests::skiff_bin());
    command
        .arg("--kubeconfig")
        .arg(&fleet.kubectl.kubeconfig)
        .arg("logs")
        .args(args)
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// `skiff logs -l tier=mon -f --prefix --tail 0` shows new lines of all three pods,
/// interleaved, while it follows.
async fn follow_all(fleet: &Fleet) -> anyhow::Result<()> {
    let mut child = skiff(fleet, &["-l", "tier=mon", "-f", "--prefix", "--tail", "0"]).spawn()?;
    let stdout = child.stdout.take().context("skiff logs stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + FOLLOW;
    let mut seen = Vec::new();
    while prefixed_pods(&seen.join("\n")) != all_pods() {
        let left = deadline.saturating_duration_since(Instant::now());
        match timeout(left, lines.next_line()).await {
            Ok(Ok(Some(line))) => seen.push(line),
            Ok(Ok(None)) => anyhow::bail!("skiff logs -f ended; saw {seen:?}"),
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => anyhow::bail!("not every pod's new lines within {FOLLOW:?}; saw {seen:?}"),
        }
    }
    child.kill().await?;
    Ok(())
}
