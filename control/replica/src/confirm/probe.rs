//! Asking the voters: a round's `ReadProbe`s, hedged when the first peers are slow, with a cap
//! on the probes any one peer may have outstanding.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::{Confirmer, LeaderId};
use crate::stream::Kind;

/// How long a probe may take before the round falls back to openraft's ReadIndex.
const PROBE_TIMEOUT: Duration = Duration::from_millis(300);
/// Probes one peer may have outstanding. A slow or dead peer is skipped rather than stacking
/// up probes (and dials) behind it; the round then needs the other voters.
const MAX_OUTSTANDING: usize = 2;
/// How long a round waits on the peers it asked first before asking the rest as well.
const HEDGE: Duration = Duration::from_millis(1);

/// A probe under way: the peer's address and whether it confirmed, once answered.
type Probe = Pin<Box<dyn Future<Output = (String, bool)> + Send>>;

impl Confirmer {
    /// Asks just `needed` peers first, the one that confirmed last time among them, and more
    /// only when one says no, fails, or has not answered within [`HEDGE`]: on a small machine
    /// every probe costs a process wake-up that competes with the read itself.
    pub(super) async fn ask(
        &self,
        mut peers: Vec<String>,
        mut needed: usize,
        leader: LeaderId,
    ) -> bool {
        if let Some(first) = skiff_sync::lock(&self.preferred).as_ref()
            && let Some(at) = peers.iter().position(|p| p == first)
        {
            peers.swap(0, at);
        }
        let mut waiting = peers.into_iter();
        let mut probes = FuturesUnordered::new();
        self.launch(&mut probes, &mut waiting, needed, leader);
        let hedge = tokio::time::sleep(HEDGE);
        tokio::pin!(hedge);
        let mut hedged = false;
        loop {
            tokio::select! {
                Some((addr, follows)) = probes.next() => {
                    if !follows {
                        self.launch(&mut probes, &mut waiting, 1, leader);
                    } else {
                        needed -= 1;
                        if needed == 0 {
                            *skiff_sync::lock(&self.preferred) = Some(addr);
                            break;
                        }
                    }
                }
                () = &mut hedge, if !hedged => {
                    hedged = true;
                    self.launch(&mut probes, &mut waiting, usize::MAX, leader);
                }
                else => break,
            }
            if probes.is_empty() && waiting.len() == 0 {
                break;
            }
        }
        if !probes.is_empty() {
            // Let the slower probes finish so their connections go back to the pool.
            tokio::spawn(async move { while probes.next().await.is_some() {} });
        }
        needed == 0
    }

    /// Starts probes to up to `count` more of the `waiting` peers, passing over any that has
    /// too many outstanding.
    fn launch(
        &self,
        probes: &mut FuturesUnordered<Probe>,
        waiting: &mut std::vec::IntoIter<String>,
        count: usize,
        leader: LeaderId,
    ) {
        let mut started = 0;
        while started < count
            && let Some(addr) = waiting.next()
        {
            if let Some(probe) = self.probe(addr, leader) {
                probes.push(probe);
                started += 1;
            }
        }
    }

    /// One probe to `addr`, or `None` if that peer already has too many outstanding. It
    /// answers with the address and whether that peer confirmed.
    fn probe(&self, addr: String, leader: LeaderId) -> Option<Probe> {
        let slot = Outstanding::take(&self.outstanding, addr)?;
        let pool = self.pool.clone();
        Some(Box::pin(async move {
            let answer: Result<bool, _> = pool
                .call(&slot.addr, Kind::ReadProbe, &leader, PROBE_TIMEOUT)
                .await;
            let follows = answer.unwrap_or_else(|e| {
                tracing::debug!("read probe to {}: {e}", slot.addr);
                false
            });
            (slot.addr.clone(), follows)
        }))
    }
}

/// One outstanding probe to a peer, counted until it is dropped.
struct Outstanding {
    counts: Arc<Mutex<HashMap<String, usize>>>,
    addr: String,
}

impl Outstanding {
    /// Counts a probe to `addr`, or `None` if that peer already has [`MAX_OUTSTANDING`].
    fn take(counts: &Arc<Mutex<HashMap<String, usize>>>, addr: String) -> Option<Outstanding> {
        let mut map = skiff_sync::lock(counts);
        let count = map.entry(addr.clone()).or_default();
        if *count >= MAX_OUTSTANDING {
            return None;
        }
        *count += 1;
        Some(Outstanding {
            counts: counts.clone(),
            addr,
        })
    }
}

impl Drop for Outstanding {
    fn drop(&mut self) {
        // Plain counters, valid even if a holder panicked.
        let mut map = skiff_sync::lock(&self.counts);
        if let Some(count) = map.get_mut(&self.addr) {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.addr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn probes_to_a_peer_are_capped_and_released() {
        let counts = Arc::new(Mutex::new(HashMap::new()));
        let first = Outstanding::take(&counts, "a".into()).expect("first");
        let second = Outstanding::take(&counts, "a".into()).expect("second");
        assert!(
            Outstanding::take(&counts, "a".into()).is_none(),
            "over the cap"
        );
        assert!(
            Outstanding::take(&counts, "b".into()).is_some(),
            "other peers unaffected"
        );
        drop(first);
        let third = Outstanding::take(&counts, "a".into()).expect("a slot freed");
        drop((second, third));
        assert!(skiff_sync::lock(&counts).is_empty(), "no entry lingers");
    }
}
