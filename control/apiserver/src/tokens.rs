//! The token index: bearer tokens of node and service-account token Secrets, held in memory and
//! fed by a watch on this replica's store (as kube-apiserver's secret-based token authenticators
//! read an informer cache), so a node or service account authenticates with no store read.
//!
//! The feeder lists the token Secrets from the local replica, then follows their watch; a
//! deleted Secret leaves the index as soon as this replica applies the delete. While the index
//! is not in sync (before the first list, or after the watch broke) lookups say so and the
//! caller reads the store instead. Tokens are keyed by their SHA-256, so a lookup compares
//! digests, never the secret bytes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::auth::{Identity, NODE_TOKEN_TYPE, SA_TOKEN_TYPE, TOKEN_NAMESPACE};
use super::local_index::{self, LocalIndex};
use skiff_replica::Replica;
use skiff_store::types::{Event, EventKind, KeyValue};

/// How long a token that a store read found in no Secret is refused without reading again.
const MISS_TTL: Duration = Duration::from_secs(1);
/// Remembered misses at most; the memory is cleared when full.
const MAX_MISSES: usize = 4096;

type TokenDigest = [u8; 32];

/// Token digests -> identities, plus which Secret key holds which digest.
#[derive(Default)]
struct Entries {
    by_digest: HashMap<TokenDigest, Identity>,
    /// Storage key of each token Secret -> its token's digest (to forget it on delete).
    by_key: HashMap<String, TokenDigest>,
}

#[derive(Default)]
pub(crate) struct TokenIndex {
    entries: RwLock<Entries>,
    /// The index reflects the local store (listed, and the watch is running).
    synced: AtomicBool,
    /// Authentications that had to read the store (a miss, or the index not in sync).
    store_lookups: AtomicU64,
    /// Tokens a store read did not find, and when: a repeated bad token costs no new read.
    misses: Mutex<HashMap<TokenDigest, Instant>>,
    /// Store reads for unknown tokens run one at a time, so a flood of bad tokens puts at most
    /// one list of Secrets on the store at once.
    store_reads: tokio::sync::Mutex<()>,
}

/// What a lookup in the index says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    Found(Identity),
    /// In sync, and no Secret carries this token (on this replica).
    Unknown,
    /// Not in sync: ask the store.
    NotSynced,
}

fn digest(token: &[u8]) -> TokenDigest {
    Sha256::digest(token).into()
}

fn decode_b64(v: &Value) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str()?)
        .ok()
}

/// The token a Secret carries and whom it identifies, if it is a node or service-account token.
pub(crate) fn token_of(secret: &Value) -> Option<(Vec<u8>, Identity)> {
    let kind = secret["type"].as_str()?;
    let token = decode_b64(&secret["data"]["token"])?;
    let namespace = secret["metadata"]["namespace"].as_str().unwrap_or_default();
    let identity = match kind {
        NODE_TOKEN_TYPE if namespace == TOKEN_NAMESPACE => {
            let node = decode_b64(&secret["data"]["node-name"])?;
            Identity::Node(String::from_utf8(node).ok()?)
        }
        SA_TOKEN_TYPE => {
            let name =
                secret["metadata"]["annotations"]["kubernetes.io/service-account.name"].as_str()?;
            Identity::ServiceAccount {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            }
        }
        _ => return None,
    };
    Some((token, identity))
}

impl TokenIndex {
    pub(crate) fn lookup(&self, token: &[u8]) -> Lookup {
        if !self.synced.load(Ordering::Acquire) {
            return Lookup::NotSynced;
        }
        let entries = skiff_sync::read(&self.entries);
        match entries.by_digest.get(&digest(token)) {
            Some(identity) => Lookup::Found(identity.clone()),
            None => Lookup::Unknown,
        }
    }

    /// True if a store read found no Secret with `token` less than `MISS_TTL` ago. A token
    /// indexed since is found by `lookup` first, so this never hides a new token for long.
    pub(crate) fn recent_miss(&self, token: &[u8]) -> bool {
        let misses = skiff_sync::lock(&self.misses);
        misses
            .get(&digest(token))
            .is_some_and(|at| at.elapsed() < MISS_TTL)
    }

    /// Remembers that a store read found no Secret with `token`.
    pub(crate) fn note_miss(&self, token: &[u8]) {
        let mut misses = skiff_sync::lock(&self.misses);
        if misses.len() >= MAX_MISSES {
            misses.clear();
        }
        misses.insert(digest(token), Instant::now());
    }

    /// Waits for the turn to read the store for an unknown token.
    pub(crate) async fn store_read_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.store_reads.lock().await
    }

    /// Counts an authentication that read the store.
    pub(crate) fn note_store_lookup(&self) {
        self.store_lookups.fetch_add(1, Ordering::Relaxed);
    }

    /// Authentications so far that read the store (exported in `/metrics`).
    pub(crate) fn store_lookups(&self) -> u64 {
        self.store_lookups.load(Ordering::Relaxed)
    }

    fn put(entries: &mut Entries, key: &str, secret: Option<&Value>) {
        if let Some(old) = entries.by_key.remove(key) {
            entries.by_digest.remove(&old);
        }
        if let Some((token, identity)) = secret.and_then(token_of) {
            let d = digest(&token);
            entries.by_digest.insert(d, identity);
            entries.by_key.insert(key.to_owned(), d);
        }
    }

    /// Keeps the index fed from `replica`'s Secrets until `shutdown`.
    pub(crate) async fn run(self: Arc<Self>, replica: Arc<Replica>, shutdown: CancellationToken) {
        let prefix = skiff_api::resources::find("", "v1", "secrets")
            .expect("secrets are served")
            .namespace_prefix(None);
        local_index::feed(self, replica, prefix, shutdown).await;
    }
}

impl LocalIndex for TokenIndex {
    fn describes(&self) -> &'static str {
        "token Secrets"
    }

    /// Replaces everything with the listed Secrets and marks the index in sync.
    fn reset(&self, kvs: Vec<KeyValue>) {
        let mut fresh = Entries::default();
        for kv in kvs {
            if let Ok(secret) = serde_json::from_slice::<Value>(&kv.value) {
                Self::put(&mut fresh, &kv.key, Some(&secret));
            }
        }
        *skiff_sync::write(&self.entries) = fresh;
        self.synced.store(true, Ordering::Release);
    }

    fn apply(&self, event: &Event) {
        let secret = match event.kind {
            EventKind::Put => serde_json::from_slice::<Value>(&event.kv.value).ok(),
            EventKind::Delete => None,
        };
        let mut entries = skiff_sync::write(&self.entries);
        Self::put(&mut entries, &event.kv.key, secret.as_ref());
    }

    fn unsync(&self) {
        self.synced.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use skiff_store::types::KeyValue;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn node_secret(token: &str, node: &str) -> Value {
        json!({"type": NODE_TOKEN_TYPE, "metadata": {"namespace": "kube-system", "name": "t"},
               "data": {"token": b64(token), "node-name": b64(node)}})
    }

    fn event(kind: EventKind, key: &str, value: &Value) -> Event {
        let kv = KeyValue {
            key: key.into(),
            value: serde_json::to_vec(value).unwrap(),
            create_revision: 1,
            mod_revision: 2,
            version: 1,
        };
        Event {
            kind,
            kv,
            prev: None,
        }
    }

    #[test]
    fn follows_puts_and_deletes() {
        let index = TokenIndex::default();
        assert_eq!(index.lookup(b"tok-a"), Lookup::NotSynced);
        index.reset(vec![
            event(EventKind::Put, "/s/a", &node_secret("tok-a", "n1")).kv,
        ]);
        assert_eq!(
            index.lookup(b"tok-a"),
            Lookup::Found(Identity::Node("n1".into()))
        );
        assert_eq!(index.lookup(b"tok-b"), Lookup::Unknown);

        // The Secret's token is replaced: the old one stops working.
        index.apply(&event(EventKind::Put, "/s/a", &node_secret("tok-b", "n1")));
        assert_eq!(index.lookup(b"tok-a"), Lookup::Unknown);
        assert_eq!(
            index.lookup(b"tok-b"),
            Lookup::Found(Identity::Node("n1".into()))
        );

        let sa = json!({"type": SA_TOKEN_TYPE,
            "metadata": {"namespace": "apps", "name": "x",
                         "annotations": {"kubernetes.io/service-account.name": "builder"}},
            "data": {"token": b64("tok-sa")}});
        index.apply(&event(EventKind::Put, "/s/sa", &sa));
        assert_eq!(
            index.lookup(b"tok-sa"),
            Lookup::Found(Identity::ServiceAccount {
                namespace: "apps".into(),
                name: "builder".into()
            })
        );

        index.apply(&event(EventKind::Delete, "/s/a", &json!({})));
        assert_eq!(index.lookup(b"tok-b"), Lookup::Unknown);
        assert!(index.lookup(b"tok-sa") != Lookup::Unknown);
    }

    #[test]
    fn misses_are_remembered_briefly_and_bounded() {
        let index = TokenIndex::default();
        assert!(!index.recent_miss(b"bad"));
        index.note_miss(b"bad");
        assert!(index.recent_miss(b"bad"));
        assert!(!index.recent_miss(b"other"));
        for i in 0..MAX_MISSES {
            index.note_miss(format!("t{i}").as_bytes());
        }
        let held = skiff_sync::lock(&index.misses).len();
        assert!(held <= MAX_MISSES, "{held} misses held");
        skiff_sync::lock(&index.misses).insert(digest(b"old"), Instant::now() - MISS_TTL);
        assert!(!index.recent_miss(b"old"), "an expired miss is read again");
    }

    #[test]
    fn only_token_secrets_count() {
        let mut opaque = node_secret("tok", "n1");
        opaque["type"] = json!("Opaque");
        assert!(token_of(&opaque).is_none());
        let mut elsewhere = node_secret("tok", "n1");
        elsewhere["metadata"]["namespace"] = json!("default");
        assert!(
            token_of(&elsewhere).is_none(),
            "node tokens live in kube-system"
        );
        assert!(token_of(&node_secret("tok", "n1")).is_some());
    }
}
