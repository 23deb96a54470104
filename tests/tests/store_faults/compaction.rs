//! Watch-history compaction: with `--history-revisions 10 --history-seconds 0` the compactor
//! (one tick every 5 s) drops history older than ten revisions, and an explicit
//! `/kv/v1/compact` drops more; watches and ranges at compacted revisions get 410 Expired, while
//! revisions inside the window stay readable and watchable.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use skiff_tests::{Cluster, KvClient, ReplicaOptions, run_bounded};
use tokio::time::{Instant, sleep};

const PREFIX: &str = "hist/";

#[test]
fn compacted_revisions_answer_410_expired() {
    run_bounded(
        "compacted_revisions_answer_410",
        Duration::from_secs(120),
        scenario(),
    );
}

async fn scenario() -> anyhow::Result<()> {
    let options = |_| {
        ReplicaOptions::new("compact")
            .args(["--history-revisions", "10", "--history-seconds", "0"])
            // No scheduler or controllers renewing their Leases.
            .args(["--disable-scheduler", "--disable-controller-manager"])
    };
    let cluster = Cluster::start(1, options).await?;
    let client = &cluster.clients[0];
    let mut revisions = Vec::new();
    for i in 0..30 {
        revisions.push(
            client
                .put(&format!("{PREFIX}{}", i % 7), &format!("v{i}"))
                .await?,
        );
    }
    let (first, last) = (revisions[0], revisions[29]);

    // One compactor tick (5 s) compacts to `last - 10`: wait for the first revision to expire.
    let deadline = Instant::now() + Duration::from_secs(12);
    loop {
        match client.range(PREFIX, true, true, Some(first)).await {
            Err(e) if e.status().map(|s| s.as_u16()) == Some(410) => break,
            Ok(_) if Instant::now() < deadline => sleep(Duration::from_millis(250)).await,
            other => bail!(
                "range at {first} is still {other:?} 12 s after the writes (compactor tick is 5 s)"
            ),
        }
    }
    expect_expired_range(client, first).await?;
    expect_expired_watch(client, first).await?;
    // Inside the window: still readable, and a watch replays the events after it.
    let kept = last - 5;
    let at = client
        .range(PREFIX, true, true, Some(kept))
        .await
        .context("range inside the window")?;
    ensure!(
        at.kvs.iter().all(|kv| kv.mod_revision <= kept),
        "range at {kept} shows later writes"
    );
    let mut watch = client
        .watch(PREFIX, kept)
        .await
        .context("watch inside the window")?;
    // The server's own writes (the RBAC aggregation of the default roles) may fall between
    // this test's; the watch of the prefix replays exactly this test's writes after `kept`.
    for &expected in revisions.iter().filter(|&&r| r > kept) {
        let line = watch.line(Duration::from_secs(5)).await?;
        ensure!(
            line.revision == Some(expected),
            "watch from {kept} gave {line:?}, expected revision {expected}"
        );
    }

    // An explicit compaction to `last` expires everything before it.
    let answer = client.compact(last).await?;
    ensure!(answer["compacted"] == last, "compact answered {answer}");
    expect_expired_range(client, last - 1).await?;
    expect_expired_watch(client, last - 1).await?;
    let now = client.range(PREFIX, true, false, None).await?;
    // The server's own writes (Leases, the RBAC bootstrap) may move the revision past `last`;
    // this prefix must be exactly as it was.
    ensure!(
        now.revision >= last
            && now.kvs.len() == 7
            && now.kvs.iter().all(|kv| kv.mod_revision <= last),
        "current state changed by compaction: {now:?}"
    );
    Ok(())
}

async fn expect_expired_range(client: &KvClient, revision: u64) -> anyhow::Result<()> {
    match client.range(PREFIX, true, false, Some(revision)).await {
        Err(e) if e.status().map(|s| s.as_u16()) == Some(410) && e.kind() == Some("Expired") => {
            Ok(())
        }
        other => {
            bail!("range at compacted revision {revision}: expected 410 Expired, got {other:?}")
        }
    }
}

async fn expect_expired_watch(client: &KvClient, after: u64) -> anyhow::Result<()> {
    match client.watch(PREFIX, after).await {
        Err(e) if e.status().map(|s| s.as_u16()) == Some(410) && e.kind() == Some("Expired") => {
            Ok(())
        }
        Err(e) => bail!("watch after compacted revision {after}: expected 410 Expired, got {e}"),
        Ok(mut stream) => {
            let line = stream.next(Duration::from_secs(5)).await?;
            bail!("watch after compacted revision {after} was accepted; first line {line:?}")
        }
    }
}
