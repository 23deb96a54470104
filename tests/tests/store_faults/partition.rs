//! Cut one follower of three off from the other replicas and heal it. While cut, writes to it
//! fail with 503 and it applies nothing, while the majority keeps serving; after healing it
//! catches up. It may catch up through the log or through a snapshot: openraft postpones
//! purging entries that a replication request in flight still covers, and with pre-vote the cut
//! replica no longer deposes the leader when it comes back, so the leader that kept its log for
//! it usually sends the log. `snapshot_catch_up` covers the snapshot path on its own.
//!
//! With root, every replica runs in its own network namespace and the cut is a pair of
//! `unreachable` routes (see `skiff_tests::netns`): the cut replica is alive and reachable by
//! the test, only replica-to-replica traffic is gone. Without namespaces the fallback pauses the
//! replica (SIGSTOP/SIGCONT): that covers the majority serving without it and the catch-up
//! through a snapshot, but not what an isolated-yet-running replica answers its clients. (A
//! proxy on the advertised address would cut inbound traffic only; since peer calls are
//! request/response, the cut replica could still reach the leader through the leader's proxy,
//! so it would not be isolated.)

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use skiff_tests::netns::NetLab;
use skiff_tests::{Cluster, ReplicaOptions, run_bounded};
use tokio::time::Instant;

const PREFIX: &str = "part/";
/// More than openraft keeps behind a snapshot (1000 entries) plus one snapshot interval (50),
/// so the leader purges entries the cut replica still needs.
const WRITES_WHILE_CUT: usize = 1_500;
const WRITERS: usize = 8;

#[test]
fn cut_follower_stalls_then_catches_up() {
    run_bounded("partition_and_heal", Duration::from_secs(300), scenario());
}

async fn scenario() -> anyhow::Result<()> {
    let lab = NetLab::create(3)?;
    eprintln!(
        "partition: {}",
        if lab.is_some() {
            "network namespaces"
        } else {
            "SIGSTOP fallback (no namespaces)"
        }
    );
    let options = |i: usize| {
        let mut o = ReplicaOptions::new(&format!("part{i}")).args(["--snapshot-every", "50"]);
        if let Some(lab) = &lab {
            o.ip = lab.ip(i);
            o.netns = Some(lab.namespace(i).to_owned());
        }
        o
    };
    let cluster = Cluster::start(3, options).await?;
    let leader = cluster.leader(Duration::from_secs(10)).await?;
    for i in 0..50 {
        cluster.clients[leader]
            .put(&format!("{PREFIX}before/{i}"), "v")
            .await?;
    }
    let cut = (leader + 1) % 3;
    let majority: Vec<usize> = (0..3).filter(|&i| i != cut).collect();
    cluster
        .converged(
            PREFIX,
            cluster.clients[leader]
                .range(PREFIX, true, false, None)
                .await?
                .revision,
            Duration::from_secs(10),
        )
        .await?;

    match &lab {
        Some(lab) => lab.cut(cut)?,
        None => cluster.replicas[cut].pause()?,
    }
    let cut_at = Instant::now();
    let frozen = match &lab {
        Some(_) => Some(
            cluster.clients[cut]
                .range(PREFIX, true, true, None)
                .await?
                .revision,
        ),
        None => None,
    };
    // The minority: a write through it must fail with 503, either "no leader" (nothing written)
    // or "outcome unknown" (its forward to the leader timed out; the request may still arrive
    // when the network heals, so the key may then appear).
    let minority = async {
        if lab.is_none() {
            return Ok(None);
        }
        let started = Instant::now();
        match cluster.clients[cut]
            .put(&format!("{PREFIX}minority"), "must-not-commit")
            .await
        {
            Ok(rev) => bail!("a write to the cut replica was acknowledged at revision {rev}"),
            Err(e) if e.status().map(|s| s.as_u16()) == Some(503) => {
                Ok(Some((started.elapsed(), e.to_string().contains("unknown"))))
            }
            Err(e) => bail!("a write to the cut replica failed without 503: {e}"),
        }
    };
    let writes = async {
        let tasks = (0..WRITERS).map(|w| {
            let client = cluster.clients[majority[w % 2]].clone();
            async move {
                for n in (w..WRITES_WHILE_CUT).step_by(WRITERS) {
                    client
                        .put(&format!("{PREFIX}during/{n}"), "v")
                        .await
                        .with_context(|| format!("majority write {n}"))?;
                }
                anyhow::Ok(())
            }
        });
        futures::future::try_join_all(tasks).await
    };
    let (minority, _) = tokio::try_join!(minority, writes)?;
    eprintln!(
        "{WRITES_WHILE_CUT} majority writes in {:?}; minority write failed after {minority:?}",
        cut_at.elapsed()
    );
    if let Some((elapsed, _)) = minority {
        ensure!(
            elapsed < Duration::from_secs(20),
            "the minority took {elapsed:?} to refuse a write"
        );
    }
    if let Some(frozen) = frozen {
        let now = cluster.clients[cut]
            .range(PREFIX, true, true, None)
            .await?
            .revision;
        ensure!(
            now == frozen,
            "the cut replica moved from revision {frozen} to {now} while cut off"
        );
    }
    let last = cluster.clients[majority[0]]
        .range(PREFIX, true, false, None)
        .await?
        .revision;

    match &lab {
        Some(lab) => lab.heal(cut)?,
        None => cluster.replicas[cut].resume()?,
    }
    let healed = Instant::now();
    let view = cluster
        .converged(PREFIX, last, Duration::from_secs(60))
        .await?;
    eprintln!("the healed replica caught up in {:?}", healed.elapsed());
    let minority_key = view.contains_key(&format!("{PREFIX}minority"));
    let unknown = matches!(minority, Some((_, true)));
    ensure!(
        !minority_key || unknown,
        "a write refused as 'no leader' appeared after healing"
    );
    let expected = 50 + WRITES_WHILE_CUT + usize::from(minority_key);
    ensure!(
        view.len() == expected,
        "{} keys after healing, expected {expected}",
        view.len()
    );

    // Which way it caught up: an installed snapshot replaces the history, so a replica that
    // installed one cannot serve revisions from before it; the majority, which never
    // compacted, can.
    let old = last - WRITES_WHILE_CUT as u64 + 1;
    cluster.clients[majority[0]]
        .range(PREFIX, true, true, Some(old))
        .await
        .context("old revision on the majority")?;
    let through = match cluster.clients[cut]
        .range(PREFIX, true, true, Some(old))
        .await
    {
        Err(e) if e.status().map(|s| s.as_u16()) == Some(410) => "a snapshot",
        Ok(_) => "the log",
        Err(e) => bail!("reading revision {old} on the healed replica: {e}"),
    };
    eprintln!("the healed replica caught up through {through}");
    Ok(())
}
