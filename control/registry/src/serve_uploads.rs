//! The blob upload endpoints: monolithic (end-4b), session start (end-4a), chunks (end-5),
//! completion (end-6), status (end-13), cross-repository mount (end-11) and cancel.

use futures::StreamExt;
use http::{Response, StatusCode, header};
use skiff_respond::Body;

use crate::digest::Digest;
use crate::error::RegistryError;
use crate::storage::Storage;
use crate::uploads::Content;
use crate::{
    BodyStream, MAX_BLOB_BYTES, Registry, RegistryRequest, blobs, empty, file_push, located,
    set_header,
};

impl<S: Storage> Registry<S> {
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
        let received = match self.uploads.take(name, id, start)? {
            Content::Relay(relay) => relay,
            Content::Bytes(mut received) => {
                received.extend_from_slice(&request.body);
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
        drop(self.uploads.take(name, id, None)?);
        Ok(empty(StatusCode::NO_CONTENT))
    }
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
