//! The agent's tunnel outlives a replica: killed and restarted, the replica gets the tunnel
//! back (the agent redials with back-off) and `kubectl logs` works again.

use std::time::Duration;

use anyhow::ensure;
use skiff_tests::run_bounded;
use tokio::time::{sleep, timeout};

use crate::support::{Lab, NODE, counter};

#[test]
fn the_tunnel_comes_back_after_the_replica_restarts() {
    run_bounded(
        "the_tunnel_comes_back_after_the_replica_restarts",
        Duration::from_secs(180),
        scenario(),
    );
}

async fn scenario() -> anyhow::Result<()> {
    let mut lab = Lab::start("logs-reconnect").await?;
    let token = lab.join(NODE).await?;
    let uid = lab.pod("web", vec![counter("app", 2, 10)]).await?;
    lab.rt.start_container(&uid, "app").await?;
    timeout(Duration::from_secs(60), lab.rt.wait_container(&uid, "app")).await??;
    let (stop, tunnel) = lab.tunnel(token)?;
    lab.wait_for_tunnel("web").await?;

    lab.replica.kill9();
    // The agent notices at once (the connection is reset) and starts redialling.
    sleep(Duration::from_millis(1500)).await;
    lab.replica.restart().await?;
    // Redials back off up to 30 s between attempts.
    lab.wait_for_tunnel_within("web", Duration::from_secs(45))
        .await?;
    let lines = lab.kubectl.ok(&["logs", "web"]).await?;
    ensure!(lines.lines().count() == 2, "{lines}");
    stop.cancel();
    tunnel.await??;
    lab.rt.shutdown(Duration::ZERO).await;
    Ok(())
}
