//! The scenarios: each injects one fault into a healthy cluster under load, measures, and
//! leaves the cluster healthy again (every replica running and agreeing on a leader).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use skiff_tests::Cluster;
use tokio::time::{Instant, sleep, timeout};

use super::Scenario;
use super::writers::Load;

/// How long writes may stay stopped before the round counts as failed.
const GIVE_UP: Duration = Duration::from_secs(30);
/// Quiet time before each fault, so the previous one's effects are over.
const SETTLE: Duration = Duration::from_secs(2);
/// How long after a follower resumes its effect on writes is looked for.
const AFTER_RESUME: Duration = Duration::from_secs(3);

/// What one fault did.
pub struct Measured {
    pub gap: Duration,
    pub elected: Option<Duration>,
    pub writes_per_sec: f64,
}

pub async fn inject(
    cluster: &mut Cluster,
    load: &Load,
    scenario: Scenario,
    pause: Duration,
) -> Result<Measured> {
    sleep(SETTLE).await;
    let leader = agreed_leader(cluster, None, GIVE_UP).await?;
    let writes_per_sec = load
        .acks_since(Instant::now() - Duration::from_secs(1))
        .len() as f64;
    let measured = match scenario {
        Scenario::KillLeader | Scenario::PauseLeader => {
            leader_fault(cluster, load, leader, scenario == Scenario::PauseLeader).await?
        }
        Scenario::PauseFollower => follower_pause(cluster, load, (leader + 1) % 3, pause).await?,
    };
    Ok(Measured {
        writes_per_sec,
        ..measured
    })
}

/// Kills or pauses the leader; measures until the first write sent after the fault is
/// acknowledged; then restarts or resumes it.
async fn leader_fault(
    cluster: &mut Cluster,
    load: &Load,
    leader: usize,
    pause: bool,
) -> Result<Measured> {
    let fault_at = Instant::now();
    if pause {
        cluster.replicas[leader].pause()?;
    } else {
        cluster.replicas[leader].kill9();
    }
    let elected = async {
        agreed_leader(cluster, Some(leader), GIVE_UP)
            .await
            .map(|_| fault_at.elapsed())
    };
    let first = load.first_ack_sent_after(fault_at, GIVE_UP);
    let (elected, first) = tokio::join!(elected, first);
    if pause {
        cluster.replicas[leader].resume()?;
    } else {
        cluster.replicas[leader].restart().await?;
    }
    let first = first.context("no write was acknowledged after the fault")?;
    Ok(Measured {
        gap: first - fault_at,
        elected: Some(elected?),
        writes_per_sec: 0.0,
    })
}

/// Pauses `follower` for `pause`, resumes it, and measures the longest stall of the writes
/// around the resume.
async fn follower_pause(
    cluster: &mut Cluster,
    load: &Load,
    follower: usize,
    pause: Duration,
) -> Result<Measured> {
    cluster.replicas[follower].pause()?;
    sleep(pause).await;
    let resumed_at = Instant::now();
    cluster.replicas[follower].resume()?;
    sleep(AFTER_RESUME).await;
    let from = resumed_at - Duration::from_millis(200);
    let acks: Vec<Instant> = load
        .acks_since(from)
        .into_iter()
        .filter(|t| *t <= resumed_at + AFTER_RESUME)
        .collect();
    let mut marks = vec![from];
    marks.extend(acks);
    marks.push(resumed_at + AFTER_RESUME);
    let gap = marks
        .windows(2)
        .map(|w| w[1].saturating_duration_since(w[0]))
        .max()
        .unwrap_or_default();
    Ok(Measured {
        gap,
        elected: None,
        writes_per_sec: 0.0,
    })
}

/// The index of the leader that every running replica other than `skip` names, once they
/// agree on one that is not `skip`. Replicas are asked with a short timeout, so a paused one
/// (`skip`) is never waited on.
async fn agreed_leader(cluster: &Cluster, skip: Option<usize>, limit: Duration) -> Result<usize> {
    let deadline = Instant::now() + limit;
    loop {
        let mut named = Vec::new();
        for (i, client) in cluster.clients.iter().enumerate() {
            if Some(i) == skip || !cluster.replicas[i].is_running() {
                continue;
            }
            let answer = timeout(Duration::from_millis(300), client.leader()).await;
            named.push(answer.ok().flatten());
        }
        if let Some(Some(id)) = named.first()
            && named.iter().all(|n| *n == Some(*id))
            && let Some(index) = cluster.replicas.iter().position(|r| r.id == *id)
            && Some(index) != skip
        {
            return Ok(index);
        }
        if Instant::now() >= deadline {
            bail!("no agreed leader within {limit:?}: replicas name {named:?}");
        }
        sleep(Duration::from_millis(5)).await;
    }
}
