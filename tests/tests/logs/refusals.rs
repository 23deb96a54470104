//! What is refused: another node's pod's log (403), a log whose node has no tunnel to the
//! replica (503 naming the node, also when another node's tunnel is open), and tunnels
//! opened without a node's token or without the upgrade.

use std::time::Duration;

use anyhow::ensure;
use skiff_tests::{ApiClient, run_bounded};
use tokio::time::{Instant, sleep};

use crate::support::{Lab, NODE};

#[test]
fn logs_are_refused_to_other_nodes_and_without_a_tunnel() {
    run_bounded(
        "logs_are_refused_to_other_nodes_and_without_a_tunnel",
        Duration::from_secs(120),
        scenario(),
    );
}

const LOG: &str = "/api/v1/namespaces/default/pods/web/log";

async fn scenario() -> anyhow::Result<()> {
    let lab = Lab::start("logs-refused").await?;
    let own = lab.join(NODE).await?;
    let other = lab.join("edge-2").await?;
    lab.api_pod("web", &["app"]).await?;

    let foreign = ApiClient::with_token(&lab.replica, Some(&other))?;
    let message = foreign.get(LOG).await?.expect_status(403, "Forbidden")?;
    ensure!(
        message.contains("User \"system:node:edge-2\" cannot get resource \"pods/log\""),
        "{message}"
    );
    let mine = ApiClient::with_token(&lab.replica, Some(&own))?;
    let message = mine
        .get(LOG)
        .await?
        .expect_status(503, "ServiceUnavailable")?;
    ensure!(
        message.contains("node \"edge-1\" has no tunnel"),
        "{message}"
    );

    // edge-2's tunnel does not serve edge-1's pods.
    let (stop, tunnel) = lab.tunnel(other.clone())?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !plain(&lab.replica.all_stderr()).contains("node tunnel open node=edge-2") {
        ensure!(Instant::now() < deadline, "edge-2's tunnel did not open");
        sleep(Duration::from_millis(100)).await;
    }
    let refused = lab.kubectl.fails(&["logs", "web"], "").await?;
    ensure!(
        refused.contains("node \"edge-1\" has no tunnel"),
        "{refused}"
    );
    stop.cancel();
    tunnel.await??;

    let tunnel_path = "/skiff/v1/tunnel";
    ApiClient::with_token(&lab.replica, None)?
        .get(tunnel_path)
        .await?
        .expect_status(401, "Unauthorized")?;
    lab.admin
        .get(tunnel_path)
        .await?
        .expect_status(403, "Forbidden")?;
    let message = mine
        .get(tunnel_path)
        .await?
        .expect_status(400, "BadRequest")?;
    ensure!(message.contains("Upgrade: skiff-tunnel/1"), "{message}");
    lab.rt.shutdown(Duration::ZERO).await;
    Ok(())
}

/// `text` without its ANSI colour sequences (`ESC [ ... m`).
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_escape = false;
    for c in text.chars() {
        match (in_escape, c) {
            (false, '\u{1b}') => in_escape = true,
            (false, c) => out.push(c),
            (true, 'm') => in_escape = false,
            (true, _) => {}
        }
    }
    out
}
