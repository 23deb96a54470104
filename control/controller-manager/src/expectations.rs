//! kube-controller-manager's expectations (`controller.ControllerExpectations`): after a
//! ReplicaSet creates or deletes pods, it does not decide again until the pod cache shows
//! those pods created and gone, or until a timeout. Without them a lagging cache would make
//! the next reconcile create the same missing pods a second time.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::time::Instant;

/// The pods one owner waits to see appear (by name) and vanish (by uid or name).
#[derive(Debug)]
struct Pending {
    appear: HashSet<String>,
    vanish: HashSet<String>,
    since: Instant,
}

/// Expectations of every owner, by `namespace/name`.
#[derive(Debug)]
pub(crate) struct Expectations {
    pending: Mutex<HashMap<String, Pending>>,
    /// After this long the owner decides anyway (kube: 5 minutes), in case a watch event was
    /// lost for good.
    timeout: Duration,
}

impl Expectations {
    pub(crate) fn new(timeout: Duration) -> Expectations {
        Expectations {
            pending: Mutex::new(HashMap::new()),
            timeout,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        skiff_sync::lock(&self.pending)
    }

    /// Records that `owner` created the pods `created` and deleted the pods `deleted`.
    pub(crate) fn expect(&self, owner: &str, created: Vec<String>, deleted: Vec<String>) {
        if created.is_empty() && deleted.is_empty() {
            return;
        }
        let mut pending = self.lock();
        let entry = pending.entry(owner.to_owned()).or_insert_with(|| Pending {
            appear: HashSet::new(),
            vanish: HashSet::new(),
            since: Instant::now(),
        });
        entry.appear.extend(created);
        entry.vanish.extend(deleted);
        entry.since = Instant::now();
    }

    /// Whether `owner` may decide: everything it expects shows in `pods` (then the
    /// expectations are forgotten), or they timed out.
    pub(crate) fn satisfied(&self, owner: &str, namespace: &str, pods: &Store<Pod>) -> bool {
        let mut pending = self.lock();
        let Some(entry) = pending.get_mut(owner) else {
            return true;
        };
        let seen = |name: &str| pods.get(&ObjectRef::new(name).within(namespace));
        entry.appear.retain(|name| seen(name).is_none());
        entry
            .vanish
            .retain(|name| seen(name).is_some_and(|p| p.metadata.deletion_timestamp.is_none()));
        let done = entry.appear.is_empty() && entry.vanish.is_empty();
        if done || entry.since.elapsed() >= self.timeout {
            if !done {
                tracing::warn!("controller-manager: expectations of {owner} timed out");
            }
            pending.remove(owner);
            return true;
        }
        false
    }
}
