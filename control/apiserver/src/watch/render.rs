//! Objects rendered once for every watcher of this API server: a write is decoded (for
//! selectors and tables) and encoded as each kind of watch line once, however many watchers
//! send it; each watcher then sends the same reference-counted bytes.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use serde_json::Value;

use super::super::objects;
use skiff_store::types::KeyValue;

/// Revisions kept before the oldest is forgotten (each write adds one).
const RENDER_CACHE_REVISIONS: usize = 4096;

/// One stored object version, decoded and encoded.
pub(crate) struct Rendered {
    /// The object with its `resourceVersion` (`Null` if the stored bytes are not JSON).
    pub object: Arc<Value>,
    /// The object as JSON.
    json: Bytes,
    /// `{"type":"ADDED|MODIFIED|DELETED","object":...}\n`, built on first use.
    lines: [OnceLock<Bytes>; 3],
    /// The same events as length-prefixed protobuf `WatchEvent`s, built on first use.
    frames: [OnceLock<Bytes>; 3],
}

/// The three event types a stored object can be sent as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

impl Rendered {
    fn new(kv: &KeyValue) -> Self {
        let object = objects::decode(kv).unwrap_or(Value::Null);
        let json = Bytes::from(serde_json::to_vec(&object).unwrap_or_default());
        Rendered {
            object: Arc::new(object),
            json,
            lines: Default::default(),
            frames: Default::default(),
        }
    }

    /// The protobuf watch frame, shared by every protobuf watcher that sends it.
    pub(crate) fn frame(&self, kind: EventType) -> Bytes {
        self.frames[kind as usize]
            .get_or_init(|| super::protobuf_frame(kind.name(), &self.object))
            .clone()
    }

    /// The newline-terminated JSON watch event, shared by every watcher that sends it.
    pub(crate) fn line(&self, kind: EventType) -> Bytes {
        self.lines[kind as usize]
            .get_or_init(|| {
                let mut line = Vec::with_capacity(self.json.len() + 32);
                line.extend_from_slice(b"{\"type\":\"");
                line.extend_from_slice(kind.name().as_bytes());
                line.extend_from_slice(b"\",\"object\":");
                line.extend_from_slice(&self.json);
                line.extend_from_slice(b"}\n");
                Bytes::from(line)
            })
            .clone()
    }
}

#[derive(Default)]
struct Entries {
    /// Revision -> the keys written at it, rendered (usually one).
    by_revision: HashMap<u64, Vec<(String, Arc<Rendered>)>>,
    /// Revisions in the order they were added, to forget the oldest.
    order: VecDeque<u64>,
}

#[derive(Default)]
pub(crate) struct RenderCache {
    entries: Mutex<Entries>,
}

impl RenderCache {
    /// The object stored in `kv`, rendered once for all watchers.
    pub(crate) fn get(&self, kv: &KeyValue) -> Arc<Rendered> {
        let find = |entries: &Entries| {
            let same = entries.by_revision.get(&kv.mod_revision)?;
            let hit = same.iter().find(|(key, _)| *key == kv.key)?;
            Some(hit.1.clone())
        };
        if let Some(hit) = find(&self.lock()) {
            return hit;
        }
        // Render outside the lock: a thousand watchers must not wait on one encoder. Two that
        // miss at once both render; the first one stored wins.
        let rendered = Arc::new(Rendered::new(kv));
        let mut entries = self.lock();
        if let Some(hit) = find(&entries) {
            return hit;
        }
        if !entries.by_revision.contains_key(&kv.mod_revision) {
            entries.order.push_back(kv.mod_revision);
        }
        let same = entries.by_revision.entry(kv.mod_revision).or_default();
        same.push((kv.key.clone(), rendered.clone()));
        while entries.order.len() > RENDER_CACHE_REVISIONS {
            if let Some(old) = entries.order.pop_front() {
                entries.by_revision.remove(&old);
            }
        }
        rendered
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        skiff_sync::lock(&self.entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, rev: u64, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value.as_bytes().to_vec(),
            create_revision: 1,
            mod_revision: rev,
            version: 1,
        }
    }

    #[test]
    fn renders_each_version_once() {
        let cache = RenderCache::default();
        let a = cache.get(&kv("/a", 5, r#"{"metadata":{"name":"a"}}"#));
        let again = cache.get(&kv("/a", 5, r#"{"metadata":{"name":"a"}}"#));
        assert!(Arc::ptr_eq(&a, &again));
        let b = cache.get(&kv("/b", 5, r#"{"metadata":{"name":"b"}}"#));
        assert!(!Arc::ptr_eq(&a, &b), "same revision, other key");
        assert_eq!(
            &a.line(EventType::Modified)[..],
            br#"{"type":"MODIFIED","object":{"metadata":{"name":"a","resourceVersion":"5"}}}
"#
        );
        assert_eq!(a.object["metadata"]["resourceVersion"], "5");
        for rev in 6..6 + RENDER_CACHE_REVISIONS as u64 {
            cache.get(&kv("/c", rev, "{}"));
        }
        let evicted = cache.get(&kv("/a", 5, r#"{"metadata":{"name":"a"}}"#));
        assert!(
            !Arc::ptr_eq(&a, &evicted),
            "the oldest revision was forgotten"
        );
    }
}
