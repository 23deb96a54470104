//! What both Jepsen tests do after the faults: heal the cluster, let it converge, fetch every
//! replica's change log, and check the history and the logs; failures that the checkers found
//! (not harness errors) say `JEPSEN VIOLATION`.

use std::time::Duration;

use anyhow::{Context, bail};
use skiff_tests::Cluster;
use skiff_tests::jepsen::changelog::{self, Change};
use skiff_tests::jepsen::{Budget, Entry, Nemesis, check, check_summary, nemesis, op_summary};
use tokio::time::Instant;

/// Flags that keep every revision for the whole test, so the change logs are complete.
pub const KEEP_HISTORY: [&str; 4] = [
    "--history-revisions",
    "10000000",
    "--history-seconds",
    "3600",
];

/// How long the faults run: `JEPSEN_SECONDS`, else `default`.
pub fn seconds(default: u64) -> anyhow::Result<u64> {
    match std::env::var("JEPSEN_SECONDS") {
        Ok(s) => s.parse().context("JEPSEN_SECONDS"),
        Err(_) => Ok(default),
    }
}

/// Heals every replica, waits for a leader and for all replicas to converge on `prefix`, and
/// returns each replica's change log of the whole store. Replicas that never converge are not
/// an error here: their logs are what shows how they differ.
pub async fn heal_and_fetch_logs(
    cluster: &mut Cluster,
    prefix: &str,
) -> anyhow::Result<Vec<Vec<Change>>> {
    nemesis::heal(cluster).await.context("healing")?;
    let leader = cluster
        .leader(Duration::from_secs(30))
        .await
        .context("no leader after healing")?;
    let revision = cluster.clients[leader]
        .range(prefix, true, false, None)
        .await
        .context("reading through the leader after healing")?
        .revision;
    if let Err(e) = cluster
        .converged(prefix, revision, Duration::from_secs(60))
        .await
    {
        eprintln!("jepsen: {e:#}");
    }
    let mut logs = Vec::new();
    for (i, client) in cluster.clients.iter().enumerate() {
        let log = changelog::fetch(client, "/")
            .await
            .with_context(|| format!("fetching the change log of replica {i}"))?;
        eprintln!(
            "jepsen: replica {i} change log: {} changes up to revision {}",
            log.len(),
            log.last().map_or(0, |c| c.revision)
        );
        logs.push(log);
    }
    Ok(logs)
}

/// Prints the summary, checks the history per key, compares the change logs, and checks them
/// against the history once `registers` has turned them into changes of the history's keys and
/// values (for keys under `prefix`).
pub async fn check_all(
    entries: Vec<Entry>,
    nemesis: &Nemesis,
    logs: Vec<Vec<Change>>,
    registers: fn(&[Change]) -> Vec<Change>,
    prefix: &str,
) -> anyhow::Result<()> {
    eprintln!("jepsen: {}", nemesis.summary());
    eprintln!("jepsen: {}", op_summary(&entries));
    let started = Instant::now();
    let (entries, (stats, linearizable)) = tokio::task::spawn_blocking(move || {
        let verdict = check(&entries, Budget::default());
        (entries, verdict)
    })
    .await?;
    eprintln!(
        "jepsen: linearizability checked in {:.1?}: {}",
        started.elapsed(),
        check_summary(&stats)
    );
    let mut problems = Vec::new();
    if let Err(e) = linearizable {
        problems.push(e.to_string());
    }
    if let Err(e) = changelog::compare(&logs) {
        problems.push(e.to_string());
    }
    for (i, log) in logs.iter().enumerate() {
        if let Err(e) = changelog::check_history(&registers(log), &entries, prefix) {
            problems.push(format!("replica {i}: {e}"));
        }
    }
    if problems.is_empty() {
        eprintln!(
            "jepsen: linearizable, change logs agree; {} faults survived",
            nemesis.total()
        );
        return Ok(());
    }
    for p in &problems {
        eprintln!("JEPSEN VIOLATION: {p}");
    }
    bail!("JEPSEN VIOLATION: {}", problems.join("\n"))
}
