//! Kill -9 one follower of three, write past the purged log, restart it: it catches up through
//! a snapshot. openraft's leader keeps the log that a lagging follower's replication stream
//! still covers (it does not purge behind a dead follower), so the test makes the *other*
//! follower lead: it kills the leader too before restarting the first one. That follower
//! purged its log behind its own snapshots, so it can only send a snapshot. The snapshot
//! replaces the restarted replica's history: it answers 410 for a revision from before it,
//! which the others still serve.

use std::time::Duration;

use anyhow::{Context, bail};
use skiff_tests::{Cluster, ReplicaOptions, run_bounded};

const PREFIX: &str = "snap/";
/// More than openraft keeps behind a snapshot (1000 entries) plus one snapshot interval (50).
const WRITES_WHILE_DOWN: usize = 1_500;
const WRITERS: usize = 8;

#[test]
fn a_restarted_follower_behind_the_purged_log_catches_up_through_a_snapshot() {
    run_bounded("snapshot_catch_up", Duration::from_secs(240), scenario());
}

async fn scenario() -> anyhow::Result<()> {
    let options =
        |i: usize| ReplicaOptions::new(&format!("snap{i}")).args(["--snapshot-every", "50"]);
    let mut cluster = Cluster::start(3, options).await?;
    let leader = cluster.leader(Duration::from_secs(10)).await?;
    cluster.clients[leader]
        .put(&format!("{PREFIX}before"), "v")
        .await?;
    let down = (leader + 1) % 3;
    let first = cluster.clients[leader]
        .range(PREFIX, true, false, None)
        .await?
        .revision;
    cluster
        .converged(PREFIX, first, Duration::from_secs(10))
        .await?;
    cluster.replicas[down].kill9();

    let tasks = (0..WRITERS).map(|w| {
        let client = cluster.clients[leader].clone();
        async move {
            for n in (w..WRITES_WHILE_DOWN).step_by(WRITERS) {
                client
                    .put(&format!("{PREFIX}during/{n}"), "v")
                    .await
                    .with_context(|| format!("write {n}"))?;
            }
            anyhow::Ok(())
        }
    });
    futures::future::try_join_all(tasks).await?;
    let last = cluster.clients[leader]
        .range(PREFIX, true, false, None)
        .await?
        .revision;

    // The leader goes too; the restarted replica and the other follower elect the follower,
    // whose log is ahead.
    cluster.replicas[leader].kill9();
    cluster.replicas[down].restart().await?;
    let new_leader = cluster.leader(Duration::from_secs(20)).await?;
    anyhow::ensure!(
        new_leader != down,
        "the replica that missed {WRITES_WHILE_DOWN} writes was elected"
    );
    cluster.replicas[leader].restart().await?;
    let view = cluster
        .converged(PREFIX, last, Duration::from_secs(60))
        .await?;
    anyhow::ensure!(
        view.len() == 1 + WRITES_WHILE_DOWN,
        "{} keys after the restart, expected {}",
        view.len(),
        1 + WRITES_WHILE_DOWN
    );
    let old = first + 1;
    cluster.clients[new_leader]
        .range(PREFIX, true, true, Some(old))
        .await
        .context("old revision on the new leader")?;
    match cluster.clients[down]
        .range(PREFIX, true, true, Some(old))
        .await
    {
        Err(e) if e.status().map(|s| s.as_u16()) == Some(410) => Ok(()),
        other => bail!(
            "the restarted replica still serves revision {old} ({other:?}): it did not catch up \
             through a snapshot"
        ),
    }
}
