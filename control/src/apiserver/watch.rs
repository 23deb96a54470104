//! Kubernetes watch: newline-delimited `{"type","object"}` events from the replica's own
//! store watch, with selector transitions (an object that stops matching is DELETED for this
//! watcher), bookmarks, `timeoutSeconds`, and 410 `Expired` as an ERROR event.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use hyper::body::Frame;
use serde_json::{Value, json};
use skiff_api::status::ApiError;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::objects;
use super::reads::Filter;
use super::request::ResourceRequest;
use super::{ApiServer, Format};
use crate::store::types::{Event, EventKind, KeyValue};
use crate::store::watch::{WatchError, Watcher};

/// Longest a watch lasts without `timeoutSeconds` (kube-apiserver picks 30-60 minutes).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);
/// How often an idle watch with bookmarks enabled reports its revision.
const BOOKMARK_EVERY: Duration = Duration::from_secs(5);

/// Rendered objects shared by every watcher of this API server: with many watchers, one
/// write is decoded and encoded once instead of once per watcher.
#[derive(Default)]
pub struct RenderCache {
    objects: Mutex<HashMap<(String, u64), Rendered>>,
}

/// An object decoded (for selectors and tables) and encoded (for JSON watch lines).
type Rendered = (Arc<Value>, Bytes);

/// Entries kept before the cache starts over (each write adds one).
const RENDER_CACHE_ENTRIES: usize = 4096;

impl RenderCache {
    /// The object stored in `kv` (with its `resourceVersion`), decoded and as JSON bytes.
    fn get(&self, kv: &KeyValue) -> Rendered {
        let key = (kv.key.clone(), kv.mod_revision);
        if let Some(hit) = self
            .objects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return hit.clone();
        }
        let value = objects::decode(kv).unwrap_or(Value::Null);
        let bytes = Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
        let entry = (Arc::new(value), bytes);
        let mut map = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= RENDER_CACHE_ENTRIES {
            map.clear();
        }
        map.insert(key, entry.clone());
        entry
    }
}

/// One event waiting to be sent.
enum Queued {
    /// A store event: its type and the stored object (rendered through the cache).
    Stored(&'static str, Arc<Value>, Bytes),
    /// An event built here (initial ADDED from a list, BOOKMARK, ERROR).
    Built(Value),
}

struct WatchState {
    watcher: Option<Watcher>,
    request: ResourceRequest,
    filter: Filter,
    format: Format,
    cache: Arc<RenderCache>,
    queue: VecDeque<Queued>,
    deadline: Instant,
    shutdown: CancellationToken,
    done: bool,
}

impl WatchState {
    /// The events one store event means for this watcher.
    fn translate(&mut self, event: Event) {
        let key_prefix = self
            .request
            .info
            .namespace_prefix(self.request.namespace.as_deref());
        if !event.kv.key.starts_with(&key_prefix) {
            return;
        }
        let (new, new_bytes) = self.cache.get(&event.kv);
        let selective = self.filter.labels.is_some() || self.filter.fields.is_some();
        let old_matches = match &event.prev {
            None => false,
            Some(_) if !selective => true,
            Some(p) => self.filter.matches(&self.cache.get(p).0),
        };
        let new_matches = !selective || self.filter.matches(&new);
        let kind = match event.kind {
            EventKind::Delete if old_matches || new_matches => "DELETED",
            EventKind::Delete => return,
            EventKind::Put if event.kv.version == 1 || event.prev.is_none() => {
                if !new_matches {
                    return;
                }
                "ADDED"
            }
            EventKind::Put => match (old_matches, new_matches) {
                (true, true) => "MODIFIED",
                (false, true) => "ADDED",
                (true, false) => "DELETED",
                (false, false) => return,
            },
        };
        self.queue.push_back(Queued::Stored(kind, new, new_bytes));
    }

    fn bookmark(&self, revision: u64) -> Value {
        let info = self.request.info;
        json!({
            "type": "BOOKMARK",
            "object": { "kind": info.kind, "apiVersion": info.api_version(), "metadata": { "resourceVersion": revision.to_string() } },
        })
    }

    fn render(&self, event: Queued) -> Bytes {
        let (kind, object, bytes) = match event {
            Queued::Built(event) => {
                let is_object = event["type"] != "BOOKMARK" && event["type"] != "ERROR";
                match (&self.format, is_object) {
                    (Format::Table(_), true) => {
                        let kind = event["type"].as_str().unwrap_or("MODIFIED").to_owned();
                        let object = event["object"].clone();
                        return self.table_line(&kind, object);
                    }
                    _ => {
                        let mut line = serde_json::to_vec(&event).unwrap_or_default();
                        line.push(b'\n');
                        return Bytes::from(line);
                    }
                }
            }
            Queued::Stored(kind, object, bytes) => (kind, object, bytes),
        };
        if let Format::Table(_) = self.format {
            return self.table_line(kind, (*object).clone());
        }
        // `{"type":"MODIFIED","object":<cached bytes>}` without re-encoding the object.
        let mut line = Vec::with_capacity(bytes.len() + 32);
        line.extend_from_slice(b"{\"type\":\"");
        line.extend_from_slice(kind.as_bytes());
        line.extend_from_slice(b"\",\"object\":");
        line.extend_from_slice(&bytes);
        line.extend_from_slice(b"}\n");
        Bytes::from(line)
    }

    /// A watch event whose object is a one-row Table (kubectl get -w).
    fn table_line(&self, kind: &str, object: Value) -> Bytes {
        let Format::Table(include) = self.format else {
            return Bytes::new();
        };
        let rv = object["metadata"]["resourceVersion"].clone();
        let table = skiff_api::table::table(
            self.request.info,
            &[object],
            include,
            super::meta::now_unix(),
            json!({ "resourceVersion": rv }),
        );
        let mut line =
            serde_json::to_vec(&json!({ "type": kind, "object": table })).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }

    async fn next_line(&mut self) -> Option<Bytes> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(self.render(event));
            }
            if self.done {
                return None;
            }
            let watcher = self.watcher.as_mut()?;
            let bookmarks = self.request.query.allow_watch_bookmarks;
            let revision = watcher.revision();
            tokio::select! {
                _ = self.shutdown.cancelled() => return None,
                _ = tokio::time::sleep_until(self.deadline) => return None,
                _ = tokio::time::sleep(BOOKMARK_EVERY), if bookmarks => {
                    let bookmark = self.bookmark(revision);
                    return Some(self.render(Queued::Built(bookmark)));
                }
                next = watcher.next() => match next {
                    Ok(event) => self.translate(event),
                    Err(e) => {
                        self.done = true;
                        let status = match e {
                            WatchError::Expired { .. } => ApiError::expired(format!("too old resource version: {e}")),
                            other => ApiError::internal(other.to_string()),
                        };
                        self.queue.push_back(Queued::Built(json!({ "type": "ERROR", "object": status.to_json() })));
                    }
                },
            }
        }
    }
}

impl ApiServer {
    /// Starts a watch; the stream ends at the timeout, on shutdown, or after an ERROR event.
    pub async fn watch(
        &self,
        request: &ResourceRequest,
        format: Format,
    ) -> Result<impl Stream<Item = Result<Frame<Bytes>, Infallible>> + Send + 'static, ApiError>
    {
        let filter = Filter::from_request(request)?;
        let mut queue = VecDeque::new();
        let start = match request.query.resource_version.as_deref() {
            // No revision: the current state first, as ADDED events, then changes after it.
            None | Some("") | Some("0") => {
                let mut list_request = request.clone();
                list_request.query.limit = None;
                list_request.query.continue_token = None;
                let (items, list_meta) = self.list(&list_request).await?;
                for item in items {
                    queue.push_back(Queued::Built(json!({ "type": "ADDED", "object": item })));
                }
                list_meta["resourceVersion"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0)
            }
            Some(rv) => rv
                .parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version {rv:?}")))?,
        };
        let prefix = request.info.namespace_prefix(request.namespace.as_deref());
        let watcher = match self.objects.replica.watch(&prefix, start) {
            Ok(w) => Some(w),
            Err(WatchError::Expired {
                requested,
                compacted,
            }) => {
                let status = ApiError::expired(format!(
                    "too old resource version: {requested} ({compacted})"
                ));
                queue.push_back(Queued::Built(
                    json!({ "type": "ERROR", "object": status.to_json() }),
                ));
                None
            }
            Err(e) => return Err(ApiError::unavailable(e.to_string())),
        };
        let timeout = request
            .query
            .timeout_seconds
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
        let state = WatchState {
            cache: self.render_cache.clone(),
            done: watcher.is_none(),
            watcher,
            request: request.clone(),
            filter,
            format,
            queue,
            deadline: Instant::now() + timeout,
            shutdown: self.shutdown.clone(),
        };
        Ok(futures::stream::unfold(state, |mut state| async move {
            let line = state.next_line().await?;
            Some((Ok(Frame::data(line)), state))
        }))
    }
}
