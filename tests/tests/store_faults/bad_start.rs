//! Starts that must fail cleanly, with one `skiff: ...` error line, a non-zero exit and no
//! panic: a data directory whose state database, Raft log, log WAL or cluster CA is corrupt or
//! truncated (the error names the file, which is left byte-identical; with the original bytes put
//! back the replica starts again with its data), a join token with a wrong secret (the leader logs the
//! refusal), a token pinned to another cluster's CA, an unreachable join URL, and a listen port
//! that is already taken.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, ensure};
use skiff_tests::{Replica, ReplicaOptions, run_bounded};

#[test]
fn corrupt_store_and_pki_files_are_refused_untouched() {
    run_bounded(
        "corrupt_files_refused",
        Duration::from_secs(120),
        corrupt_files(),
    );
}

/// How a case damages its file.
enum Damage {
    /// Overwrite every byte with pseudo-random garbage (same length).
    Garbage,
    /// Keep the first half.
    Truncate,
}

async fn corrupt_files() -> anyhow::Result<()> {
    let mut replica = Replica::start(ReplicaOptions::new("corrupt")).await?;
    let client = replica.client()?;
    for i in 0..20 {
        client.put(&format!("keep/{i}"), "v").await?;
    }
    let cases = [
        ("store/state.redb", Damage::Garbage),
        ("store/raft-log.redb", Damage::Truncate),
        ("store/raft-log.redb", Damage::Garbage),
        // Garbage in a WAL holds no record of the log's epoch and is rightly ignored; a WAL of
        // the wrong size is damage.
        ("store/raft-log.wal", Damage::Truncate),
        ("pki/ca.crt", Damage::Garbage),
    ];
    for (file, damage) in cases {
        replica.stop().await;
        let path = replica.data_dir.join(file);
        let original =
            std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let damaged = damage_bytes(&original, &damage);
        std::fs::write(&path, &damaged)?;

        let exited = replica.run_to_exit(Duration::from_secs(30)).await?;
        let line = exited
            .error_line()
            .with_context(|| format!("starting with a damaged {file}"))?;
        ensure!(
            line.contains(&path.display().to_string()),
            "the error does not name {}: {line}",
            path.display()
        );
        ensure!(
            std::fs::read(&path)? == damaged,
            "{file} was modified by the failed start"
        );
        eprintln!("{file}: {line}");

        std::fs::write(&path, &original)?;
        replica
            .restart()
            .await
            .with_context(|| format!("restarting with {file} restored"))?;
        expect_data(&replica, &path).await?;
    }
    Ok(())
}

fn damage_bytes(original: &[u8], damage: &Damage) -> Vec<u8> {
    match damage {
        Damage::Garbage => {
            // A fixed xorshift stream: deterministic garbage, never a valid header.
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
            (0..original.len().max(64))
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect()
        }
        Damage::Truncate => original[..original.len() / 2].to_vec(),
    }
}

async fn expect_data(replica: &Replica, restored: &Path) -> anyhow::Result<()> {
    let client = replica.client()?;
    let all = client.range("keep/", true, false, None).await?;
    ensure!(
        all.kvs.len() == 20,
        "after restoring {}: {} of 20 keys",
        restored.display(),
        all.kvs.len()
    );
    Ok(())
}

#[test]
fn bad_joins_and_taken_ports_fail_with_one_line() {
    run_bounded(
        "bad_joins_fail_cleanly",
        Duration::from_secs(150),
        bad_joins(),
    );
}

/// A joiner's flags for `url` and `token`.
/// Asks `replica` for a raft stream with `secret`; returns the status and body of the answer.
async fn raft_stream_upgrade(
    replica: &Replica,
    secret: &str,
    with_upgrade: bool,
    http2: bool,
) -> anyhow::Result<(http::StatusCode, String)> {
    use http_body_util::BodyExt;
    let ca = std::fs::read(replica.data_dir.join("pki/ca.crt"))?;
    let client = if http2 {
        skiff_tests::https_client_h2(&ca)?
    } else {
        skiff_tests::https_client(&ca)?
    };
    let mut request = http::Request::get(format!("{}/raft/stream", replica.url()))
        .header("x-skiff-peer-secret", secret);
    if with_upgrade {
        request = request
            .header(http::header::CONNECTION, "upgrade")
            .header(http::header::UPGRADE, "skiff-raft");
    }
    let response = client
        .request(request.body(http_body_util::Full::new(bytes::Bytes::new()))?)
        .await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn joiner(label: &str, url: &str, token: &str) -> anyhow::Result<Replica> {
    Replica::prepare(ReplicaOptions::new(label).args(["--join", url, "--token", token]))
}

async fn bad_joins() -> anyhow::Result<()> {
    let leader = Replica::start(ReplicaOptions::new("join-a")).await?;
    let other = Replica::start(ReplicaOptions::new("join-b")).await?;
    let token = leader.join_token()?;
    let limit = Duration::from_secs(40);

    // Right CA pin, wrong secret: the CA check passes, the leader refuses the bundle request.
    let (pin, _secret) = token.rsplit_once(':').expect("K10<hash>::server:<secret>");
    let wrong = format!("{pin}:{}", "0".repeat(64));
    let exited = joiner("join-wrong-secret", &leader.url(), &wrong)?
        .run_to_exit(limit)
        .await?;
    let line = exited.error_line()?;
    eprintln!("{line}");
    ensure!(
        line.contains("token"),
        "wrong-secret error does not mention the token: {line}"
    );
    let logged = leader.all_stderr();
    ensure!(
        logged
            .lines()
            .any(|l| l.contains("refused") && l.contains("wrong cluster token")),
        "the leader did not log the refusal; its stderr:\n{logged}"
    );

    // A raft stream (append-entries and votes between replicas) asked for with a wrong secret
    // is refused like any other peer call, and so is one that does not ask for the upgrade.
    let (status, body) = raft_stream_upgrade(&leader, "0".repeat(64).as_str(), true, false).await?;
    ensure!(
        status == http::StatusCode::UNAUTHORIZED && body.contains("wrong cluster token"),
        "raft stream with a wrong secret: {status} {body}"
    );
    ensure!(
        leader
            .all_stderr()
            .lines()
            .any(|l| l.contains("refused /raft/stream") && l.contains("wrong cluster token")),
        "the leader did not log the refused raft stream"
    );
    let (_, secret) = token.rsplit_once(':').expect("K10<hash>::server:<secret>");
    let (status, body) = raft_stream_upgrade(&leader, secret, false, false).await?;
    ensure!(
        status == http::StatusCode::BAD_REQUEST && body.contains("Upgrade: skiff-raft"),
        "raft stream without the upgrade header: {status} {body}"
    );
    // HTTP/2 cannot carry the upgrade: a clear 505, not a 101 that goes nowhere.
    let (status, body) = raft_stream_upgrade(&leader, secret, true, true).await?;
    ensure!(
        status == http::StatusCode::HTTP_VERSION_NOT_SUPPORTED && body.contains("HTTP/1.1"),
        "raft stream over HTTP/2: {status} {body}"
    );

    // Another cluster's token: pinned to a CA the leader does not present.
    let exited = joiner("join-other-ca", &leader.url(), &other.join_token()?)?
        .run_to_exit(limit)
        .await?;
    let line = exited.error_line()?;
    eprintln!("{line}");
    ensure!(
        line.contains("CA") && (line.contains("match") || line.contains("pins")),
        "wrong-CA error: {line}"
    );

    // Nothing listens at the join URL.
    let nowhere = format!("https://127.0.0.1:{}", skiff_tests::free_port()?);
    let exited = joiner("join-nowhere", &nowhere, &token)?
        .run_to_exit(limit)
        .await?;
    let line = exited.error_line()?;
    eprintln!("{line}");
    ensure!(
        line.contains(nowhere.trim_start_matches("https://")),
        "unreachable-URL error does not name it: {line}"
    );

    // The listen port is taken (held by this test).
    let held = std::net::TcpListener::bind("127.0.0.1:0")?;
    let mut taken = Replica::prepare(ReplicaOptions::new("port-taken"))?;
    taken.addr = held.local_addr()?;
    let exited = taken.run_to_exit(limit).await?;
    let line = exited.error_line()?;
    eprintln!("{line}");
    ensure!(
        line.contains("cannot listen on"),
        "taken-port error: {line}"
    );

    // The refusals left the first cluster serving.
    leader.client()?.put("still/serving", "yes").await?;
    Ok(())
}
