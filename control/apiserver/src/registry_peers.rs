//! Registry blob files between replicas, over the replicas' own channel (HTTPS trusting only
//! the cluster CA, the cluster secret checked by the router on every `/raft/` path):
//! `POST /raft/registry/blobs/store` (the body is the blob, written to a file as it arrives;
//! its digest comes last, as the trailer `skiff-blob-digest`, since a chunked upload names it
//! only in its closing request; stored once it matches, fsynced, then `200`) and
//! `POST /raft/registry/blobs/fetch/<hex>` (this replica's checked copy, or `404`). A push
//! relays its blob to every other replica while the upload arrives and answers once a
//! majority of the voters hold it; the sends still running then finish in the background.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::FuturesUnordered;
use futures::{StreamExt, TryStreamExt};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Frame;
use hyper::body::Incoming;
use skiff_registry::feed::{Feed, FeedError};
use skiff_registry::files::BlobFiles;
use skiff_registry::{Digest, RegistryError, StorageError, file_blobs};
use skiff_replica::PeerClient;
use skiff_respond::{self as respond, Body};

use super::ApiServer;
use super::registry::ReplicaStorage;

/// Every registry path between replicas starts so (the router sends it here).
pub const PEER_PREFIX: &str = "/raft/registry/";
const STORE: &str = "blobs/store";
const FETCH: &str = "blobs/fetch/";
/// The trailer of a [`STORE`] transfer: the hex of the blob's digest.
const DIGEST_TRAILER: &str = "skiff-blob-digest";

/// How long one replica gets to give a blob (256 MiB at most), or to take the rest of a pushed
/// one and answer once the upload has ended (the upload itself may take longer).
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(60);

/// One send of a blob to a peer, piece by piece as the upload arrives, its digest last, as
/// the trailer [`DIGEST_TRAILER`]: who, and whether it answered that the blob is durable.
async fn send(client: PeerClient, id: u64, addr: String, feed: Feed) -> (u64, Result<(), String>) {
    let ended = feed.ended();
    let path = format!("{PEER_PREFIX}{STORE}");
    let frames = feed
        .reader()
        .map_ok(Frame::data)
        .chain(digest_trailer(feed));
    let result = client
        .post_frames(&addr, &path, frames, ended, TRANSFER_TIMEOUT)
        .await;
    (id, result.map(|_| ()).map_err(|e| e.to_string()))
}

/// The trailer naming a finished feed's digest (sent after its last piece).
fn digest_trailer(
    feed: Feed,
) -> impl futures::Stream<Item = Result<Frame<Bytes>, FeedError>> + Send + 'static {
    futures::stream::once(async move {
        let mut trailers = http::HeaderMap::new();
        if let Some(value) = feed
            .digest()
            .and_then(|d| http::HeaderValue::from_str(d.hex()).ok())
        {
            trailers.insert(DIGEST_TRAILER, value);
        }
        Ok(Frame::trailers(trailers))
    })
}

/// The blob a feed carries, for messages: its digest once the upload named it.
fn named(feed: &Feed) -> String {
    feed.digest()
        .map_or_else(|| "an unfinished upload".to_owned(), |d| d.to_string())
}

impl ReplicaStorage {
    /// [`skiff_registry::Storage::replicate`]: sends the blob to every other member at once,
    /// each piece as it arrives, and returns when a majority of the voters (this replica
    /// counted) hold it.
    pub(crate) async fn replicate_to_quorum(
        &self,
        feed: Feed,
    ) -> Result<Vec<String>, StorageError> {
        let me = self.replica.id();
        let voters = self.replica.voters();
        let needed = voters.len() / 2 + 1;
        let mut durable = usize::from(voters.contains(&me));
        let mut holders = vec![me.to_string()];
        let client = self.replica.peer_client().clone();
        let mut sends: FuturesUnordered<_> = self
            .replica
            .members()
            .into_iter()
            .filter(|(id, _)| *id != me)
            .map(|(id, addr)| send(client.clone(), id, addr, feed.clone()))
            .collect();
        while durable < needed {
            match sends.next().await {
                Some((id, Ok(()))) => {
                    holders.push(id.to_string());
                    durable += usize::from(voters.contains(&id));
                }
                Some((id, Err(e))) => {
                    tracing::warn!(blob = %named(&feed), peer = id, error = %e, "a replica did not take a blob")
                }
                None => {
                    return Err(StorageError::Unavailable(format!(
                        "blob {} is durable on {durable} of {} replicas; a majority is needed",
                        named(&feed),
                        voters.len()
                    )));
                }
            }
        }
        self.finish_in_background(sends);
        Ok(holders)
    }

    /// The sends still running after a quorum answered, owned by the API server's tasks.
    fn finish_in_background(
        &self,
        mut sends: FuturesUnordered<
            impl Future<Output = (u64, Result<(), String>)> + Send + 'static,
        >,
    ) {
        if sends.is_empty() {
            return;
        }
        let shutdown = self.shutdown.clone();
        self.tasks.spawn(async move {
            let drain = async { while sends.next().await.is_some() {} };
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = drain => {}
            }
        });
    }

    /// [`skiff_registry::Storage::fetch`]: asks the holders, then the other members, one at a
    /// time, for their copy; `None` when none has it.
    pub(crate) async fn fetch_from_peers(
        &self,
        digest: &Digest,
        holders: &[String],
    ) -> Result<Option<Bytes>, StorageError> {
        let me = self.replica.id();
        let mut members = self.replica.members();
        members.retain(|(id, _)| *id != me);
        // Holders first (stable: the rest keep their order).
        members.sort_by_key(|(id, _)| !holders.contains(&id.to_string()));
        let path = format!("{PEER_PREFIX}{FETCH}{}", digest.hex());
        let client = self.replica.peer_client();
        for (id, addr) in members {
            match client
                .post_bytes(&addr, &path, Bytes::new(), TRANSFER_TIMEOUT)
                .await
            {
                Ok(bytes) => return Ok(Some(bytes)),
                Err(e) => {
                    tracing::debug!(%digest, peer = id, error = %e, "no blob from this replica")
                }
            }
        }
        Ok(None)
    }
}

impl ApiServer {
    /// A peer's registry request (the router checked the cluster secret).
    pub async fn serve_registry_peer(&self, request: Request<Incoming>) -> Response<Body> {
        let path = request.uri().path().to_owned();
        let rest = path.strip_prefix(PEER_PREFIX).unwrap_or_default();
        let Some(files) = self.registry.files() else {
            return respond::text(StatusCode::NOT_FOUND, "this replica keeps no blob files");
        };
        let result = if rest == STORE {
            store(files, request).await
        } else if let Some(hex) = rest.strip_prefix(FETCH) {
            fetch(files, hex).await
        } else {
            return respond::text(StatusCode::NOT_FOUND, format!("no peer endpoint {path}"));
        };
        result.unwrap_or_else(|e| {
            let status = match e {
                RegistryError::DigestInvalid(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            respond::text(status, e.to_string())
        })
    }
}

/// A blob a peer sends while its upload arrives: written as it comes, checked against the
/// digest its trailer names.
async fn store(
    files: &std::sync::Arc<BlobFiles>,
    request: Request<Incoming>,
) -> Result<Response<Body>, RegistryError> {
    let named = Arc::new(Mutex::new(None::<String>));
    let pieces = data_noting_digest(request.into_body(), named.clone());
    file_blobs::receive(files, Box::pin(pieces), || skiff_sync::lock(&named).take()).await?;
    Ok(respond::bytes(StatusCode::OK, "text/plain", "stored"))
}

/// `body`'s data frames; the value of a [`DIGEST_TRAILER`] trailer goes to `named`.
fn data_noting_digest(
    body: Incoming,
    named: Arc<Mutex<Option<String>>>,
) -> impl futures::Stream<Item = Result<Bytes, hyper::Error>> {
    futures::stream::unfold(body, move |mut body| {
        let named = named.clone();
        async move {
            loop {
                match body.frame().await? {
                    Err(e) => return Some((Err(e), body)),
                    Ok(frame) => match frame.into_data() {
                        Ok(data) => return Some((Ok(data), body)),
                        Err(frame) => {
                            let digest = frame.trailers_ref().and_then(|t| t.get(DIGEST_TRAILER));
                            if let Some(hex) = digest.and_then(|v| v.to_str().ok()) {
                                *skiff_sync::lock(&named) = Some(hex.to_owned());
                            }
                        }
                    },
                }
            }
        }
    })
}

async fn fetch(
    files: &std::sync::Arc<BlobFiles>,
    hex: &str,
) -> Result<Response<Body>, RegistryError> {
    let digest = Digest::parse(&format!("sha256:{hex}"))?;
    Ok(match file_blobs::read_local(files, &digest).await? {
        Some(bytes) => respond::bytes(StatusCode::OK, "application/octet-stream", bytes),
        None => respond::text(StatusCode::NOT_FOUND, format!("no copy of {digest} here")),
    })
}
