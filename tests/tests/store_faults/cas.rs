//! Compare-and-set races: many clients read a counter and `update` it at the `mod_revision` they
//! read. Exactly one update wins per revision, the others get 409 Conflict, and no increment is
//! lost.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use skiff_tests::{ApiClient, Cluster, KvClient, ReplicaOptions, run_bounded};

const CLIENTS: usize = 16;
/// Successful increments each client aims for.
const WINS_EACH: usize = 5;
const KEY: &str = "cas/counter";

#[test]
fn compare_and_set_races_lose_no_update() {
    run_bounded(
        "compare_and_set_races",
        Duration::from_secs(180),
        scenario(),
    );
}

/// One client's tally: revisions of its successful updates and how many conflicts it saw.
struct Tally {
    wins: Vec<u64>,
    conflicts: usize,
}

async fn scenario() -> anyhow::Result<()> {
    let cluster = Cluster::start(3, |i| ReplicaOptions::new(&format!("cas{i}"))).await?;
    let created = cluster.clients[0].create(KEY, "0").await?;
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            // Spread the racers over all replicas: followers forward their writes.
            let client = cluster.clients[c % cluster.clients.len()].clone();
            tokio::spawn(racer(client))
        })
        .collect();
    let mut wins = Vec::new();
    let mut conflicts = 0;
    for task in tasks {
        let tally = task.await??;
        wins.extend(tally.wins);
        conflicts += tally.conflicts;
    }
    eprintln!("{} successful updates, {conflicts} conflicts", wins.len());
    let distinct: BTreeSet<u64> = wins.iter().copied().collect();
    ensure!(
        distinct.len() == wins.len(),
        "two updates succeeded at the same revision: {wins:?}"
    );
    ensure!(conflicts > 0, "no conflicts at all: the racers never raced");

    let final_kv = cluster.clients[0].range(KEY, false, false, None).await?;
    let kv = final_kv.kvs.first().context("the counter is gone")?;
    let counter: usize = kv.value.parse()?;
    ensure!(
        counter == wins.len(),
        "counter is {counter} after {} successful updates: updates were lost",
        wins.len()
    );
    ensure!(
        kv.version as usize == wins.len() + 1,
        "version {} after create + {} updates",
        kv.version,
        wins.len()
    );
    ensure!(
        kv.mod_revision == *distinct.last().context("no wins")?,
        "final mod_revision is not the last win"
    );
    ensure!(
        distinct.first().is_some_and(|&first| first > created),
        "a win predates the create"
    );

    // The racers' linearizable reads went through read-index rounds on the leader, confirmed
    // by probing the voters directly; openraft's ReadIndex is only the fallback.
    let leader = cluster.leader(Duration::from_secs(10)).await?;
    let metrics = ApiClient::admin(&cluster.replicas[leader])?;
    let by_voters = metrics
        .metric(r#"skiff_store_read_index_rounds_total{confirmed_by="voters"}"#)
        .await?;
    let by_openraft = metrics
        .metric(r#"skiff_store_read_index_rounds_total{confirmed_by="openraft"}"#)
        .await?;
    eprintln!(
        "read-index rounds on the leader: {by_voters} by the voters, {by_openraft} by openraft"
    );
    ensure!(
        by_voters > 0,
        "no read-index round was confirmed by the voters ({by_openraft} by openraft)"
    );
    Ok(())
}

/// Reads the counter and tries to store counter + 1 at the read revision, until it has won
/// `WINS_EACH` times. Every win must be exactly one above the value it read.
async fn racer(client: KvClient) -> anyhow::Result<Tally> {
    let mut tally = Tally {
        wins: Vec::new(),
        conflicts: 0,
    };
    let mut attempts = 0;
    while tally.wins.len() < WINS_EACH {
        attempts += 1;
        ensure!(
            attempts < 2_000,
            "too many attempts ({attempts}) for {WINS_EACH} wins"
        );
        let read = client.range(KEY, false, false, None).await?;
        let kv = read.kvs.first().context("counter missing")?;
        let next = kv.value.parse::<u64>()? + 1;
        match client.update(KEY, &next.to_string(), kv.mod_revision).await {
            Ok(revision) => tally.wins.push(revision),
            Err(e) if e.kind() == Some("Conflict") => {
                ensure!(
                    e.status().map(|s| s.as_u16()) == Some(409),
                    "Conflict with status {e}"
                );
                tally.conflicts += 1;
            }
            Err(e) => bail!("update at {} failed unexpectedly: {e}", kv.mod_revision),
        }
    }
    Ok(tally)
}
