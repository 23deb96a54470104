//! The blob endpoints: read (end-2), delete (end-10), and uploads: monolithic (end-4b),
//! session start (end-4a), chunks (end-5), completion (end-6), status (end-13), cross-repository
//! mount (end-11) and cancel.

use std::convert::Infallible;

use futures::StreamExt;
use http::{Method, Response, StatusCode, header};
use http_body_util::BodyExt;
use skiff_respond::Body;

use crate::digest::Digest;
use crate::error::RegistryError;
use crate::storage::{Freshness, Storage};
use crate::uploads::Content;
use crate::{
    BodyStream, MAX_BLOB_BYTES, Registry, RegistryRequest, blobs, empty, file_blobs, file_push,
    file_stream, located, range, set_header,
};

impl<S: Storage> Registry<S> {
    /// A blob, whole or one `Range` of it: streamed from its file if that is known to match
    /// ([`Self::get_verified_file`]); else from its file checked now (or fetched from a peer),
    /// or for a blob stored as chunks, streamed chunk by chunk from the store.
    pub(crate) async fn get_blob(
        &self,
        request: &RegistryRequest,
        digest: &Digest,
    ) -> Result<Response<Body>, RegistryError> {
        let head = request.method == Method::HEAD;
        if !head && let Some(response) = self.get_verified_file(request, digest).await? {
            return Ok(response);
        }
        let Some(meta) = blobs::meta(self.storage.as_ref(), digest).await? else {
            return Err(RegistryError::BlobUnknown(digest.to_string()));
        };
        let range = match head {
            true => None,
            false => range::parse(request.header(header::RANGE), meta.size)?,
        };
        let response = if head {
            empty(StatusCode::OK)
        } else if let (true, Some(files)) = (meta.files, &self.files) {
            // Checked against the digest before the first byte goes out.
            let bytes = file_blobs::load(self.storage.as_ref(), files, digest, &meta).await?;
            let part = match range {
                Some(r) => bytes.slice(r.first as usize..=r.last as usize),
                None => bytes,
            };
            Response::new(skiff_respond::full(part))
        } else {
            let pieces = blobs::read(self.storage.clone(), digest.clone(), meta.clone(), range);
            stream_response(pieces)
        };
        Ok(blob_response(response, digest, meta.size, range))
    }

    /// The common pull: this replica has applied the blob's metadata and holds its file as last
    /// checked against the digest, so the file is streamed without hashing it again. The
    /// metadata is read locally (no read-index round): a blob is immutable and its file
    /// matches its digest, so a stale read can only still serve a blob deleted a moment ago
    /// (its delete not yet applied here), exactly the bytes it had. A blob not found locally,
    /// or a file missing or not known to match, is `None`: the caller reads the metadata
    /// linearizably and checks or fetches the file.
    async fn get_verified_file(
        &self,
        request: &RegistryRequest,
        digest: &Digest,
    ) -> Result<Option<Response<Body>>, RegistryError> {
        let Some(files) = &self.files else {
            return Ok(None);
        };
        let local = blobs::meta_at(self.storage.as_ref(), digest, Freshness::Local).await?;
        let Some(meta) = local.filter(|meta| meta.files) else {
            return Ok(None);
        };
        let range = range::parse(request.header(header::RANGE), meta.size)?;
        let Some(pieces) = file_stream::open(files, digest, meta.size, range).await? else {
            return Ok(None);
        };
        let response = stream_response(pieces);
        Ok(Some(blob_response(response, digest, meta.size, range)))
    }

    pub(crate) async fn delete_blob(
        &self,
        digest: &Digest,
    ) -> Result<Response<Body>, RegistryError> {
        let storage = self.storage.as_ref();
        let Some(meta) = blobs::meta(storage, digest).await? else {
            return Err(RegistryError::BlobUnknown(digest.to_string()));
        };
        let files = self.files.as_deref();
        blobs::delete(storage, files, digest.hex(), &meta, None).await?;
        Ok(empty(StatusCode::ACCEPTED))
    }

    pub(crate) async fn start_upload(
        &self,
        request: &RegistryRequest,
        name: &str,
        stream: Option<BodyStream>,
        now: u64,
    ) -> Result<Response<Body>, RegistryError> {
        let storage = self.storage.as_ref();
        if let Some(mount) = request.query_param("mount") {
            // Blobs are shared by every repository: a mount succeeds iff the blob is stored.
            let digest = Digest::parse(&mount)?;
            if blobs::meta(storage, &digest).await?.is_some() {
                return Ok(created(name, &digest));
            }
        } else if let Some(digest) = request.query_param("digest") {
            let digest = Digest::parse(&digest)?;
            self.store_blob(&digest, request.body.clone(), stream, now)
                .await?;
            return Ok(created(name, &digest));
        }
        let id = self.uploads.start(name);
        Ok(progress(StatusCode::ACCEPTED, name, &id, 0))
    }

    /// A chunk (`PATCH`): appended to the session, in memory, or with blob files to the
    /// session's file and to the peers as it arrives ([`crate::relay`]).
    pub(crate) async fn patch_upload(
        &self,
        request: &RegistryRequest,
        name: &str,
        id: &str,
        stream: Option<BodyStream>,
    ) -> Result<Response<Body>, RegistryError> {
        let start = content_range_start(request)?;
        let size = match &self.files {
            Some(files) => {
                let content = self.uploads.check_out(name, id, start)?;
                let chunk = (request.body.clone(), stream);
                let content = self.relay_chunk(files, id, content, chunk).await?;
                self.uploads.check_in(name, id, content)?
            }
            None => {
                let chunk = read_whole(request.body.clone(), stream).await?;
                self.uploads
                    .append(name, id, start, &chunk, MAX_BLOB_BYTES)?
            }
        };
        Ok(progress(StatusCode::ACCEPTED, name, id, size))
    }

    /// The closing `PUT ?digest=`, with the last chunk or none: the blob is stored from all
    /// the session received.
    pub(crate) async fn finish_upload(
        &self,
        request: &RegistryRequest,
        name: &str,
        id: &str,
        stream: Option<BodyStream>,
        now: u64,
    ) -> Result<Response<Body>, RegistryError> {
        let Some(digest) = request.query_param("digest") else {
            return Err(RegistryError::DigestInvalid(
                "the final PUT needs ?digest=".into(),
            ));
        };
        let digest = Digest::parse(&digest)?;
        let start = content_range_start(request)?;
        let received = match self.uploads.take(name, id)? {
            Content::Relay(relay) if start.is_none_or(|s| s == relay.writing.len()) => relay,
            Content::Relay(relay) => {
                return Err(RegistryError::RangeInvalid(format!(
                    "the chunk starts at {}, the upload holds {} bytes",
                    start.unwrap_or_default(),
                    relay.writing.len()
                )));
            }
            Content::Bytes(mut received) => {
                if !request.body.is_empty() {
                    check_range_start(start, received.len())?;
                    received.extend_from_slice(&request.body);
                }
                self.store_blob(&digest, received.into(), stream, now)
                    .await?;
                return Ok(created(name, &digest));
            }
            Content::Busy => return Err(RegistryError::BlobUploadUnknown(id.to_owned())),
        };
        let files = self.files.as_ref().ok_or_else(|| {
            RegistryError::Unavailable("a relayed upload on a registry without files".into())
        })?;
        let chunk = (request.body.clone(), stream);
        self.finish_relay(files, &digest, received, chunk, now)
            .await?;
        Ok(created(name, &digest))
    }

    /// Stores a completed blob, `prefix` (what had arrived) followed by `stream` (the rest, as
    /// it arrives): as files written and replicated to a quorum during the upload, or (without
    /// files) as chunks once all of it is here.
    async fn store_blob(
        &self,
        digest: &Digest,
        prefix: bytes::Bytes,
        stream: Option<BodyStream>,
        now: u64,
    ) -> Result<(), RegistryError> {
        let storage = self.storage.as_ref();
        match (&self.files, stream) {
            (Some(files), Some(rest)) => {
                file_push::put_stream(storage, files, digest, prefix, rest, now).await?
            }
            (Some(files), None) => file_push::put(storage, files, digest, prefix, now).await?,
            (None, rest) => {
                let bytes = read_whole(prefix, rest).await?;
                blobs::put(storage, digest, &bytes, now, self.layout).await?
            }
        };
        Ok(())
    }

    pub(crate) fn upload_status(
        &self,
        name: &str,
        id: &str,
    ) -> Result<Response<Body>, RegistryError> {
        let size = self.uploads.size(name, id)?;
        Ok(progress(StatusCode::NO_CONTENT, name, id, size))
    }

    pub(crate) fn cancel_upload(
        &self,
        name: &str,
        id: &str,
    ) -> Result<Response<Body>, RegistryError> {
        drop(self.uploads.take(name, id)?);
        Ok(empty(StatusCode::NO_CONTENT))
    }
}

fn data_frame(bytes: bytes::Bytes) -> Result<hyper::body::Frame<bytes::Bytes>, Infallible> {
    Ok(hyper::body::Frame::data(bytes))
}

/// A 200 whose body is `pieces` as they come. A failed piece (a damaged or unavailable store)
/// ends the body short of its `Content-Length`, which the HTTP server reports to the client by
/// closing the connection: the client never takes a partial blob for the whole.
fn stream_response(
    pieces: impl futures::Stream<Item = Result<bytes::Bytes, RegistryError>> + Send + 'static,
) -> Response<Body> {
    let frames = pieces
        .take_while(|piece| {
            if let Err(e) = piece {
                tracing::warn!(error = %e, "a blob read stopped part way");
            }
            std::future::ready(piece.is_ok())
        })
        .filter_map(|piece| std::future::ready(piece.ok().map(data_frame)));
    let body = http_body_util::StreamBody::new(frames).boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    response
}

/// A blob answer's status and headers: 206 with `Content-Range` for a range, else 200.
fn blob_response(
    mut response: Response<Body>,
    digest: &Digest,
    size: u64,
    range: Option<blobs::ByteRange>,
) -> Response<Body> {
    let length = match range {
        Some(r) => {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let content_range = format!("bytes {}-{}/{size}", r.first, r.last);
            set_header(&mut response, "content-range", &content_range);
            r.last - r.first + 1
        }
        None => {
            *response.status_mut() = StatusCode::OK;
            size
        }
    };
    set_header(&mut response, "content-length", &length.to_string());
    set_header(&mut response, "content-type", "application/octet-stream");
    set_header(&mut response, "accept-ranges", "bytes");
    set_header(&mut response, "docker-content-digest", &digest.to_string());
    response
}

/// `prefix` and then all of `rest`, at most [`MAX_BLOB_BYTES`].
async fn read_whole(
    prefix: bytes::Bytes,
    rest: Option<BodyStream>,
) -> Result<bytes::Bytes, RegistryError> {
    let Some(mut rest) = rest else {
        file_push::check_size(prefix.len())?;
        return Ok(prefix);
    };
    let mut whole = bytes::BytesMut::from(prefix);
    while let Some(piece) = rest.next().await {
        let piece =
            piece.map_err(|e| RegistryError::Unavailable(format!("the upload broke off: {e}")))?;
        file_push::check_size(whole.len() + piece.len())?;
        whole.extend_from_slice(&piece);
    }
    Ok(whole.freeze())
}

/// 201 for a stored blob.
fn created(name: &str, digest: &Digest) -> Response<Body> {
    let location = format!("/v2/{name}/blobs/{digest}");
    located(StatusCode::CREATED, &location, digest)
}

/// A session's progress: where to send the next chunk and what has arrived
/// (`Range: 0-<last byte>`, as the spec writes it; `0-0` before the first byte).
fn progress(status: StatusCode, name: &str, id: &str, size: u64) -> Response<Body> {
    let mut response = empty(status);
    set_header(
        &mut response,
        "location",
        &format!("/v2/{name}/blobs/uploads/{id}"),
    );
    set_header(&mut response, "docker-upload-uuid", id);
    set_header(
        &mut response,
        "range",
        &format!("0-{}", size.saturating_sub(1)),
    );
    response
}

/// `RANGE_INVALID` unless a chunk said to start at `start` follows the `held` bytes.
fn check_range_start(start: Option<u64>, held: usize) -> Result<(), RegistryError> {
    match start {
        Some(start) if start != held as u64 => Err(RegistryError::RangeInvalid(format!(
            "the chunk starts at {start}, the upload holds {held} bytes"
        ))),
        _ => Ok(()),
    }
}

/// The start of `Content-Range: <start>-<end>` (a missing header means "append").
fn content_range_start(request: &RegistryRequest) -> Result<Option<u64>, RegistryError> {
    let Some(range) = request.header(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let range = range
        .trim()
        .trim_start_matches("bytes ")
        .trim_start_matches("bytes=");
    let parsed = range.split_once('-').and_then(|(start, end)| {
        let start: u64 = start.trim().parse().ok()?;
        let end: u64 = end.trim().parse().ok()?;
        Some((start, end))
    });
    match parsed {
        Some((start, end)) if end + 1 >= start && end + 1 - start == request.body.len() as u64 => {
            Ok(Some(start))
        }
        _ => Err(RegistryError::RangeInvalid(format!(
            "Content-Range {range:?} does not describe the {} bytes sent",
            request.body.len()
        ))),
    }
}
