//! skiff's built-in OCI registry: the OCI distribution API (blobs with monolithic and chunked
//! uploads, manifests by tag and digest, tags, referrers, deletes), every blob and manifest
//! verified by its sha256 digest, errors in the spec's envelope. Metadata, manifests and tags
//! live in a [`Storage`] (the API server's is the Raft store); blob bytes in files on each
//! replica ([`files`]), copied to a quorum through [`Storage::replicate`] before a blob exists.
//! Authentication and authorisation are the caller's ([`Route::scope`] says what a request
//! does to which repository).
//!
//! # Layout
//! - `route`: URL -> endpoint, names and references checked. `digest`: sha256 digests.
//! - `error`: the spec's error codes and envelope.
//! - `storage`: the key-value trait and key layout; `files`: blob bytes as files in the
//!   replica's data directory; `file_push`: a push written here and relayed to the peers
//!   (through a `feed`) while it arrives, its metadata committed once a quorum holds it;
//!   `file_blobs`: reads, a peer's receive, and convergence of blobs in files; `blobs`: the
//!   metadata, and blobs stored as chunks before files (still read and collected); `range`:
//!   the `Range` header.
//! - `manifest`: what a pushed manifest must be and what it references.
//! - `uploads`: upload sessions in progress (local to the replica that took them); `relay`: a
//!   chunked upload written here and sent to the peers while its chunks arrive.
//! - `serve_blobs`, `serve_uploads`, `serve_manifests`: the endpoints. `gc`: mark-and-sweep
//!   collection.

#![deny(unreachable_pub)]

pub mod blobs;
pub mod digest;
pub mod error;
pub mod feed;
pub mod file_blobs;
pub mod file_push;
pub mod file_stream;
pub mod files;
pub mod gc;
pub mod manifest;
pub mod range;
mod relay;
pub mod route;
mod serve_blobs;
mod serve_manifests;
mod serve_uploads;
pub mod storage;
pub mod uploads;

use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;
use http::{HeaderMap, Method, Response, StatusCode, header};
use skiff_respond::Body;

pub use digest::Digest;
pub use error::RegistryError;
pub use route::{Action, Route};
pub use storage::{Freshness, MemoryStorage, Storage, StorageError, Stored};

/// The API version header every answer carries.
pub const API_VERSION: (&str, &str) = ("docker-distribution-api-version", "registry/2.0");

/// The largest blob accepted (the agents' image limit).
pub const MAX_BLOB_BYTES: usize = 256 * 1024 * 1024;

/// What a streamed request body may fail with.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// An upload's body as it arrives ([`RegistryRequest::wants_stream`]).
/// `Sync` because a request is borrowed across awaits by its handlers.
pub struct BodyStream(
    std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, BodyError>> + Send + Sync>>,
);

impl BodyStream {
    pub fn new(
        pieces: impl Stream<Item = Result<Bytes, BodyError>> + Send + Sync + 'static,
    ) -> Self {
        BodyStream(Box::pin(pieces))
    }
}

impl Stream for BodyStream {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.as_mut().poll_next(cx)
    }
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BodyStream")
    }
}

/// One request: its body read whole (`body`), or, for a blob upload's last request, left to
/// arrive (`stream`, see [`Self::wants_stream`]).
#[derive(Debug)]
pub struct RegistryRequest {
    pub method: Method,
    pub route: Route,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub stream: Option<BodyStream>,
}

impl RegistryRequest {
    /// Whether the body should be handed over as it arrives ([`Self::stream`]) rather than
    /// read whole: a blob's bytes (an upload's `PATCH` or final `PUT`, a monolithic
    /// `POST ?digest=`), so the blob is written and sent to the peers during the upload. A
    /// `PATCH` or `PUT` with `Content-Range` is read whole (its length is checked against the
    /// range first).
    pub fn wants_stream(&self) -> bool {
        match (&self.route, &self.method) {
            (Route::Upload { .. }, &Method::PUT | &Method::PATCH) => {
                self.header(header::CONTENT_RANGE).is_none()
            }
            (Route::StartUpload { .. }, &Method::POST) => {
                self.query_param("digest").is_some() && self.query_param("mount").is_none()
            }
            _ => false,
        }
    }

    fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then(|| percent_decode(v))
        })
    }

    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The registry over one storage, with this replica's upload sessions.
#[derive(Debug)]
pub struct Registry<S> {
    /// Shared with the streams of blob reads in progress.
    storage: Arc<S>,
    uploads: uploads::Uploads,
    layout: blobs::Layout,
    /// Where new blobs' bytes go; without it (tests, tools) they go into the store as chunks.
    files: Option<Arc<files::BlobFiles>>,
}

impl<S: Storage> Registry<S> {
    pub fn new(storage: S) -> Self {
        Registry {
            storage: Arc::new(storage),
            uploads: uploads::Uploads::default(),
            layout: blobs::Layout::default(),
            files: None,
        }
    }

    /// Keeps new blobs' bytes in `files` (replicated by [`Storage::replicate`]) instead of the
    /// store; blobs stored as chunks stay readable.
    pub fn with_files(mut self, files: Arc<files::BlobFiles>) -> Self {
        self.files = Some(files);
        self
    }

    /// This replica's blob files, if blobs are kept in files.
    pub fn files(&self) -> Option<&Arc<files::BlobFiles>> {
        self.files.as_ref()
    }

    /// How new blobs are cut into store values.
    pub fn with_layout(mut self, layout: blobs::Layout) -> Self {
        self.layout = layout;
        self
    }

    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Serves an authorised request; `now` is Unix seconds (blob creation times).
    pub async fn serve(&self, request: RegistryRequest, now: u64) -> Response<Body> {
        let head = request.method == Method::HEAD;
        let mut response = match self.dispatch(request, now).await {
            Ok(response) => response,
            Err(e) => e.response(head),
        };
        response.headers_mut().insert(
            API_VERSION.0,
            header::HeaderValue::from_static(API_VERSION.1),
        );
        response
    }

    async fn dispatch(
        &self,
        request: RegistryRequest,
        now: u64,
    ) -> Result<Response<Body>, RegistryError> {
        use Method as M;
        let mut request = request;
        let stream = request.stream.take();
        let r = &request;
        match (&r.route, &r.method) {
            (Route::Version, &M::GET | &M::HEAD) => Ok(empty(StatusCode::OK)),
            (Route::Blob { digest, .. }, &M::GET | &M::HEAD) => self.get_blob(r, digest).await,
            (Route::Blob { digest, .. }, &M::DELETE) => self.delete_blob(digest).await,
            (Route::StartUpload { name }, &M::POST) => {
                self.start_upload(r, name, stream, now).await
            }
            (Route::Upload { name, id }, &M::PATCH) => self.patch_upload(r, name, id, stream).await,
            (Route::Upload { name, id }, &M::PUT) => {
                self.finish_upload(r, name, id, stream, now).await
            }
            (Route::Upload { name, id }, &M::GET) => self.upload_status(name, id),
            (Route::Upload { name, id }, &M::DELETE) => self.cancel_upload(name, id),
            (Route::Manifest { name, reference }, &M::GET | &M::HEAD) => {
                self.get_manifest(r, name, reference).await
            }
            (Route::Manifest { name, reference }, &M::PUT) => {
                self.put_manifest(r, name, reference).await
            }
            (Route::Manifest { name, reference }, &M::DELETE) => {
                self.delete_manifest(name, reference).await
            }
            (Route::Tags { name }, &M::GET) => self.tags(r, name).await,
            (Route::Referrers { name, digest }, &M::GET) => self.referrers(r, name, digest).await,
            (_, method) => Err(RegistryError::Unsupported(format!(
                "{method} is not served on this endpoint"
            ))),
        }
    }
}

/// An answer with no body.
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(skiff_respond::full(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// Sets a header from text, skipping a value HTTP cannot carry (never produced here: every
/// value is built from checked names, digests and numbers).
fn set_header(response: &mut Response<Body>, name: &'static str, value: &str) {
    if let Ok(value) = header::HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// An answer naming where content now is (`Location`) and its digest.
fn located(status: StatusCode, location: &str, digest: &Digest) -> Response<Body> {
    let mut response = empty(status);
    set_header(&mut response, "location", location);
    set_header(&mut response, "docker-content-digest", &digest.to_string());
    response
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_files;
#[cfg(test)]
mod tests_push;
#[cfg(test)]
mod tests_range;
#[cfg(test)]
mod tests_relay;
