//! Kubernetes watch: newline-delimited `{"type","object"}` events (or, for a client that asks
//! for protobuf, length-prefixed `WatchEvent` messages) from the replica's own store watch, with selector transitions (an object that stops matching is DELETED for this
//! watcher), bookmarks, `timeoutSeconds`, and 410 `Expired` as an ERROR event.
//!
//! Fan-out cost per watcher and event is kept to a prefix and selector check and a reference
//! count: objects are rendered once for all watchers (`render`), store events are shared, not
//! copied, and writes to shared HTTP/2 connections are batched (`flush`).

mod flush;
mod lines;
mod render;
mod view;

pub(crate) use flush::FlushBatcher;
pub(crate) use lines::protobuf_frame;
pub(crate) use render::RenderCache;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use hyper::body::Frame;
use serde_json::{Value, json};
use skiff_api::status::ApiError;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::WaitForCancellationFutureOwned;

use super::reads::Filter;
use super::request::ResourceRequest;
use super::{ApiServer, Format};
use render::{EventType, Rendered};
use skiff_store::types::EventKind;
use skiff_store::{SharedEvent, WatchError, Watcher};

/// Longest a watch lasts without `timeoutSeconds` (kube-apiserver picks 30-60 minutes).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);
/// How often a watch with bookmarks enabled reports its revision.
const BOOKMARK_EVERY: Duration = Duration::from_secs(5);

/// One event waiting to be sent.
enum Queued {
    /// A store event: its type and the stored object (rendered through the cache).
    Stored(EventType, Arc<Rendered>),
    /// An event built here (initial ADDED from a list, BOOKMARK, ERROR).
    Built(Value),
}

struct WatchState {
    watcher: Option<Watcher>,
    request: ResourceRequest,
    filter: Filter,
    format: Format,
    cache: Arc<RenderCache>,
    batcher: Arc<FlushBatcher>,
    /// Storage keys this watch covers start with this.
    key_prefix: String,
    /// An event was handed to hyper since the last wait (see `flush`).
    sent: bool,
    /// Over HTTP/2, lines go out in pieces of at most this many bytes (see `flush`).
    piece: Option<usize>,
    /// What is left of the line being sent.
    rest: Bytes,
    queue: VecDeque<Queued>,
    /// The end of the watch (`timeoutSeconds`), and the next bookmark: timers kept across
    /// events, so an event costs no timer registration.
    deadline: Pin<Box<Sleep>>,
    next_bookmark: Pin<Box<Sleep>>,
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    done: bool,
}

impl WatchState {
    /// The events one store event means for this watcher.
    fn translate(&mut self, event: &SharedEvent) {
        if !event.kv.key.starts_with(&self.key_prefix) {
            return;
        }
        let new = self.cache.get(&event.kv);
        let selective = self.filter.labels.is_some() || self.filter.fields.is_some();
        let old_matches = match &event.prev {
            None => false,
            Some(_) if !selective => true,
            Some(p) => self.filter.matches(&self.cache.get(p).view),
        };
        let new_matches = !selective || self.filter.matches(&new.view);
        let kind = match event.kind {
            EventKind::Delete if old_matches || new_matches => EventType::Deleted,
            EventKind::Delete => return,
            EventKind::Put if event.kv.version == 1 || event.prev.is_none() => {
                if !new_matches {
                    return;
                }
                EventType::Added
            }
            EventKind::Put => match (old_matches, new_matches) {
                (true, true) => EventType::Modified,
                (false, true) => EventType::Added,
                (true, false) => EventType::Deleted,
                (false, false) => return,
            },
        };
        self.queue.push_back(Queued::Stored(kind, new));
    }

    fn bookmark(&self, revision: u64) -> Value {
        let info = self.request.info;
        json!({
            "type": "BOOKMARK",
            "object": { "kind": info.kind, "apiVersion": info.api_version(), "metadata": { "resourceVersion": revision.to_string() } },
        })
    }

    fn render(&self, event: Queued) -> Bytes {
        let info = self.request.info;
        let (kind, rendered) = match event {
            Queued::Built(event) => return lines::built(info, self.format, event),
            Queued::Stored(kind, rendered) => (kind, rendered),
        };
        match self.format {
            Format::Table(include) => {
                lines::table_line(info, include, kind.name(), rendered.object())
            }
            // `as=PartialObjectMetadataList` on a watch: kube-apiserver's transformation
            // fails for each object and it sends the object as is.
            Format::Json | Format::Metadata { list: true, .. } => rendered.line(kind),
            Format::Metadata {
                list: false,
                version,
            } => rendered.metadata_line(kind, version),
            Format::Protobuf => rendered.frame(kind),
        }
    }

    /// The next DATA frame: a whole line, or over HTTP/2 the next piece of one.
    async fn next_frame(&mut self) -> Option<Bytes> {
        if self.rest.is_empty() {
            self.rest = self.next_line().await?;
        }
        Some(match self.piece {
            Some(n) if self.rest.len() > n => self.rest.split_to(n),
            _ => std::mem::take(&mut self.rest),
        })
    }

    async fn next_line(&mut self) -> Option<Bytes> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                self.sent = true;
                return Some(self.render(event));
            }
            if self.done {
                return None;
            }
            if std::mem::take(&mut self.sent) {
                self.batcher.defer();
            }
            let watcher = self.watcher.as_mut()?;
            let bookmarks = self.request.query.allow_watch_bookmarks;
            let revision = watcher.revision();
            tokio::select! {
                biased;
                _ = self.shutdown.as_mut() => return None,
                _ = self.deadline.as_mut() => return None,
                next = watcher.next_shared() => match next {
                    Ok(event) => self.translate(&event),
                    Err(e) => {
                        self.done = true;
                        let status = match e {
                            WatchError::Expired { .. } => ApiError::expired(format!("too old resource version: {e}")),
                            other => ApiError::internal(other.to_string()),
                        };
                        self.queue.push_back(Queued::Built(json!({ "type": "ERROR", "object": status.to_json() })));
                    }
                },
                _ = self.next_bookmark.as_mut(), if bookmarks => {
                    self.next_bookmark.as_mut().reset(Instant::now() + BOOKMARK_EVERY);
                    let bookmark = self.bookmark(revision);
                    return Some(self.render(Queued::Built(bookmark)));
                }
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
        http2: bool,
    ) -> Result<impl Stream<Item = Result<Frame<Bytes>, Infallible>> + Send + 'static, ApiError>
    {
        let filter = Filter::from_request(request)?;
        let mut queue = VecDeque::new();
        let start = self.watch_start(request, &mut queue).await?;
        let prefix = request.info.namespace_prefix(request.namespace.as_deref());
        let watcher = self.store_watcher(&prefix, start, &mut queue)?;
        let timeout = request
            .query
            .timeout_seconds
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
        let state = WatchState {
            cache: self.render_cache.clone(),
            batcher: self.flush_batcher.clone(),
            key_prefix: prefix,
            sent: false,
            piece: http2.then_some(flush::PIECE),
            rest: Bytes::new(),
            done: watcher.is_none(),
            watcher,
            request: request.clone(),
            filter,
            format,
            queue,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            next_bookmark: Box::pin(tokio::time::sleep(BOOKMARK_EVERY)),
            shutdown: Box::pin(self.shutdown.clone().cancelled_owned()),
        };
        Ok(futures::stream::unfold(state, |mut state| async move {
            let line = state.next_frame().await?;
            Some((Ok(Frame::data(line)), state))
        }))
    }

    /// The revision a watch starts after: the request's resource version or, without one (or
    /// with "0"), the revision of a list of the current state, whose items are queued first
    /// as ADDED events.
    async fn watch_start(
        &self,
        request: &ResourceRequest,
        queue: &mut VecDeque<Queued>,
    ) -> Result<u64, ApiError> {
        match request.query.resource_version.as_deref() {
            // No revision: the current state first, as ADDED events, then changes after it.
            None | Some("") | Some("0") => {
                let mut list_request = request.clone();
                list_request.query.limit = None;
                list_request.query.continue_token = None;
                let (items, list_meta) = self.list(&list_request).await?;
                for item in items {
                    queue.push_back(Queued::Built(json!({ "type": "ADDED", "object": item })));
                }
                Ok(list_meta["resourceVersion"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0))
            }
            Some(rv) => rv
                .parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version {rv:?}"))),
        }
    }

    /// The store watch of `prefix` after `start`; `None` (with an ERROR event queued) when
    /// `start` is already compacted away.
    fn store_watcher(
        &self,
        prefix: &str,
        start: u64,
        queue: &mut VecDeque<Queued>,
    ) -> Result<Option<Watcher>, ApiError> {
        match self.objects.replica.watch(prefix, start) {
            Ok(w) => Ok(Some(w)),
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
                Ok(None)
            }
            Err(e) => Err(ApiError::unavailable(e.to_string())),
        }
    }
}
