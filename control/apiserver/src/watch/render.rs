//! Objects rendered once for every watcher of this API server: a write is read once (`view`),
//! kept as its JSON bytes and the small part of it that selectors read, and encoded as each kind of
//! watch line once, however many watchers send it; each watcher then sends the same
//! reference-counted bytes.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use serde_json::Value;

use super::super::negotiation::MetaVersion;
use super::super::{objects, partial};
use skiff_store::types::KeyValue;

/// Revisions kept before the oldest is forgotten (each write adds one).
const RENDER_CACHE_REVISIONS: usize = 4096;

/// One stored object version, decoded and encoded.
pub(crate) struct Rendered {
    /// What label and field selectors read of the object (`view::read_selector_view`). The
    /// whole decoded object is not kept: the cache holds thousands of versions, and a decoded
    /// Pod is ten times its JSON.
    pub view: Value,
    /// The object with its `resourceVersion`, as JSON (`null` if the stored bytes are not JSON).
    json: Bytes,
    /// `{"type":"ADDED|MODIFIED|DELETED","object":...}\n`, built on first use.
    lines: [OnceLock<Bytes>; 3],
    /// The same events as length-prefixed protobuf `WatchEvent`s, built on first use.
    frames: [OnceLock<Bytes>; 3],
    /// The object's `metadata` as JSON, decoded from `json` on first use.
    metadata: OnceLock<Bytes>,
    /// The events with the object as `PartialObjectMetadata`, by `meta.k8s.io` version
    /// (v1, v1beta1), built on first use.
    metadata_lines: [[OnceLock<Bytes>; 3]; 2],
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
        // The stored bytes are read twice, neither time whole: once for what selectors read
        // (lists skipped), once to splice `resourceVersion` into them.
        let spliced = super::view::with_resource_version(&kv.value, kv.mod_revision);
        let (view, json) = match (super::view::read_selector_view(&kv.value), spliced) {
            (Some(mut view), Some(json)) => {
                objects::set_resource_version(&mut view, kv.mod_revision);
                (view, json)
            }
            _ => (Value::Null, b"null".to_vec()),
        };
        Rendered {
            view,
            json: Bytes::from(json),
            lines: Default::default(),
            frames: Default::default(),
            metadata: OnceLock::new(),
            metadata_lines: Default::default(),
        }
    }

    /// The whole object, decoded again from its JSON (for the rare watcher that needs more than
    /// [`Rendered::view`]: a table row, a protobuf frame's first encoding).
    pub(crate) fn object(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }

    /// The protobuf watch frame, shared by every protobuf watcher that sends it.
    pub(crate) fn frame(&self, kind: EventType) -> Bytes {
        self.frames[kind as usize]
            .get_or_init(|| super::lines::protobuf_frame(kind.name(), &self.object()))
            .clone()
    }

    /// The watch event with the object as `PartialObjectMetadata` of `version`, shared by
    /// every metadata watcher that sends it (made once per version and event type).
    pub(crate) fn metadata_line(&self, kind: EventType, version: MetaVersion) -> Bytes {
        let by_version = match version {
            MetaVersion::V1 => &self.metadata_lines[0],
            MetaVersion::V1beta1 => &self.metadata_lines[1],
        };
        by_version[kind as usize]
            .get_or_init(|| {
                let metadata = self
                    .metadata
                    .get_or_init(|| partial::metadata_json(&self.json));
                partial::watch_line(kind.name(), version, metadata)
            })
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
        assert_eq!(a.view["metadata"]["resourceVersion"], "5");
        let metadata = a.metadata_line(EventType::Added, MetaVersion::V1);
        assert_eq!(
            &metadata[..],
            br#"{"type":"ADDED","object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"a","resourceVersion":"5"}}}
"#
        );
        let again = cache.get(&kv("/a", 5, r#"{"metadata":{"name":"a"}}"#));
        assert_eq!(
            again
                .metadata_line(EventType::Added, MetaVersion::V1)
                .as_ptr(),
            metadata.as_ptr(),
            "one encoding for every metadata watcher"
        );
        assert!(
            a.metadata_line(EventType::Deleted, MetaVersion::V1beta1)
                .starts_with(br#"{"type":"DELETED","object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1beta1""#)
        );
        assert_eq!(a.object()["metadata"]["name"], "a");
        for rev in 6..6 + RENDER_CACHE_REVISIONS as u64 {
            cache.get(&kv("/c", rev, "{}"));
        }
        let evicted = cache.get(&kv("/a", 5, r#"{"metadata":{"name":"a"}}"#));
        assert!(
            !Arc::ptr_eq(&a, &evicted),
            "the oldest revision was forgotten"
        );
    }

    #[test]
    fn the_selector_view_matches_as_the_object_does() {
        use skiff_api::selector::{FieldSelector, LabelSelector};
        let pod = serde_json::json!({
            "metadata": {"name": "p", "labels": {"app": "web", "tier": "1"}, "ownerReferences": [{"uid": "u"}]},
            "spec": {"nodeName": "n1", "hostNetwork": false, "priority": 7, "containers": [{"name": "c"}], "x": null},
            "status": {"phase": "Running", "conditions": [{"type": "Ready"}]},
        });
        let view = super::super::view::read_selector_view(pod.to_string().as_bytes()).unwrap();
        assert!(view["spec"].get("containers").is_none());
        assert!(view["status"].get("conditions").is_none());
        let fields = [
            "spec.nodeName=n1",
            "spec.nodeName!=n1",
            "spec.nodeName=",
            "spec.hostNetwork=false",
            "spec.priority=7",
            "spec.containers=",
            "spec.containers.0.name=c",
            "spec.x=",
            "status.phase=Running,metadata.name=p",
            "metadata.ownerReferences=",
            "metadata.missing!=",
        ];
        for text in fields {
            let selector = FieldSelector::parse(text).unwrap();
            assert_eq!(selector.matches(&view), selector.matches(&pod), "{text}");
        }
        for text in [
            "app=web",
            "app in (web,db),tier",
            "app!=web",
            "!tier",
            "tier=2",
        ] {
            let selector = LabelSelector::parse(text).unwrap();
            assert_eq!(
                selector.matches_object(&view),
                selector.matches_object(&pod),
                "{text}"
            );
        }
    }
}
