//! Reporting traffic for scale-to-zero. The proxy notes the last connection to every
//! Service marked for scale-to-zero ([`SCALE_TARGET_ANNOTATION`]); at once for the first
//! connection after a quiet spell, then at most once per [`REPORT_PERIOD`] (and at once
//! before a wake-up) it writes them on its own Node, in the
//! annotation [`ACTIVITY_ANNOTATION`]: a JSON object from `namespace/name` to the RFC 3339
//! time of the last connection this node saw. The scale-to-zero controller reads every
//! Node's. A Node is the one object a node may already patch, so reporting needs no new
//! permission, and one write per node per period carries every Service.
//!
//! [`SCALE_TARGET_ANNOTATION`]: crate::table::SCALE_TARGET_ANNOTATION

use crate::proxy::Proxy;
use crate::table::ServiceKey;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, Patch, PatchParams};
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The Node annotation holding the last connection per scale-to-zero Service.
pub const ACTIVITY_ANNOTATION: &str = "skiff.io/service-activity";
/// How often new activity is written.
pub const REPORT_PERIOD: Duration = Duration::from_secs(5);

/// Writes this node's activity annotation.
pub(crate) struct Reporter {
    pub nodes: Api<Node>,
    pub node: String,
    /// Everything reported so far, `namespace/name` to RFC 3339.
    reported: Mutex<BTreeMap<String, String>>,
    /// One write at a time, so an older map never lands after a newer one.
    writing: tokio::sync::Mutex<()>,
}

impl Reporter {
    pub(crate) fn new(nodes: Api<Node>, node: String) -> Reporter {
        Reporter {
            nodes,
            node,
            reported: Mutex::default(),
            writing: tokio::sync::Mutex::new(()),
        }
    }

    /// Until `shutdown`: the Services that saw connections, written to the Node as soon as
    /// a connection comes after a quiet spell, then at most once per [`REPORT_PERIOD`].
    pub(crate) async fn run(&self, proxy: &Proxy, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = proxy.activity_noted() => {}
            }
            let seen = proxy.take_activity();
            let live: HashSet<ServiceKey> = proxy
                .routes()
                .ports
                .iter()
                .filter(|p| p.wake.is_some())
                .map(|p| p.service.clone())
                .collect();
            let changed = self.merge(seen, &live);
            if changed && let Err(e) = self.write().await {
                tracing::warn!(node = %self.node, "reporting Service activity: {e}");
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(REPORT_PERIOD) => {}
            }
        }
    }

    /// Reports `service` active now and waits for the write.
    pub(crate) async fn report_now(&self, service: &ServiceKey) -> Result<(), kube::Error> {
        let seen = [(service.clone(), Instant::now())].into_iter().collect();
        self.merge_into(seen, None);
        self.write().await
    }

    /// Adds `seen` to the report and drops Services no longer marked; whether it changed.
    fn merge(
        &self,
        seen: std::collections::HashMap<ServiceKey, Instant>,
        live: &HashSet<ServiceKey>,
    ) -> bool {
        self.merge_into(seen, Some(live))
    }

    fn merge_into(
        &self,
        seen: std::collections::HashMap<ServiceKey, Instant>,
        live: Option<&HashSet<ServiceKey>>,
    ) -> bool {
        let mut reported = skiff_sync::lock(&self.reported);
        let before = reported.len();
        if let Some(live) = live {
            reported.retain(|k, _| {
                k.split_once('/')
                    .is_some_and(|(ns, name)| live.contains(&(ns.to_owned(), name.to_owned())))
            });
        }
        let mut changed = reported.len() != before;
        for ((namespace, name), at) in seen {
            reported.insert(format!("{namespace}/{name}"), wall_clock(at));
            changed = true;
        }
        changed
    }

    async fn write(&self) -> Result<(), kube::Error> {
        let _one = self.writing.lock().await;
        let value = serde_json::to_string(&*skiff_sync::lock(&self.reported)).unwrap_or_default();
        let patch = serde_json::json!({"metadata": {"annotations": {ACTIVITY_ANNOTATION: value}}});
        self.nodes
            .patch(&self.node, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        tracing::debug!(node = %self.node, %value, "reported Service activity");
        Ok(())
    }
}

/// `at` as an RFC 3339 time in whole seconds, rounded up: the controller, counting whole
/// seconds, never sees a connection as older than it is.
fn wall_clock(at: Instant) -> String {
    let ago = SignedDuration::try_from(at.elapsed()).unwrap_or(SignedDuration::ZERO);
    let now = Timestamp::now();
    let when = now.checked_sub(ago).unwrap_or(now);
    let second = when.as_second() + i64::from(when.subsec_nanosecond() > 0);
    Timestamp::from_second(second).unwrap_or(when).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_reported_at_its_second_rounded_up() {
        let before = Timestamp::now().as_second();
        let reported: Timestamp = wall_clock(Instant::now()).parse().unwrap();
        let after = Timestamp::now().as_second();
        assert_eq!(reported.subsec_nanosecond(), 0);
        assert!(reported.as_second() >= before && reported.as_second() <= after + 1);
        let old: Timestamp = wall_clock(Instant::now() - Duration::from_secs(100))
            .parse()
            .unwrap();
        assert!(
            (before - 101..=after - 99).contains(&old.as_second()),
            "{old}"
        );
    }
}
