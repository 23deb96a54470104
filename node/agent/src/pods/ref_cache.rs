//! The node's shared reads of the ConfigMaps and Secrets its pods reference: one GET per
//! object serves every pod task that asks for it while it is in flight and for [`FRESH`]
//! after it was answered. The kubelet does not GET an object once per pod either: its
//! default (`Watch`) strategy keeps one reflector per referenced object for all pods, its
//! `Cache` strategy a TTL cache. In a burst of 1,000 pods of one namespace each pod's
//! projected `kube-root-ca.crt` was one GET; now a handful are.
//!
//! Only found objects are kept: a missing object (or a failed read) is asked for again by
//! the next caller, so a pod waiting for a ConfigMap starts as soon as it is created.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, Client};
use tokio::sync::OnceCell;
use tokio::time::Instant;

/// How long a found object answers later askers without a new GET.
pub const FRESH: Duration = Duration::from_millis(500);
/// Entries kept before stale ones are swept.
const SWEEP_AT: usize = 1024;

/// The outcome of one read: `Ok(None)` absent, `Err(())` unreadable (already logged).
pub type Read<K> = Result<Option<K>, ()>;

/// One object's read, shared by every asker.
struct Entry<K> {
    started: Instant,
    read: Arc<OnceCell<Read<K>>>,
}

/// Reads of one kind, by (namespace, name).
pub struct Shared<K> {
    entries: Mutex<HashMap<(String, String), Entry<K>>>,
    /// How long a found object is kept ([`FRESH`]).
    fresh: Duration,
}

impl<K> Default for Shared<K> {
    fn default() -> Self {
        Shared::keeping(FRESH)
    }
}

impl<K> Shared<K> {
    /// Shared reads that keep a found object for `fresh`.
    pub fn keeping(fresh: Duration) -> Self {
        Shared {
            entries: Mutex::new(HashMap::new()),
            fresh,
        }
    }
}

impl<K: Clone> Shared<K> {
    /// The read of `namespace/name` to join: the one in flight or fresh and found, else a
    /// new one (which the caller runs).
    fn join(&self, namespace: &str, name: &str, now: Instant) -> Arc<OnceCell<Read<K>>> {
        let mut entries = skiff_sync::lock(&self.entries);
        let key = (namespace.to_owned(), name.to_owned());
        if let Some(entry) = entries.get(&key)
            && usable(entry, now, self.fresh)
        {
            return entry.read.clone();
        }
        if entries.len() >= SWEEP_AT {
            entries.retain(|_, e| usable(e, now, self.fresh));
        }
        let read = Arc::new(OnceCell::new());
        entries.insert(
            key,
            Entry {
                started: now,
                read: read.clone(),
            },
        );
        read
    }

    /// `namespace/name`, read by `get` unless a shared read answers.
    pub async fn get<F, Fut>(&self, namespace: &str, name: &str, get: F) -> Read<K>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Read<K>>,
    {
        let read = self.join(namespace, name, Instant::now());
        read.get_or_init(get).await.clone()
    }
}

/// In flight, or answered with the object less than `fresh` ago.
fn usable<K>(entry: &Entry<K>, now: Instant, fresh: Duration) -> bool {
    match entry.read.get() {
        None => true,
        Some(Ok(Some(_))) => now.duration_since(entry.started) < fresh,
        Some(_) => false,
    }
}

/// The node's shared reads of ConfigMaps and Secrets: every pod that got one read holds the
/// same object. Cheap to share (`Arc`).
#[derive(Default)]
pub struct RefCache {
    pub config_maps: Shared<Arc<ConfigMap>>,
    pub secrets: Shared<Arc<Secret>>,
}

impl RefCache {
    pub async fn config_map(
        &self,
        client: &Client,
        namespace: &str,
        name: &str,
    ) -> Read<Arc<ConfigMap>> {
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
        (self.config_maps)
            .get(namespace, name, || get_one(api, name.to_owned()))
            .await
    }

    pub async fn secret(&self, client: &Client, namespace: &str, name: &str) -> Read<Arc<Secret>> {
        let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
        (self.secrets)
            .get(namespace, name, || get_one(api, name.to_owned()))
            .await
    }
}

/// `Ok(None)` when the object does not exist; `Err` (logged) when it could not be read.
async fn get_one<K>(api: Api<K>, name: String) -> Read<Arc<K>>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match crate::api::bounded(api.get_opt(&name)).await {
        // managedFields are dropped: nothing on the node reads them, and many pods share this.
        Ok(found) => Ok(found.map(|mut object| {
            object.meta_mut().managed_fields = None;
            Arc::new(object)
        })),
        Err(e) => {
            tracing::warn!(
                kind = %K::kind(&()),
                name,
                error = %e,
                "cannot read an object a pod references; retrying"
            );
            Err(())
        }
    }
}

#[cfg(test)]
#[path = "ref_cache_tests.rs"]
mod tests;
