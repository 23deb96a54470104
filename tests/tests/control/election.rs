//! Leader election on a Lease through the API: of two candidates exactly one leads; when it
//! stops, it releases the Lease and the other takes over at once; the two never lead at the
//! same time.

use std::time::Duration;

use anyhow::{Context, bail};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use skiff_election::{Elector, ElectorConfig};
use skiff_tests::run_bounded;
use tokio::sync::watch;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

use crate::support::one_replica;

#[test]
fn one_candidate_leads_and_hands_over_on_shutdown() {
    run_bounded("lease_election", Duration::from_secs(90), scenario());
}

fn config(identity: &str) -> ElectorConfig {
    ElectorConfig {
        lease_duration: Duration::from_secs(3),
        renew_deadline: Duration::from_secs(2),
        retry_period: Duration::from_millis(200),
        ..ElectorConfig::new("kube-system", "skiff-test-lease", identity)
    }
}

async fn scenario() -> anyhow::Result<()> {
    let (_replica, client) = one_replica("elect").await?;
    let stops = [CancellationToken::new(), CancellationToken::new()];
    let mut leading = Vec::new();
    let mut tasks = Vec::new();
    for (i, stop) in stops.iter().enumerate() {
        let (elector, rx) = Elector::new(client.clone(), config(&format!("candidate-{i}")));
        leading.push(rx);
        tasks.push(tokio::spawn(elector.run(stop.clone())));
    }
    let first = sole_leader(&leading, Duration::from_secs(10)).await?;
    let lease = Api::<Lease>::namespaced(client.clone(), "kube-system")
        .get("skiff-test-lease")
        .await?;
    let holder = lease
        .spec
        .and_then(|s| s.holder_identity)
        .context("no holder")?;
    anyhow::ensure!(
        holder == format!("candidate-{first}"),
        "the Lease names {holder}"
    );

    // Watch both for a while: never two leaders.
    let watch_until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < watch_until {
        anyhow::ensure!(leaders(&leading).len() <= 1, "two leaders at once");
        sleep(Duration::from_millis(20)).await;
    }

    let handover = Instant::now();
    stops[first].cancel();
    // Its run publishes that it stopped leading, releases the Lease, and returns.
    tasks.remove(first).await?;
    anyhow::ensure!(
        !*leading[first].borrow(),
        "the stopped candidate still says it leads"
    );
    let second = sole_leader(&leading, Duration::from_secs(5)).await?;
    anyhow::ensure!(second != first, "the stopped candidate still leads");
    // Released, not expired: the other candidate takes over within a few retry periods.
    anyhow::ensure!(
        handover.elapsed() < Duration::from_secs(2),
        "handover took {:?}",
        handover.elapsed()
    );
    stops[second].cancel();
    for task in tasks {
        task.await?;
    }
    Ok(())
}

fn leaders(leading: &[watch::Receiver<bool>]) -> Vec<usize> {
    (0..leading.len())
        .filter(|&i| *leading[i].borrow())
        .collect()
}

/// Waits until exactly one candidate leads; its index.
async fn sole_leader(leading: &[watch::Receiver<bool>], limit: Duration) -> anyhow::Result<usize> {
    let deadline = Instant::now() + limit;
    loop {
        let now = leaders(leading);
        if now.len() == 1 {
            return Ok(now[0]);
        }
        if Instant::now() >= deadline {
            bail!("leaders after {limit:?}: {now:?}");
        }
        sleep(Duration::from_millis(20)).await;
    }
}
