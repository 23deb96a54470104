//! Cut the leader of three off from the other replicas: the majority elects a new leader and
//! serves again within a stated bound; the isolated old leader acknowledges no write and serves
//! no stale linearizable read; after healing it follows the new leader and converges.
//!
//! Needs network namespaces for the isolated-but-running leader. Without them (see
//! `partition.rs`) the fallback pauses the leader (SIGSTOP), which checks the election and that
//! a leader resuming from a long stall converges, but not what it answers while isolated.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use skiff_tests::netns::NetLab;
use skiff_tests::{Cluster, KvError, ReplicaOptions, run_bounded};
use tokio::time::{Instant, sleep, timeout};

const PREFIX: &str = "iso/";
/// Writes through the majority succeed again within this after the cut: an election (0.5-1 s)
/// plus a follower's forward to the old leader timing out (8 s) on a connection that stalled.
const MAJORITY_BOUND: Duration = Duration::from_secs(20);

#[test]
fn isolated_leader_acknowledges_nothing_and_rejoins() {
    run_bounded("isolated_leader", Duration::from_secs(240), scenario());
}

async fn scenario() -> anyhow::Result<()> {
    let lab = NetLab::create(3)?;
    let options = |i: usize| {
        let mut o = ReplicaOptions::new(&format!("iso{i}"));
        if let Some(lab) = &lab {
            o.ip = lab.ip(i);
            o.netns = Some(lab.namespace(i).to_owned());
        }
        o
    };
    let cluster = Cluster::start(3, options).await?;
    let old = cluster.leader(Duration::from_secs(10)).await?;
    for i in 0..20 {
        cluster.clients[old]
            .put(&format!("{PREFIX}before/{i}"), "v")
            .await?;
    }
    let majority: Vec<usize> = (0..3).filter(|&i| i != old).collect();
    match &lab {
        Some(lab) => lab.cut(old)?,
        None => cluster.replicas[old].pause()?,
    }
    let cut_at = Instant::now();

    // A write sent to the isolated old leader: it must never be acknowledged.
    let old_client = cluster.clients[old].clone();
    let answers = lab.is_some();
    let stale_write = tokio::spawn(async move {
        if !answers {
            return None;
        }
        Some(
            old_client
                .put(&format!("{PREFIX}old-leader"), "must-not-ack")
                .await,
        )
    });
    // The majority: retry fresh keys until one succeeds.
    let probe = async {
        for attempt in 0.. {
            let client = &cluster.clients[majority[attempt % 2]];
            if client
                .put(&format!("{PREFIX}probe/{attempt}"), "v")
                .await
                .is_ok()
            {
                return attempt;
            }
            sleep(Duration::from_millis(100)).await;
        }
        unreachable!("the probe loop only ends by returning")
    };
    let attempts = timeout(MAJORITY_BOUND, probe)
        .await
        .with_context(|| format!("the majority did not serve a write within {MAJORITY_BOUND:?}"))?;
    eprintln!(
        "majority served again {:?} after the cut ({attempts} failed attempts)",
        cut_at.elapsed()
    );
    let new = cluster.clients[majority[0]]
        .leader()
        .await
        .context("the majority has no leader")?;
    ensure!(
        new != cluster.replicas[old].id,
        "the majority still reports the isolated replica as leader"
    );
    for i in 0..50 {
        cluster.clients[majority[i % 2]]
            .put(&format!("{PREFIX}after/{i}"), "v")
            .await?;
    }
    let last = cluster.clients[majority[0]]
        .range(PREFIX, true, false, None)
        .await?
        .revision;

    if lab.is_some() {
        // A linearizable read on the old leader must not return its stale state.
        let started = Instant::now();
        let read = cluster.clients[old].range(PREFIX, true, false, None).await;
        eprintln!(
            "linearizable read on the isolated leader after {:?}: {read:?}",
            started.elapsed()
        );
        match read {
            Ok(r) if r.revision < last => bail!(
                "stale linearizable read on the isolated leader: {} < {last}",
                r.revision
            ),
            Ok(_) => {}
            Err(KvError::Status(status, body)) => {
                ensure!(status.as_u16() == 503, "read answered {status}: {body}")
            }
            Err(KvError::Transport(_) | KvError::Refused(_)) => {}
        }
    }
    let stale = stale_write.await?;
    eprintln!("write to the isolated leader: {stale:?}");
    if let Some(Ok(revision)) = stale {
        bail!("the isolated old leader acknowledged a write at revision {revision}");
    }

    match &lab {
        Some(lab) => lab.heal(old)?,
        None => cluster.replicas[old].resume()?,
    }
    let view = cluster
        .converged(PREFIX, last, Duration::from_secs(60))
        .await?;
    ensure!(
        view.keys().filter(|k| k.starts_with("iso/after/")).count() == 50,
        "majority writes missing"
    );
    let reread = cluster.clients[old]
        .range(PREFIX, true, false, None)
        .await?;
    ensure!(
        reread.revision >= last,
        "the healed old leader reads revision {} < {last}",
        reread.revision
    );
    Ok(())
}
