//! Kill -9 the leader of a three-replica cluster under a steady write load, restart it, three
//! times: a new leader serves within a bound, no acknowledged write is lost on any replica, and
//! a watch (re-established with `after=<last seen>` when its replica dies) sees every revision
//! exactly once, in order. The killed leaders come back through the raft log's WAL replay
//! (acknowledged appends that only the WAL held), which the test checks actually happened.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, ensure};
use skiff_tests::kv::Next;
use skiff_tests::{Cluster, KvClient, ReplicaOptions, run_bounded};
use tokio::time::{Instant, sleep, timeout};

const PREFIX: &str = "load/";
const WRITERS: usize = 4;
const ROUNDS: usize = 3;
/// After the leader is killed, a write must succeed again within this.
const NEW_LEADER_BOUND: Duration = Duration::from_secs(5);

#[test]
fn leader_kill9_under_load_keeps_every_acknowledged_write() {
    run_bounded(
        "leader_kill9_under_load",
        Duration::from_secs(300),
        scenario(),
    );
}

/// A write the cluster acknowledged: it must survive.
#[derive(Clone, Debug)]
struct Acked {
    key: String,
    value: String,
    revision: u64,
}

async fn scenario() -> anyhow::Result<()> {
    let mut cluster = Cluster::start(3, |i| {
        // Only this test writes, so its watch sees every revision (no Lease renewals between).
        ReplicaOptions::new(&format!("kill{i}"))
            .args(["--disable-scheduler", "--disable-controller-manager"])
    })
    .await?;
    let clients = cluster.clients.clone();
    let start = clients[0].range(PREFIX, true, false, None).await?.revision;
    let acked = Arc::new(Mutex::new(Vec::<Acked>::new()));
    let stop = Arc::new(AtomicBool::new(false));

    let leader = cluster.leader(Duration::from_secs(10)).await?;
    let target = Arc::new(AtomicU64::new(u64::MAX));
    let watcher = tokio::spawn(watch_all(
        clients.clone(),
        (leader + 1) % 3,
        start,
        target.clone(),
    ));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(writer(w, clients.clone(), acked.clone(), stop.clone())))
        .collect();

    for round in 0..ROUNDS {
        sleep(Duration::from_secs(2)).await;
        let leader = cluster.leader(Duration::from_secs(10)).await?;
        cluster.replicas[leader].kill9();
        let killed = Instant::now();
        let survivors: Vec<KvClient> = (0..3)
            .filter(|&i| i != leader)
            .map(|i| clients[i].clone())
            .collect();
        let probe = async {
            for attempt in 0.. {
                let key = format!("{PREFIX}probe/{round}/{attempt}");
                if let Ok(revision) = survivors[attempt % 2].put(&key, "probe").await {
                    skiff_sync::lock(&acked).push(Acked {
                        key,
                        value: "probe".into(),
                        revision,
                    });
                    return;
                }
                sleep(Duration::from_millis(50)).await;
            }
        };
        timeout(NEW_LEADER_BOUND, probe)
            .await
            .with_context(|| format!("round {round}: no write succeeded within {NEW_LEADER_BOUND:?} of killing the leader"))?;
        eprintln!(
            "round {round}: killed leader {leader}; writes succeeded again after {:?}",
            killed.elapsed()
        );
        sleep(Duration::from_secs(1)).await;
        cluster.replicas[leader].restart().await?;
    }
    sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    // Killed under load, a replica has appends since its last checkpoint (at most 50 ms old)
    // that only the WAL holds; a restart that replays none would not be testing recovery.
    let replays = cluster
        .replicas
        .iter()
        .map(|r| {
            r.all_stderr()
                .matches("replayed the raft log's WAL")
                .count()
        })
        .sum::<usize>();
    eprintln!("{replays} restarts replayed WAL records");
    ensure!(
        replays >= 1,
        "none of the {ROUNDS} restarts after kill -9 replayed WAL records"
    );
    let mut failed = 0;
    for w in writers {
        failed += w.await?;
    }
    let leader = cluster.leader(Duration::from_secs(10)).await?;
    let last = clients[leader]
        .range(PREFIX, true, false, None)
        .await?
        .revision;
    target.store(last, Ordering::SeqCst);
    let acked = skiff_sync::lock(&acked).clone();
    eprintln!(
        "{} writes acknowledged, {failed} failed or unknown; revisions {start}..={last}",
        acked.len()
    );
    ensure!(
        acked.len() > 100,
        "the load barely ran: {} acknowledged writes",
        acked.len()
    );

    let view = cluster
        .converged(PREFIX, last, Duration::from_secs(30))
        .await?;
    for a in &acked {
        let kv = view
            .get(&a.key)
            .with_context(|| format!("acknowledged {a:?} is missing"))?;
        ensure!(
            kv.value == a.value && kv.mod_revision == a.revision,
            "acknowledged {a:?} reads back as {kv:?}"
        );
    }

    let seen = timeout(Duration::from_secs(30), watcher)
        .await
        .context("the watcher did not reach the last revision")???;
    // The watch of the test's prefix: revisions strictly increasing (no event twice, none out
    // of order), all within the test's window. Revisions outside the prefix (the API server's
    // own objects) leave gaps, so every acknowledged write is looked up by its revision.
    let revisions: Vec<u64> = seen.iter().map(|(rev, _)| *rev).collect();
    ensure!(
        revisions.windows(2).all(|w| w[0] < w[1])
            && revisions.iter().all(|r| (start + 1..=last).contains(r)),
        "watch revisions are not increasing within {}..={last}: got {} events",
        start + 1,
        revisions.len()
    );
    let by_revision: std::collections::HashMap<u64, &String> =
        seen.iter().map(|(rev, key)| (*rev, key)).collect();
    for a in &acked {
        let key = by_revision.get(&a.revision);
        ensure!(
            key == Some(&&a.key),
            "watch event at revision {} is {key:?}, acknowledged write was {}",
            a.revision,
            a.key
        );
    }
    Ok(())
}

/// Writes fresh keys (alternating `create` and `put`) through every replica in turn until
/// `stop`; records acknowledged writes, returns how many failed.
async fn writer(
    w: usize,
    clients: Vec<KvClient>,
    acked: Arc<Mutex<Vec<Acked>>>,
    stop: Arc<AtomicBool>,
) -> usize {
    let mut failed = 0;
    for n in 0.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let key = format!("{PREFIX}w{w}/{n}");
        let value = format!("value-{w}-{n}");
        let client = &clients[(w + n) % clients.len()];
        let result = if n % 2 == 0 {
            client.create(&key, &value).await
        } else {
            client.put(&key, &value).await
        };
        match result {
            Ok(revision) => skiff_sync::lock(&acked).push(Acked {
                key,
                value,
                revision,
            }),
            Err(_) => {
                failed += 1;
                sleep(Duration::from_millis(20)).await;
            }
        }
    }
    failed
}

/// Follows `PREFIX` from revision `start`, starting on replica `first` and moving to the next
/// replica (with `after=<last seen>`) whenever the stream breaks; returns (revision, key) of
/// every event once `target` is set and reached.
async fn watch_all(
    clients: Vec<KvClient>,
    first: usize,
    start: u64,
    target: Arc<AtomicU64>,
) -> anyhow::Result<Vec<(u64, String)>> {
    let mut seen = Vec::new();
    let mut last = start;
    let mut on = first;
    let mut reconnects = 0;
    while last < target.load(Ordering::SeqCst) {
        let Ok(mut stream) = clients[on].watch(PREFIX, last).await else {
            on = (on + 1) % clients.len();
            sleep(Duration::from_millis(100)).await;
            continue;
        };
        loop {
            match stream
                .next(Duration::from_secs(1))
                .await
                .unwrap_or(Next::End)
            {
                Next::Line(line) => {
                    ensure!(
                        line.error.is_none(),
                        "watch on replica {on} ended with {line:?}"
                    );
                    let revision = line.revision.context("event without revision")?;
                    ensure!(revision > last, "watch went back: {revision} after {last}");
                    seen.push((revision, line.kv.context("event without kv")?.key));
                    last = revision;
                }
                // Quiet for a second: done, or the replica died (move on), or just no writes.
                Next::Quiet => {
                    if last >= target.load(Ordering::SeqCst) || !stream_alive(&clients[on]).await {
                        break;
                    }
                }
                // Ended or broken (its replica was killed): go on elsewhere from `last`.
                Next::End => break,
            }
        }
        if last < target.load(Ordering::SeqCst) {
            reconnects += 1;
            on = (on + 1) % clients.len();
        }
    }
    eprintln!("watcher: {} events, {reconnects} reconnects", seen.len());
    Ok(seen)
}

/// Whether the replica behind `client` still answers (a quiet stream on a live replica is fine).
async fn stream_alive(client: &KvClient) -> bool {
    client.leader().await.is_some()
}
