//! `kubectl logs` with its options, served by the node's tunnel from real containers:
//! all of it, `--tail`, `-c`, `--timestamps`, `--since-time`, `--since`, `--limit-bytes`,
//! `--previous` before and after a restart, `-f` while the container writes, and a pod of
//! two containers.

use std::time::{Duration, SystemTime};

use anyhow::{Context, ensure};
use skiff_runtime_wasm::logs::parse_time;
use skiff_tests::run_bounded;
use tokio::time::{sleep, timeout};

use crate::support::{Lab, NODE, counter};

#[test]
fn kubectl_logs_reads_containers_through_the_node_tunnel() {
    run_bounded(
        "kubectl_logs_reads_containers_through_the_node_tunnel",
        Duration::from_secs(240),
        scenario(),
    );
}

/// `text`'s lines split into (time, rest) at the first space, the time parsed.
fn stamped(text: &str) -> anyhow::Result<Vec<(SystemTime, String, String)>> {
    text.lines()
        .map(|line| {
            let (time, rest) = line.split_once(' ').context("no space")?;
            ensure!(
                time.len() == 30 && time.ends_with('Z'),
                "time {time:?} in {line:?}"
            );
            let parsed = parse_time(time).with_context(|| format!("time {time:?}"))?;
            Ok((parsed, time.to_owned(), rest.to_owned()))
        })
        .collect()
}

async fn run_to_end(lab: &Lab, uid: &str, container: &str) -> anyhow::Result<()> {
    lab.rt.start_container(uid, container).await?;
    timeout(
        Duration::from_secs(60),
        lab.rt.wait_container(uid, container),
    )
    .await??;
    Ok(())
}

async fn scenario() -> anyhow::Result<()> {
    let lab = Lab::start("logs").await?;
    let token = lab.join(NODE).await?;
    let web = lab.pod("web", vec![counter("app", 5, 30)]).await?;
    // Lines 1.1 s apart, for `--since-time` (whole seconds on the wire).
    let slow = lab.pod("slow", vec![counter("app", 3, 1100)]).await?;
    lab.rt.start_container(&slow, "app").await?;
    run_to_end(&lab, &web, "app").await?;
    let (stop, tunnel) = lab.tunnel(token)?;
    lab.wait_for_tunnel("web").await?;
    plain_options(&lab).await?;
    since_options(&lab, &slow).await?;
    previous_run(&lab, &web).await?;
    follow(&lab).await?;
    two_containers(&lab).await?;
    let bad = lab
        .admin
        .get("/api/v1/namespaces/default/pods/web/log?tailLines=-1")
        .await?;
    bad.expect_status(422, "Invalid")?;
    // Bound to the node, but not started by its agent yet.
    lab.api_pod("ghost", &["app"]).await?;
    let ghost = lab.kubectl.fails(&["logs", "ghost"], "").await?;
    let waiting = "container \"app\" in pod \"ghost\" is waiting to start: ContainerCreating";
    ensure!(
        ghost.contains("BadRequest") && ghost.contains(waiting),
        "{ghost}"
    );

    stop.cancel();
    tunnel.await??;
    lab.rt.shutdown(Duration::ZERO).await;
    Ok(())
}

/// All of it, `--tail`, `-c`, `--limit-bytes` and `--timestamps`.
async fn plain_options(lab: &Lab) -> anyhow::Result<()> {
    let k = &lab.kubectl;

    let all = k.ok(&["logs", "web"]).await?;
    let lines: Vec<&str> = all.lines().collect();
    ensure!(lines.len() == 5, "{all}");
    for (i, line) in lines.iter().enumerate() {
        ensure!(
            line.starts_with(&format!("error {i} calling nowhere:1")),
            "{all}"
        );
    }
    let tail = k.ok(&["logs", "web", "--tail=2"]).await?;
    ensure!(
        tail == format!("{}\n{}\n", lines[3], lines[4]),
        "--tail=2: {tail}"
    );
    ensure!(k.ok(&["logs", "web", "-c", "app"]).await? == all, "-c app");
    let wrong = k.fails(&["logs", "web", "-c", "nope"], "").await?;
    ensure!(
        wrong.contains("container nope is not valid for pod web"),
        "{wrong}"
    );
    let limited = k.ok(&["logs", "web", "--limit-bytes=10"]).await?;
    ensure!(limited == all[..10], "--limit-bytes=10: {limited:?}");

    let with_times = stamped(&k.ok(&["logs", "web", "--timestamps"]).await?)?;
    let rests: Vec<&str> = with_times
        .iter()
        .map(|(_, _, rest)| rest.as_str())
        .collect();
    ensure!(
        rests == lines,
        "--timestamps changes only the prefix: {rests:?}"
    );
    ensure!(
        with_times.windows(2).all(|w| w[0].0 <= w[1].0),
        "times in order"
    );

    Ok(())
}

/// `--since-time` (whole seconds) and `--since`.
async fn since_options(lab: &Lab, uid: &str) -> anyhow::Result<()> {
    let k = &lab.kubectl;
    timeout(Duration::from_secs(30), lab.rt.wait_container(uid, "app")).await??;
    let slow = stamped(&k.ok(&["logs", "slow", "--timestamps"]).await?)?;
    ensure!(slow.len() == 3, "{slow:?}");
    // The second line's second: the first line is more than a second older.
    let second = &slow[1].1[..19];
    let since_time = format!("{second}Z");
    let since = k.ok(&["logs", "slow", "--since-time", &since_time]).await?;
    ensure!(
        since == format!("{}\n{}\n", slow[1].2, slow[2].2),
        "--since-time={since_time}: {since}"
    );
    ensure!(k.ok(&["logs", "slow", "--since=1h"]).await?.lines().count() == 3);
    sleep(Duration::from_millis(1500)).await;
    let recent = k.ok(&["logs", "slow", "--since=1s"]).await?;
    ensure!(
        recent.is_empty(),
        "nothing was written in the last second: {recent}"
    );
    Ok(())
}

/// `--previous`: refused before a restart (kubelet's words), the first run's lines after.
async fn previous_run(lab: &Lab, uid: &str) -> anyhow::Result<()> {
    let k = &lab.kubectl;
    let none = k.fails(&["logs", "web", "--previous"], "").await?;
    ensure!(
        none.contains("previous terminated container \"app\" in pod \"web\" not found"),
        "{none}"
    );
    let restarted = SystemTime::now();
    run_to_end(lab, uid, "app").await?;
    let previous = stamped(&k.ok(&["logs", "web", "--previous", "--timestamps"]).await?)?;
    let current = stamped(&k.ok(&["logs", "web", "--timestamps"]).await?)?;
    ensure!(
        previous.len() == 5 && current.len() == 5,
        "{previous:?} {current:?}"
    );
    ensure!(
        previous.iter().all(|(t, _, _)| *t < restarted),
        "previous run: {previous:?}"
    );
    ensure!(
        current.iter().all(|(t, _, _)| *t >= restarted),
        "current run: {current:?}"
    );
    let tail = k.ok(&["logs", "web", "--previous", "--tail=1"]).await?;
    ensure!(tail.starts_with("error 4 calling"), "{tail}");
    Ok(())
}

/// `kubectl logs -f` shows lines while the container runs and ends when it does.
async fn follow(lab: &Lab) -> anyhow::Result<()> {
    // 5 s of lines, so the first ones arrive while it runs even on a loaded machine.
    let uid = lab.pod("stream", vec![counter("app", 50, 100)]).await?;
    lab.rt.start_container(&uid, "app").await?;
    let mut watch = lab.kubectl.spawn(&["logs", "-f", "stream"])?;
    watch
        .line_matching(Duration::from_secs(20), |l| {
            l.starts_with("error 0 calling")
        })
        .await?;
    let status = lab.rt.container_status(&uid, "app")?;
    ensure!(
        matches!(
            status.state,
            skiff_runtime_wasm::spec::ContainerState::Running { .. }
        ),
        "a line arrived while the container still ran: {:?}",
        status.state
    );
    watch
        .line_matching(Duration::from_secs(20), |l| {
            l.starts_with("error 49 calling")
        })
        .await?;
    let end = watch
        .line_matching(Duration::from_secs(10), |_| false)
        .await;
    let ended = end
        .err()
        .is_some_and(|e| e.to_string().contains("output ended"));
    ensure!(
        ended,
        "kubectl logs -f ends with the container; saw {:?}",
        watch.seen
    );
    ensure!(watch.seen.len() == 50, "every line once: {:?}", watch.seen);
    Ok(())
}

/// A pod of two containers: kubectl picks the first, `-c` the other, `--all-containers`
/// both; the raw API asks which.
async fn two_containers(lab: &Lab) -> anyhow::Result<()> {
    let uid = lab
        .pod("duo", vec![counter("one", 1, 10), counter("two", 2, 10)])
        .await?;
    run_to_end(lab, &uid, "one").await?;
    run_to_end(lab, &uid, "two").await?;
    let k = &lab.kubectl;
    ensure!(k.ok(&["logs", "duo"]).await?.lines().count() == 1);
    ensure!(k.ok(&["logs", "duo", "-c", "two"]).await?.lines().count() == 2);
    ensure!(
        k.ok(&["logs", "duo", "--all-containers"])
            .await?
            .lines()
            .count()
            == 3
    );
    let which = lab
        .admin
        .get("/api/v1/namespaces/default/pods/duo/log")
        .await?;
    let message = which.expect_status(400, "BadRequest")?;
    ensure!(
        message == "a container name must be specified for pod duo, choose one of: [one two]",
        "{message}"
    );
    Ok(())
}
