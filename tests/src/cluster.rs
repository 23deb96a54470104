//! [`Cluster`]: one replica that bootstraps and others that join it, with a KV client each, and
//! helpers to find the leader and wait for replicas to converge.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::time::{Instant, sleep};

use crate::client::KvClient;
use crate::kv::Kv;
use crate::process::{Replica, ReplicaOptions};

pub struct Cluster {
    pub replicas: Vec<Replica>,
    /// `clients[i]` talks to `replicas[i]` (and keeps working across its restarts).
    pub clients: Vec<KvClient>,
}

impl Cluster {
    /// Starts `n` replicas: `options(0)` bootstraps, the others join it one after the other.
    pub async fn start(
        n: usize,
        options: impl Fn(usize) -> ReplicaOptions,
    ) -> anyhow::Result<Cluster> {
        let first = Replica::start(options(0))
            .await
            .context("starting the first replica")?;
        let token = first.join_token()?;
        let join_url = first.url();
        let mut replicas = vec![first];
        for i in 1..n {
            let opts = options(i).args([
                "--join".to_owned(),
                join_url.clone(),
                "--token".to_owned(),
                token.clone(),
            ]);
            replicas.push(
                Replica::start(opts)
                    .await
                    .with_context(|| format!("starting replica {i}"))?,
            );
        }
        let clients = replicas
            .iter()
            .map(Replica::client)
            .collect::<anyhow::Result<_>>()?;
        let cluster = Cluster { replicas, clients };
        cluster.leader(Duration::from_secs(10)).await?;
        Ok(cluster)
    }

    /// The index of the leader that every running replica reports, waiting up to `limit`.
    pub async fn leader(&self, limit: Duration) -> anyhow::Result<usize> {
        let deadline = Instant::now() + limit;
        loop {
            let mut seen = Vec::new();
            for (i, replica) in self.replicas.iter().enumerate() {
                if replica.is_running() {
                    seen.push(self.clients[i].leader().await);
                }
            }
            if let Some(Some(id)) = seen.first()
                && seen.iter().all(|s| *s == Some(*id))
                && let Some(index) = self
                    .replicas
                    .iter()
                    .position(|r| r.id == *id && r.is_running())
            {
                return Ok(index);
            }
            if Instant::now() >= deadline {
                bail!("no agreed, running leader within {limit:?}: replicas report {seen:?}");
            }
            sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until every running replica's serializable view of `prefix` is at least at
    /// `revision` and all views are identical; returns that view.
    pub async fn converged(
        &self,
        prefix: &str,
        revision: u64,
        limit: Duration,
    ) -> anyhow::Result<BTreeMap<String, Kv>> {
        let deadline = Instant::now() + limit;
        loop {
            let mut views = Vec::new();
            let mut problem = None;
            for (i, client) in self.clients.iter().enumerate() {
                if !self.replicas[i].is_running() {
                    continue;
                }
                match client.range(prefix, true, true, None).await {
                    Ok(r) if r.revision >= revision && !r.more => views.push(
                        r.kvs
                            .into_iter()
                            .map(|kv| (kv.key.clone(), kv))
                            .collect::<BTreeMap<_, _>>(),
                    ),
                    Ok(r) => {
                        problem = Some(format!(
                            "replica {i} at revision {} (more: {})",
                            r.revision, r.more
                        ))
                    }
                    Err(e) => problem = Some(format!("replica {i}: {e}")),
                }
            }
            if problem.is_none() && views.windows(2).all(|w| w[0] == w[1]) {
                return views.pop().context("no running replica");
            }
            if problem.is_none() {
                problem = Some("replicas at the revision disagree on the contents".into());
            }
            if Instant::now() >= deadline {
                bail!(
                    "replicas did not converge on {prefix:?} at revision {revision} within {limit:?}: {problem:?}"
                );
            }
            sleep(Duration::from_millis(200)).await;
        }
    }
}
