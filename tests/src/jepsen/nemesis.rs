//! The [`Nemesis`]: process faults on a three-replica [`Cluster`] (kill -9 and restart, SIGSTOP
//! and SIGCONT), chosen by a seeded RNG (`JEPSEN_SEED` replays a run), separated by short
//! healthy gaps. The faults that caught the restarted-leader bug (whole-cluster restarts, the
//! leader restarted after 0.2-1.5 s) open every run and stay the most likely afterwards.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::{Instant, sleep};

use crate::cluster::Cluster;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// kill -9 the leader and restart it at once.
    LeaderKillNow,
    /// kill -9 the leader, restart it after 0.2-1.0 s.
    LeaderKillQuick,
    /// kill -9 the leader, restart it after 1.5 s.
    LeaderKill1500ms,
    /// kill -9 the leader, wait for a new one, restart the old one 4-6 s after the kill.
    LeaderKillLate,
    /// kill -9 a follower, restart it after 0.2-2 s.
    FollowerKill,
    /// SIGSTOP the leader for 0.5 s.
    LeaderPauseShort,
    /// SIGSTOP the leader for 3-5 s (a new leader is elected meanwhile).
    LeaderPauseLong,
    /// SIGSTOP a follower for 1-3 s.
    FollowerPause,
    /// kill -9 all three and restart them together at once.
    AllKillNow,
    /// kill -9 all three and restart them together after 1 s.
    AllKill1s,
}

/// Which faults a run injects: `opening` first, in order, then at random by weight.
#[derive(Clone, Copy, Debug)]
pub struct Mix {
    pub opening: &'static [Fault],
    pub weights: &'static [(Fault, u32)],
}

impl Mix {
    /// Every fault; the ones that caught the restarted-leader bug first and most often.
    pub const ALL: Mix = Mix {
        opening: &OPENING,
        weights: &WEIGHTS,
    };

    /// Only kills of the leader (quick restarts most often) and of the whole cluster.
    pub const LEADER_KILLS: Mix = Mix {
        opening: &[
            Fault::LeaderKill1500ms,
            Fault::LeaderKillQuick,
            Fault::AllKillNow,
        ],
        weights: &[
            (Fault::LeaderKillNow, 1),
            (Fault::LeaderKillQuick, 2),
            (Fault::LeaderKill1500ms, 2),
            (Fault::AllKillNow, 1),
        ],
    };
}

/// Run first, in this order, so that even a short run has the faults that matter most.
const OPENING: [Fault; 5] = [
    Fault::AllKillNow,
    Fault::LeaderKill1500ms,
    Fault::LeaderKillQuick,
    Fault::AllKill1s,
    Fault::LeaderKillNow,
];

/// Then each fault with this weight.
const WEIGHTS: [(Fault, u32); 10] = [
    (Fault::LeaderKillNow, 2),
    (Fault::LeaderKillQuick, 4),
    (Fault::LeaderKill1500ms, 4),
    (Fault::LeaderKillLate, 1),
    (Fault::FollowerKill, 1),
    (Fault::LeaderPauseShort, 1),
    (Fault::LeaderPauseLong, 1),
    (Fault::FollowerPause, 1),
    (Fault::AllKillNow, 3),
    (Fault::AllKill1s, 2),
];

/// How long a fault may wait for an agreed leader before it is skipped.
const LEADER_WAIT: Duration = Duration::from_secs(10);

pub struct Nemesis {
    pub seed: u64,
    rng: StdRng,
    /// Faults injected, by kind.
    pub injected: BTreeMap<Fault, usize>,
    /// Faults skipped because the cluster had no agreed leader within [`LEADER_WAIT`].
    pub skipped: usize,
}

impl Nemesis {
    /// Seeded from `JEPSEN_SEED` if set, else at random; prints the seed.
    pub fn from_env() -> anyhow::Result<Nemesis> {
        let seed = match std::env::var("JEPSEN_SEED") {
            Ok(s) => s.parse()?,
            Err(_) => rand::random(),
        };
        eprintln!("jepsen: nemesis seed {seed} (JEPSEN_SEED={seed} replays the choices)");
        Ok(Nemesis {
            seed,
            rng: StdRng::seed_from_u64(seed),
            injected: BTreeMap::new(),
            skipped: 0,
        })
    }

    /// A seed for another part of the test (e.g. the clients), derived from this one.
    pub fn derive_seed(&self, salt: u64) -> u64 {
        self.seed ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    /// The total number of faults injected.
    pub fn total(&self) -> usize {
        self.injected.values().sum()
    }

    /// Injects faults from `mix`, with 0.5-2 s healthy gaps, until `until`.
    pub async fn run(
        &mut self,
        cluster: &mut Cluster,
        mix: Mix,
        until: Instant,
    ) -> anyhow::Result<()> {
        let mut n = 0;
        while Instant::now() < until {
            let gap = self.rng.random_range(500..2000);
            sleep(Duration::from_millis(gap)).await;
            if Instant::now() >= until {
                break;
            }
            let fault = match mix.opening.get(n) {
                Some(&f) => f,
                None => self.pick(mix.weights),
            };
            n += 1;
            let started = Instant::now();
            if self.inject(cluster, fault).await? {
                *self.injected.entry(fault).or_default() += 1;
                eprintln!("jepsen: fault {n} {fault:?} took {:.1?}", started.elapsed());
            } else {
                self.skipped += 1;
                eprintln!("jepsen: fault {n} {fault:?} skipped: no agreed leader");
            }
        }
        Ok(())
    }

    fn pick(&mut self, weights: &[(Fault, u32)]) -> Fault {
        let total: u32 = weights.iter().map(|(_, w)| w).sum();
        let mut roll = self.rng.random_range(0..total);
        for &(fault, weight) in weights {
            if roll < weight {
                return fault;
            }
            roll -= weight;
        }
        weights[0].0
    }

    fn millis(&mut self, range: std::ops::Range<u64>) -> Duration {
        Duration::from_millis(self.rng.random_range(range))
    }

    /// Injects `fault` and undoes it; `false` if it was skipped for want of a leader.
    pub async fn inject(&mut self, cluster: &mut Cluster, fault: Fault) -> anyhow::Result<bool> {
        let needs_leader = !matches!(fault, Fault::AllKillNow | Fault::AllKill1s);
        let leader = if needs_leader {
            match cluster.leader(LEADER_WAIT).await {
                Ok(leader) => leader,
                Err(_) => return Ok(false),
            }
        } else {
            0
        };
        let follower = (leader + 1 + self.rng.random_range(0..2)) % 3;
        match fault {
            Fault::LeaderKillNow => kill_restart(cluster, leader, Duration::ZERO).await?,
            Fault::LeaderKillQuick => {
                let delay = self.millis(200..1000);
                kill_restart(cluster, leader, delay).await?
            }
            Fault::LeaderKill1500ms => {
                kill_restart(cluster, leader, Duration::from_millis(1500)).await?
            }
            Fault::LeaderKillLate => {
                let delay = self.millis(4000..6000);
                cluster.replicas[leader].kill9();
                let killed = Instant::now();
                // A new leader among the two others, then the old one back.
                let _ = cluster.leader(LEADER_WAIT).await;
                sleep(delay.saturating_sub(killed.elapsed())).await;
                cluster.replicas[leader].restart().await?;
            }
            Fault::FollowerKill => {
                let delay = self.millis(200..2000);
                kill_restart(cluster, follower, delay).await?
            }
            Fault::LeaderPauseShort => pause(cluster, leader, Duration::from_millis(500)).await?,
            Fault::LeaderPauseLong => {
                let delay = self.millis(3000..5000);
                pause(cluster, leader, delay).await?
            }
            Fault::FollowerPause => {
                let delay = self.millis(1000..3000);
                pause(cluster, follower, delay).await?
            }
            Fault::AllKillNow => kill_all(cluster, Duration::ZERO).await?,
            Fault::AllKill1s => kill_all(cluster, Duration::from_secs(1)).await?,
        }
        Ok(true)
    }

    /// Faults injected by kind, on one line.
    pub fn summary(&self) -> String {
        let kinds: Vec<String> = self
            .injected
            .iter()
            .map(|(f, n)| format!("{f:?} {n}"))
            .collect();
        format!(
            "{} faults injected ({}), {} skipped (no leader); seed {}",
            self.total(),
            kinds.join(", "),
            self.skipped,
            self.seed
        )
    }
}

async fn kill_restart(cluster: &mut Cluster, i: usize, delay: Duration) -> anyhow::Result<()> {
    cluster.replicas[i].kill9();
    sleep(delay).await;
    cluster.replicas[i].restart().await
}

async fn pause(cluster: &mut Cluster, i: usize, delay: Duration) -> anyhow::Result<()> {
    let replica = &cluster.replicas[i];
    replica.pause()?;
    sleep(delay).await;
    replica.resume()
}

async fn kill_all(cluster: &mut Cluster, delay: Duration) -> anyhow::Result<()> {
    for replica in &mut cluster.replicas {
        replica.kill9();
    }
    sleep(delay).await;
    for replica in &mut cluster.replicas {
        replica.spawn()?;
    }
    for replica in &mut cluster.replicas {
        replica.wait_ready(Duration::from_secs(60)).await?;
    }
    Ok(())
}

/// Undoes whatever a failed or interrupted fault left: resumes every replica, starts any that
/// is down.
pub async fn heal(cluster: &mut Cluster) -> anyhow::Result<()> {
    for replica in &mut cluster.replicas {
        if replica.is_running() {
            replica.resume()?;
        } else {
            replica.restart().await?;
        }
    }
    Ok(())
}
