//! The RBAC policy in memory: every Role, ClusterRole and binding of this replica's store,
//! fed by one list-then-watch of the RBAC key prefix (as kube-apiserver's RBAC authorizer reads
//! informer caches), so authorising a request reads nothing from the store. While the cache is
//! not in sync (before the first list, or after its watch broke) the policy is read from the
//! local store instead. Each change also wakes the aggregation loop.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::Value;
use skiff_api::rbac::Policy;
use skiff_api::status::ApiError;
use skiff_replica::Replica;
use skiff_replica::ops::Consistency;
use skiff_store::ListOptions;
use skiff_store::types::{Event, EventKind, KeyValue};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::local_index::{self, LocalIndex};
use crate::objects::read_error;

/// The storage prefix of all four RBAC resources.
pub(crate) fn prefix() -> String {
    format!("/registry/{}/", skiff_api::rbac::GROUP)
}

/// `roles` from `/registry/rbac.authorization.k8s.io/roles/<ns>/<name>`.
fn plural_of(key: &str) -> Option<&str> {
    key.strip_prefix(&prefix())?.split('/').next()
}

/// Builds the policy from stored objects.
fn policy_of<'a>(objects: impl Iterator<Item = (&'a str, &'a Value)>) -> Policy {
    let mut policy = Policy::default();
    for (key, obj) in objects {
        if let Some(plural) = plural_of(key) {
            policy.insert(plural, obj);
        }
    }
    policy
}

fn decode(kv: &KeyValue) -> Option<Value> {
    serde_json::from_slice(&kv.value).ok()
}

/// The policy as the store holds it: `Linearizable` for escalation checks, which must see a
/// role written a moment ago (kube-apiserver reads roles from storage for them, not from its
/// informers).
pub(crate) async fn read_policy(
    replica: &Replica,
    consistency: Consistency,
) -> Result<Arc<Policy>, ApiError> {
    let page = replica
        .list(&prefix(), &ListOptions::default(), consistency)
        .await
        .map_err(read_error)?;
    let objects: Vec<(String, Value)> = page
        .kvs
        .iter()
        .filter_map(|kv| Some((kv.key.clone(), decode(kv)?)))
        .collect();
    Ok(Arc::new(policy_of(
        objects.iter().map(|(k, v)| (k.as_str(), v)),
    )))
}

#[derive(Default)]
pub(crate) struct PolicyCache {
    /// Storage key -> object, as this replica has applied them.
    objects: RwLock<BTreeMap<String, Value>>,
    /// The policy built from `objects`, rebuilt on each change.
    policy: RwLock<Arc<Policy>>,
    synced: AtomicBool,
    /// Woken on every change (the aggregation loop waits on it).
    pub(crate) changed: Notify,
}

impl PolicyCache {
    /// The policy in force on this replica: from memory when in sync, else from the local store.
    pub(crate) async fn policy(&self, replica: &Replica) -> Result<Arc<Policy>, ApiError> {
        if self.synced.load(Ordering::Acquire) {
            return Ok(skiff_sync::read(&self.policy).clone());
        }
        read_policy(replica, Consistency::Serializable).await
    }

    fn rebuild(&self, objects: &BTreeMap<String, Value>) {
        let policy = policy_of(objects.iter().map(|(k, v)| (k.as_str(), v)));
        *skiff_sync::write(&self.policy) = Arc::new(policy);
        self.changed.notify_one();
    }

    /// Keeps the cache fed from `replica` until `shutdown`.
    pub(crate) async fn run(self: Arc<Self>, replica: Arc<Replica>, shutdown: CancellationToken) {
        local_index::feed(self, replica, prefix(), shutdown).await;
    }
}

impl LocalIndex for PolicyCache {
    fn describes(&self) -> &'static str {
        "RBAC objects"
    }

    fn reset(&self, kvs: Vec<KeyValue>) {
        let fresh: BTreeMap<String, Value> = kvs
            .iter()
            .filter_map(|kv| Some((kv.key.clone(), decode(kv)?)))
            .collect();
        self.rebuild(&fresh);
        *skiff_sync::write(&self.objects) = fresh;
        self.synced.store(true, Ordering::Release);
    }

    fn apply(&self, event: &Event) {
        let mut objects = skiff_sync::write(&self.objects);
        match (&event.kind, decode(&event.kv)) {
            (EventKind::Put, Some(obj)) => {
                objects.insert(event.kv.key.clone(), obj);
            }
            _ => {
                objects.remove(&event.kv.key);
            }
        }
        self.rebuild(&objects);
    }

    fn unsync(&self) {
        self.synced.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_name_their_resource() {
        let key = "/registry/rbac.authorization.k8s.io/rolebindings/dev/x";
        assert_eq!(plural_of(key), Some("rolebindings"));
        assert_eq!(plural_of("/registry/core/pods/a/b"), None);
        let role = json!({"metadata": {"name": "r", "namespace": "dev"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]});
        let key = "/registry/rbac.authorization.k8s.io/roles/dev/r".to_owned();
        let policy = policy_of(std::iter::once((key.as_str(), &role)));
        let role_ref = skiff_api::rbac::RoleRef {
            api_group: skiff_api::rbac::GROUP.into(),
            kind: "Role".into(),
            name: "r".into(),
        };
        assert_eq!(policy.role_rules(&role_ref, "dev").map(<[_]>::len), Some(1));
    }
}
