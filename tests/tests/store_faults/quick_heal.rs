//! Stop the leader, let the other two elect a new one and commit a write, resume the old leader
//! and read from it at once. The old leader wakes up still believing it leads: its saved vote
//! and its last commit name itself. A linearizable read there must not miss the new leader's
//! write; the voters it asks to confirm its read index have voted for the new leader since, so
//! they refuse, and the read is answered fresh (through the new leader) or fails with 503.
//!
//! Repeated with the leader of the moment. The test also requires that in at least one round
//! the old leader's `/metrics` counted such a refused round, so it is known to exercise that
//! path (it did in most rounds when written).

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use skiff_tests::{ApiClient, Cluster, KvError, ReplicaOptions, run_bounded};
use tokio::time::{Instant, sleep};

const PREFIX: &str = "heal/";
const ROUNDS: usize = 4;
/// How long the others may take to elect a new leader.
const ELECTION_BOUND: Duration = Duration::from_secs(10);

#[test]
fn a_resumed_old_leader_serves_no_stale_linearizable_read() {
    run_bounded("quick_heal", Duration::from_secs(180), scenario());
}

async fn scenario() -> anyhow::Result<()> {
    let cluster = Cluster::start(3, |i| ReplicaOptions::new(&format!("heal{i}"))).await?;
    let mut refused_rounds = 0;
    for round in 0..ROUNDS {
        let old = cluster.leader(ELECTION_BOUND).await?;
        let unconfirmed_before = unconfirmed(&cluster, old).await?;
        cluster.clients[old]
            .put(&format!("{PREFIX}{round}/before"), "v")
            .await?;
        cluster.replicas[old].pause()?;
        let paused_at = Instant::now();
        let outcome = while_paused(&cluster, old, round).await;
        cluster.replicas[old].resume()?;
        let resumed_after = paused_at.elapsed();
        let written = outcome?;

        let read = cluster.clients[old].range(PREFIX, true, false, None).await;
        let refused = unconfirmed(&cluster, old).await? - unconfirmed_before;
        refused_rounds += usize::from(refused > 0);
        eprintln!(
            "round {round}: resumed after {resumed_after:?}; read: {}; rounds the voters refused \
             the old leader: {refused}",
            match &read {
                Ok(r) => format!("revision {}", r.revision),
                Err(e) => e.to_string(),
            }
        );
        match read {
            Ok(r) => ensure!(
                r.revision >= written,
                "stale linearizable read on the resumed old leader: revision {} < {written}",
                r.revision
            ),
            Err(KvError::Status(status, body)) => {
                ensure!(status.as_u16() == 503, "the read answered {status}: {body}")
            }
            Err(e @ (KvError::Transport(_) | KvError::Refused(_))) => {
                bail!("the resumed old leader did not answer: {e}")
            }
        }
    }
    ensure!(
        refused_rounds > 0,
        "in no round did the voters refuse the resumed old leader: the test missed its case"
    );
    // Everyone converges on every write, the old leaders included.
    let last = cluster.clients[cluster.leader(ELECTION_BOUND).await?]
        .range(PREFIX, true, false, None)
        .await?
        .revision;
    cluster
        .converged(PREFIX, last, Duration::from_secs(30))
        .await?;
    Ok(())
}

/// Replica `i`'s count of read-index rounds the voters did not confirm.
async fn unconfirmed(cluster: &Cluster, i: usize) -> anyhow::Result<u64> {
    ApiClient::admin(&cluster.replicas[i])?
        .metric("skiff_store_read_index_unconfirmed_total")
        .await
}

/// With `old` stopped: waits for another leader and writes through it; the write's revision.
async fn while_paused(cluster: &Cluster, old: usize, round: usize) -> anyhow::Result<u64> {
    let old_id = cluster.replicas[old].id;
    let deadline = Instant::now() + ELECTION_BOUND;
    let others: Vec<usize> = (0..cluster.replicas.len()).filter(|&i| i != old).collect();
    let new = loop {
        let mut found = None;
        for &i in &others {
            let reported = cluster.clients[i].leader().await;
            if let Some(id) = reported.filter(|&id| id != old_id)
                && let Some(index) = cluster.replicas.iter().position(|r| r.id == id)
            {
                found = Some(index);
            }
        }
        if let Some(index) = found {
            break index;
        }
        if Instant::now() >= deadline {
            bail!("no new leader within {ELECTION_BOUND:?} of stopping the old one");
        }
        sleep(Duration::from_millis(10)).await;
    };
    cluster.clients[new]
        .put(&format!("{PREFIX}{round}/after"), "v")
        .await
        .with_context(|| format!("writing through the new leader (replica {new})"))
}
