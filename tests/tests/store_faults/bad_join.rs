//! Joins that must fail cleanly: a token with a wrong secret (refused by the leader, which logs
//! it), a token pinned to another cluster's CA, an unreachable join URL, and a listen port that
//! is already taken. Each gives one `skiff: ...` error line, a non-zero exit and no panic.

use std::time::Duration;

use anyhow::ensure;
use skiff_tests::{Replica, ReplicaOptions, run_bounded};

#[test]
fn bad_joins_and_taken_ports_fail_with_one_line() {
    run_bounded(
        "bad_joins_fail_cleanly",
        Duration::from_secs(150),
        scenario(),
    );
}

/// A joiner's flags for `url` and `token`.
fn joiner(label: &str, url: &str, token: &str) -> anyhow::Result<Replica> {
    Replica::prepare(ReplicaOptions::new(label).args(["--join", url, "--token", token]))
}

async fn scenario() -> anyhow::Result<()> {
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

    // Another cluster's token: pinned to a CA the leader does not present.
    let exited = joiner("join-other-ca", &leader.url(), &other.join_token()?)?
        .run_to_exit(limit)
        .await?;
    let line = exited.error_line()?;
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
    ensure!(
        line.contains("cannot listen on"),
        "taken-port error: {line}"
    );

    // The refusals left the first cluster serving.
    leader.client()?.put("still/serving", "yes").await?;
    Ok(())
}
