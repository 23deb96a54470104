//! The blob read endpoints: a blob whole or by `Range` (end-2, streamed from its verified file
//! where it can be) and delete (end-10). Uploads are in `serve_uploads`.

use std::convert::Infallible;

use futures::StreamExt;
use http::{Method, Response, StatusCode, header};
use http_body_util::BodyExt;
use skiff_respond::Body;

use crate::digest::Digest;
use crate::error::RegistryError;
use crate::storage::{Freshness, Storage};
use crate::{Registry, RegistryRequest, blobs, empty, file_blobs, file_stream, range, set_header};

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
